/**
 * Aggregations, top-N, dropped-flow analysis and the service graph over 50,000 generated summaries,
 * ingested through the API (10 batches of 5000), checked against sums computed here independently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowEndpoint, FlowGroupKey, FlowSummary } from '../../openapi/types.js';
import { FlowService } from '../../functions/src/domain/flows.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody } from '../helpers/fixtures.js';
import { batch, createRandom, generateSummaries } from '../helpers/flow-fixtures.js';

interface Row {
  cluster: string;
  node: string;
  s: FlowSummary;
}

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
const rows: Row[] = [];
const TOTAL = 50_000;
const BATCH = 5000;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  const random = createRandom(42);
  const clusters = ['agg-east', 'agg-west'];
  for (const c of clusters) await client.call('PUT', `/clusters/${c}`, { token: api.tokens.admin, body: clusterBody(c, {}, [`agent-${c}`]) });
  const tokens = Object.fromEntries(await Promise.all(clusters.map(async (c) => [c, await api.agentToken(`agent-${c}`)] as const)));
  const sequences = new Map<string, number>();
  for (let i = 0; i < TOTAL / BATCH; i++) {
    const cluster = clusters[i % 2]!;
    const node = `node-${i % 3}`;
    const summaries = generateSummaries(BATCH, random, { dnsShare: 0.1 });
    const key = `${cluster}/${node}`;
    const sequence = sequences.get(key) ?? 0;
    sequences.set(key, sequence + 1);
    const end = new Date(Date.now() - (10 + i * 13) * 60_000).toISOString();
    const response = await client.call('POST', `/clusters/${cluster}/nodes/${node}/flows`, { token: tokens[cluster]!, body: batch(summaries, sequence, end) });
    expect(response.body.accepted).toBe(BATCH);
    rows.push(...summaries.map((s) => ({ cluster, node, s })));
  }
}, 120_000);
afterAll(async () => api?.close());

const reader = () => api.tokens.reader;
const WINDOW = { since: '3h' };

// Independent reference computations (deliberately not using core/flows).
function workload(ep: FlowEndpoint): string | null {
  if (ep.workloads && ep.workloads.length > 0) return ep.workloads[0]!.name;
  return ep.pod_name ?? null;
}
function keyOf(row: Row, dimension: FlowGroupKey): string | number | null {
  const s = row.s;
  switch (dimension) {
    case 'cluster': return row.cluster;
    case 'node_name': return row.node;
    case 'source_namespace': return s.source.namespace ?? null;
    case 'destination_namespace': return s.destination.namespace ?? null;
    case 'source_workload': return workload(s.source);
    case 'destination_workload': return workload(s.destination);
    case 'source_identity': return s.source.identity;
    case 'destination_identity': return s.destination.identity;
    case 'destination_port': return s.l4.destination_port ?? null;
    case 'protocol': return s.l4.protocol;
    case 'verdict': return s.verdict;
    case 'drop_reason_desc': return s.drop_reason_desc ?? null;
    case 'traffic_direction': return s.traffic_direction;
    case 'policy': return s.policy ? `${s.policy.name}@${s.policy.revision}` : null;
    case 'dns_query': return s.l7?.dns?.query ?? null;
    case 'dns_rcode': return s.l7?.dns?.rcode ?? null;
    case 'http_method': return s.l7?.http?.method ?? null;
    case 'http_status_code': return s.l7?.http?.code ?? null;
    case 'http_path': return s.l7?.http?.url ?? null;
  }
}
function reference(selected: Row[], groupBy: FlowGroupKey[]) {
  const groups = new Map<string, { key: Record<string, unknown>; packets: number; bytes: number; flows: number; summaries: number }>();
  for (const row of selected) {
    const key = Object.fromEntries(groupBy.map((d) => [d, keyOf(row, d)]));
    const id = JSON.stringify(key);
    const g = groups.get(id) ?? { key, packets: 0, bytes: 0, flows: 0, summaries: 0 };
    g.packets += row.s.packets;
    g.bytes += row.s.bytes;
    g.flows += row.s.flows;
    g.summaries += 1;
    groups.set(id, g);
  }
  return [...groups.values()];
}
const byKey = (a: { key: Record<string, unknown> }, b: { key: Record<string, unknown> }) => (JSON.stringify(a.key) < JSON.stringify(b.key) ? -1 : 1);

describe(`aggregations over ${TOTAL} summaries`, () => {
  it('totals without grouping equal the sums of everything ingested', async () => {
    const response = await client.call('POST', '/flows/aggregations', { token: reader(), body: WINDOW });
    const [only] = reference(rows, []);
    expect(response.body.totals).toEqual({ packets: only!.packets, bytes: only!.bytes, flows: only!.flows, summaries: TOTAL });
    expect(response.body.groups).toEqual([{ key: {}, ...response.body.totals }]);
    const nodes = response.body.coverage.clusters.flatMap((c: { nodes: unknown[] }) => c.nodes);
    expect(nodes).toHaveLength(6);
    expect(nodes.reduce((n: number, node: { summaries: number }) => n + node.summaries, 0)).toBe(TOTAL);
    expect(response.body.coverage.complete).toBe(true);
  });

  const groupings: FlowGroupKey[][] = [
    ['cluster'],
    ['node_name', 'cluster'],
    ['source_namespace', 'destination_namespace'],
    ['source_workload'],
    ['destination_workload', 'destination_port'],
    ['source_identity', 'destination_identity'],
    ['destination_port', 'protocol'],
    ['verdict'],
    ['policy'],
    ['traffic_direction', 'verdict'],
    ['dns_query'],
    ['source_workload', 'dns_query', 'dns_rcode'],
  ];
  it.each(groupings.map((g) => ({ groupBy: g, name: g.join('+') })))('group by $name', async ({ groupBy }) => {
    const response = await client.call('POST', '/flows/aggregations', { token: reader(), body: { ...WINDOW, groupBy } });
    const want = reference(rows, groupBy).sort(byKey);
    expect(response.body.groupCount).toBe(want.length);
    expect([...response.body.groups].sort(byKey)).toEqual(want);
  });

  it.each(['packets', 'bytes', 'flows'] as const)('top 5 source→destination workloads by %s', async (orderBy) => {
    const groupBy: FlowGroupKey[] = ['source_workload', 'destination_workload'];
    const response = await client.call('POST', '/flows/aggregations', { token: reader(), body: { ...WINDOW, groupBy, orderBy, top: 5 } });
    const want = reference(rows, groupBy).sort((a, b) => b[orderBy] - a[orderBy] || byKey(a, b)).slice(0, 5);
    expect(response.body.groups).toEqual(want);
    expect(response.body.groupCount).toBeGreaterThan(5);
  });

  it('dropped-flow analysis: DROPPED and AUDIT by policy and reason', async () => {
    const groupBy: FlowGroupKey[] = ['policy', 'drop_reason_desc', 'verdict'];
    const response = await client.call('POST', '/flows/aggregations', { token: reader(), body: { ...WINDOW, whitelist: [{ verdict: ['DROPPED', 'AUDIT'] }], groupBy, orderBy: 'flows' } });
    const want = reference(rows.filter((r) => r.s.verdict !== 'FORWARDED'), groupBy).sort((a, b) => b.flows - a.flows || byKey(a, b));
    expect(response.body.groups).toEqual(want);
    expect(response.body.groups.some((g: { key: { policy: unknown } }) => g.key.policy === null)).toBe(true);
  });

  it('a filtered aggregation equals the reference over the same selection', async () => {
    const body = { ...WINDOW, whitelist: [{ source_pod: ['shop/'] }, { destination_port: ['5432'] }], blacklist: [{ cluster: ['agg-west'], verdict: ['FORWARDED'] as 'FORWARDED'[] }], groupBy: ['cluster', 'verdict'] as FlowGroupKey[] };
    const selected = rows.filter((r) => (r.s.source.namespace === 'shop' || r.s.l4.destination_port === 5432) && !(r.cluster === 'agg-west' && r.s.verdict === 'FORWARDED'));
    const response = await client.call('POST', '/flows/aggregations', { token: reader(), body });
    expect([...response.body.groups].sort(byKey)).toEqual(reference(selected, body.groupBy).sort(byKey));
  });

  it('DNS: the names each workload resolves, filtered by protocol dns and a dns_query regex', async () => {
    const groupBy: FlowGroupKey[] = ['source_workload', 'dns_query'];
    const body = { ...WINDOW, whitelist: [{ protocol: ['dns'], dns_query: ['\\.example\\.$', '^API\\.'] }], blacklist: [{ verdict: ['DROPPED'] as 'DROPPED'[] }], groupBy, orderBy: 'packets' };
    const selected = rows.filter((r) => r.s.l7?.dns !== undefined && /\.example\.$|^api\./i.test(r.s.l7.dns.query) && r.s.verdict !== 'DROPPED');
    expect(selected.length).toBeGreaterThan(100);
    const response = await client.call('POST', '/flows/aggregations', { token: reader(), body });
    expect(response.status).toBe(200);
    expect([...response.body.groups].sort(byKey)).toEqual(reference(selected, groupBy).sort(byKey));
    expect(new Set(response.body.groups.map((g: { key: { dns_query: string } }) => g.key.dns_query))).toEqual(new Set(['api.github.com.', 'nope.example.']));
  });

  it('rejects an unknown dimension', async () => {
    const response = await client.call('POST', '/flows/aggregations', { token: reader(), body: { groupBy: ['color'] } });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].pointer).toBe('/groupBy/0');
  });
});

describe('service graph', () => {
  function nodeId(ep: FlowEndpoint, cluster: string): string {
    const c = ep.cluster_name || cluster;
    return ep.namespace ? `${c}/${ep.namespace}/${workload(ep) ?? `identity:${ep.identity}`}` : `${c}/reserved:${ep.identity}`;
  }

  it('has one node per workload and one edge per pair, with sums, verdict sums and ports', async () => {
    const response = await client.call('POST', '/flows/servicegraph', { token: reader(), body: WINDOW });
    expect(response.status).toBe(200);
    const edges = new Map<string, { packets: number; bytes: number; flows: number; summaries: number; verdicts: Record<string, { packets: number; bytes: number; flows: number; summaries: number }>; ports: Set<string> }>();
    const nodes = new Set<string>();
    for (const { cluster, s } of rows) {
      const src = nodeId(s.source, cluster);
      const dst = nodeId(s.destination, cluster);
      nodes.add(src).add(dst);
      const e = edges.get(`${src} ${dst}`) ?? { packets: 0, bytes: 0, flows: 0, summaries: 0, verdicts: {}, ports: new Set<string>() };
      e.packets += s.packets;
      e.bytes += s.bytes;
      e.flows += s.flows;
      e.summaries++;
      const v = (e.verdicts[s.verdict] ??= { packets: 0, bytes: 0, flows: 0, summaries: 0 });
      v.packets += s.packets;
      v.bytes += s.bytes;
      v.flows += s.flows;
      v.summaries++;
      e.ports.add(`${s.l4.protocol}/${s.l4.destination_port}`);
      edges.set(`${src} ${dst}`, e);
    }
    expect(response.body.nodes.map((n: { id: string }) => n.id)).toEqual([...nodes].sort());
    expect(response.body.edges).toHaveLength(edges.size);
    for (const edge of response.body.edges) {
      const want = edges.get(`${edge.source} ${edge.destination}`)!;
      expect(edge).toEqual({ source: edge.source, destination: edge.destination, packets: want.packets, bytes: want.bytes, flows: want.flows, summaries: want.summaries, verdicts: want.verdicts, ports: [...want.ports].sort() });
    }
    const web = response.body.nodes.find((n: { id: string }) => n.id === 'agg-east/shop/web');
    expect(web).toEqual({ id: 'agg-east/shop/web', cluster: 'agg-east', namespace: 'shop', workload: 'web', kind: 'Deployment', identities: [1000] });
  });

  it('follows the filter', async () => {
    const response = await client.call('POST', '/flows/servicegraph', { token: reader(), body: { ...WINDOW, whitelist: [{ cluster: ['agg-west'], destination_pod: ['payments/'] }] } });
    expect(response.body.edges.every((e: { source: string; destination: string }) => e.destination.startsWith('agg-west/payments/'))).toBe(true);
    const want = rows.filter((r) => r.cluster === 'agg-west' && r.s.destination.namespace === 'payments');
    expect(response.body.edges.reduce((n: number, e: { summaries: number }) => n + e.summaries, 0)).toBe(want.length);
    expect(response.body.coverage.clusters.map((c: { cluster: string }) => c.cluster)).toEqual(['agg-west']);
  });
});

describe('whole-window folds', () => {
  it('a fold that fails fails the query (after the folds in flight settle) instead of answering short', async () => {
    const deps = api.services.flows['deps'];
    let calls = 0;
    const failing = new FlowService({
      ...deps,
      folds: {
        ...deps.folds,
        aggregateChunks: async (...args) => {
          if (++calls === 3) throw new Error('decoder thread died');
          return deps.folds.aggregateChunks(...args);
        },
      },
    });
    await expect(failing.aggregate({ ...WINDOW, groupBy: ['cluster'], orderBy: 'bytes' })).rejects.toThrow('decoder thread died');
    expect(calls).toBeGreaterThan(3); // the scan had more pages than the one that failed
  });
});
