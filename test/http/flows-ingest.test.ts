import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowService } from '../../functions/src/domain/flows.js';
import { CONTAINERS, FLOW_DEFAULT_TTL_SECONDS } from '../../functions/src/store/cosmos-layout.js';
import type { EncodedFlowChunk, FlowChunkStore } from '../../functions/src/store/flow-store.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody } from '../helpers/fixtures.js';
import { batch, createRandom, dnsSummary, generateSummaries, httpSummary, summary } from '../helpers/flow-fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
const tokens: Record<string, string> = {};
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

beforeAll(async () => {
  api = await startTestApi({ FLEETNET_FLOW_RETENTION_DAYS: '7' });
  client = createContractClient(api.baseUrl);
  Object.assign(tokens, { admin: api.tokens.admin, reader: api.tokens.reader, agentA: await api.agentToken('agent-a'), agentB: await api.agentToken('agent-b') });
  await client.call('PUT', '/clusters/cluster-a', { token: tokens.admin, body: clusterBody('cluster-a', {}, ['agent-a']) });
  await client.call('PUT', '/clusters/cluster-b', { token: tokens.admin, body: clusterBody('cluster-b', {}, ['agent-b']) });
});
afterAll(async () => api?.close());

async function totals(cluster: string) {
  const response = await client.call('POST', '/flows/aggregations', { token: tokens.reader, body: { whitelist: [{ cluster: [cluster] }], since: '3h' } });
  expect(response.status).toBe(200);
  return response.body;
}

describe('ingest', () => {
  it('stores a batch once: the same batch again is all duplicates and sums do not change', async () => {
    const body = batch(generateSummaries(1200, createRandom(1)), 0, minutesAgo(5));
    const first = await client.call('POST', '/clusters/cluster-a/nodes/node-1/flows', { token: tokens.agentA, body });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ batchId: body.batchId, accepted: 1200, duplicates: 0 });
    const before = await totals('cluster-a');
    const again = await client.call('POST', '/clusters/cluster-a/nodes/node-1/flows', { token: tokens.agentA, body });
    expect(again.body).toEqual({ batchId: body.batchId, accepted: 0, duplicates: 1200 });
    const after = await totals('cluster-a');
    expect(after.totals).toEqual(before.totals);
    expect(after.totals.summaries).toBe(1200);
    expect(after.totals.packets).toBe(body.summaries.reduce((n, s) => n + s.packets, 0));
    const node = after.coverage.clusters[0].nodes[0];
    expect(node).toMatchObject({ node_name: 'node-1', batches: 1, summaries: 1200, firstSequence: 0, lastSequence: 0, gaps: [] });
  });

  it('a retry formatted differently (pretty-printed) still counts once', async () => {
    const body = batch(generateSummaries(1300, createRandom(4)), 0, minutesAgo(5));
    const post = (text: string) =>
      fetch(`${api.baseUrl}/clusters/cluster-a/nodes/node-pretty/flows`, { method: 'POST', headers: { authorization: `Bearer ${tokens.agentA}`, 'content-type': 'application/json' }, body: text });
    expect(await (await post(JSON.stringify(body))).json()).toEqual({ batchId: body.batchId, accepted: 1300, duplicates: 0 });
    expect(await (await post(JSON.stringify(body, null, 2))).json()).toEqual({ batchId: body.batchId, accepted: 0, duplicates: 1300 });
  });

  it('a batch retried after a partial write stores only the missing chunks', async () => {
    const body = batch(generateSummaries(1100, createRandom(2)), 0, minutesAgo(4));
    // The first delivery dies after writing its first chunk (before coverage is recorded).
    const deps = api.services.flows['deps'];
    const crashing = new FlowService({
      ...deps,
      chunks: { createAll: async (chunks: EncodedFlowChunk[]) => { await deps.chunks.createAll(chunks.slice(0, 1)); throw new Error('crash'); } } as unknown as FlowChunkStore,
    });
    await expect(crashing.ingest('cluster-b', 'node-9', await api.services.flowDecoder.decode(Buffer.from(JSON.stringify(body))))).rejects.toThrow('crash');
    const firstChunk = (await deps.chunks.read(`cluster-b|${body.window.end.slice(0, 13)}`, `${body.batchId}.0`))!.summaries.length;
    expect(firstChunk).toBeGreaterThan(0);
    const retried = await client.call('POST', '/clusters/cluster-b/nodes/node-9/flows', { token: tokens.agentB, body });
    expect(retried.body).toEqual({ batchId: body.batchId, accepted: 1100 - firstChunk, duplicates: firstChunk });
    const after = await client.call('POST', '/flows/query', { token: tokens.reader, body: { whitelist: [{ node_name: ['cluster-b/node-9'] }], maxPageSize: 1000 } });
    expect(after.body.items).toHaveLength(1000);
    expect(after.body.coverage.clusters.find((c: { cluster: string }) => c.cluster === 'cluster-b').nodes.find((n: { node_name: string }) => n.node_name === 'node-9')).toMatchObject({ batches: 1, summaries: 1100 });
  });

  it('reports sequence gaps and what agents say they lost, each batch counted once', async () => {
    const send = (sequence: number, lost?: { batches: number; summaries: number }) =>
      client.call('POST', '/clusters/cluster-a/nodes/node-2/flows', { token: tokens.agentA, body: batch([summary()], sequence, minutesAgo(3), lost ? { lost } : {}) });
    await send(10);
    await send(11);
    const withLoss = batch([summary()], 14, minutesAgo(2), { lost: { batches: 2, summaries: 750 } });
    for (let i = 0; i < 2; i++) await client.call('POST', '/clusters/cluster-a/nodes/node-2/flows', { token: tokens.agentA, body: withLoss });
    const answer = await client.call('POST', '/flows/query', { token: tokens.reader, body: { whitelist: [{ node_name: ['node-2'] }] } });
    const node = answer.body.coverage.clusters.find((c: { cluster: string }) => c.cluster === 'cluster-a').nodes.find((n: { node_name: string }) => n.node_name === 'node-2');
    expect(node).toMatchObject({ batches: 3, summaries: 3, firstSequence: 10, lastSequence: 14, gaps: [{ from: 12, to: 13 }], lost: { batches: 2, summaries: 750 } });
    expect(answer.body.coverage.complete).toBe(false);
    expect(answer.body.items).toHaveLength(3);
  });

  it('kernel losses (flow map full): summed per node, make coverage incomplete, show in every answer and the export header', async () => {
    const node = 'node-kernel';
    const post = (body: unknown) => client.call('POST', `/clusters/cluster-b/nodes/${node}/flows`, { token: tokens.agentB, body });
    const first = batch([summary()], 0, minutesAgo(3), { lost: { batches: 0, summaries: 0, packets: 120, bytes: 9000, flows: 4 } });
    expect((await post(first)).status).toBe(200);
    expect((await post(first)).body).toMatchObject({ accepted: 0, duplicates: 1 }); // a retry counts its loss once
    // a window with no summaries, only a kernel loss, plus a spool loss
    expect((await post(batch([], 1, minutesAgo(2), { lost: { batches: 1, summaries: 30, packets: 80, bytes: 1000 } }))).status).toBe(200);
    const scope = { whitelist: [{ cluster: ['cluster-b'], node_name: [node] }] };
    const want = { batches: 1, summaries: 30, packets: 200, bytes: 10_000, flows: 4 };
    const query = await client.call('POST', '/flows/query', { token: tokens.reader, body: scope });
    expect(query.status).toBe(200);
    const coverage = query.body.coverage;
    expect(coverage.complete).toBe(false);
    expect(coverage.clusters[0].nodes.find((n: { node_name: string }) => n.node_name === node)).toMatchObject({ batches: 2, summaries: 1, gaps: [], lost: want });
    const aggregation = await client.call('POST', '/flows/aggregations', { token: tokens.reader, body: scope });
    expect(aggregation.body.coverage.clusters[0].nodes.find((n: { node_name: string }) => n.node_name === node).lost).toEqual(want);
    const graph = await client.call('POST', '/flows/servicegraph', { token: tokens.reader, body: scope });
    expect(graph.body.coverage.complete).toBe(false);
    const exported = await client.call('POST', '/flows/export?format=ndjson', { token: tokens.reader, body: { whitelist: [{ cluster: ['cluster-b'], node_name: [node] }] } });
    expect(exported.headers.get('flow-coverage')).toMatch(/^complete=false;.*;lost=30;lostPackets=200$/);
  });

  it('a node that lost nothing reports zeros and stays complete', async () => {
    expect((await client.call('POST', '/clusters/cluster-b/nodes/node-clean/flows', { token: tokens.agentB, body: batch([summary()], 0, minutesAgo(3)) })).status).toBe(200);
    const answer = await client.call('POST', '/flows/query', { token: tokens.reader, body: { whitelist: [{ cluster: ['cluster-b'], node_name: ['node-clean'] }] } });
    expect(answer.body.coverage.clusters[0].nodes.find((n: { node_name: string }) => n.node_name === 'node-clean').lost).toEqual({ batches: 0, summaries: 0, packets: 0, bytes: 0, flows: 0 });
  });

  it('records every batch when one node sends many concurrently (coverage updates retry on conflicts)', async () => {
    const end = minutesAgo(6);
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, sequence) => client.call('POST', '/clusters/cluster-b/nodes/node-busy/flows', { token: tokens.agentB, body: batch([summary()], sequence, end) })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));
    const answer = await client.call('POST', '/flows/query', { token: tokens.reader, body: { whitelist: [{ cluster: ['cluster-b'], node_name: ['node-busy'] }] } });
    expect(answer.body.items).toHaveLength(12);
    expect(answer.body.coverage.clusters[0].nodes.find((n: { node_name: string }) => n.node_name === 'node-busy')).toMatchObject({ batches: 12, summaries: 12, firstSequence: 0, lastSequence: 11, gaps: [] });
  });

  it('stores L7 DNS summaries next to L3/L4 ones and returns them unchanged', async () => {
    const refused = dnsSummary({ query: 'exfil.evil.example.', qtypes: ['A', 'AAAA'], rcode: 5, ips: [], ttl: 0 }, { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', policy: undefined, packets: 1 });
    const viaTcp = dnsSummary({ cnames: ['github.map.fastly.net.'] }, { l4: { protocol: 'TCP', destination_port: 53 }, IP: { source: 'fd00::5', ipVersion: 'IPv6' } });
    const summaries = [dnsSummary(), refused, viaTcp, summary()];
    const body = batch(summaries, 0, minutesAgo(2));
    const response = await client.call('POST', '/clusters/cluster-a/nodes/node-dns/flows', { token: tokens.agentA, body });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ batchId: body.batchId, accepted: 4, duplicates: 0 });
    const answer = await client.call('POST', '/flows/query', { token: tokens.reader, body: { whitelist: [{ cluster: ['cluster-a'], node_name: ['node-dns'] }] } });
    expect(answer.body.items.map((r: { flow: unknown }) => r.flow)).toEqual(JSON.parse(JSON.stringify(summaries)));
  });

  it('stores L7 HTTP summaries next to L3/L4 and DNS ones and returns them unchanged', async () => {
    const denied = httpSummary({ method: 'DELETE', code: 403 }, { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', policy: undefined, packets: 1 });
    const failed = httpSummary({ code: 0, url: '<other-paths>', protocol: 'HTTP/1.0' }, { verdict: 'DROPPED', drop_reason_desc: 'HTTP_PROXY_ERROR', IP: { source: 'fd00::5', ipVersion: 'IPv6' } });
    const summaries = [httpSummary(), denied, failed, dnsSummary(), summary()];
    const body = batch(summaries, 0, minutesAgo(2));
    const response = await client.call('POST', '/clusters/cluster-a/nodes/node-http/flows', { token: tokens.agentA, body });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body).toEqual({ batchId: body.batchId, accepted: 5, duplicates: 0 });
    const answer = await client.call('POST', '/flows/query', { token: tokens.reader, body: { whitelist: [{ cluster: ['cluster-a'], node_name: ['node-http'] }] } });
    expect(answer.body.items.map((r: { flow: unknown }) => r.flow)).toEqual(JSON.parse(JSON.stringify(summaries)));
  });

  it('accepts a full batch of 5000 summaries (over the default 1 MiB body limit) and rejects 5001', async () => {
    const summaries = generateSummaries(5001, createRandom(3));
    const full = batch(summaries.slice(0, 5000), 1, minutesAgo(1));
    expect(JSON.stringify(full).length).toBeGreaterThan(1024 * 1024);
    const ok = await client.call('POST', '/clusters/cluster-b/nodes/node-3/flows', { token: tokens.agentB, body: full });
    expect(ok.body.accepted).toBe(5000);
    const tooMany = await client.call('POST', '/clusters/cluster-b/nodes/node-3/flows', { token: tokens.agentB, body: batch(summaries, 2, minutesAgo(1)) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/summaries');
  });

  it.each([
    { name: 'missing verdict', mutate: (b: any) => delete b.summaries[0].verdict, pointer: '/summaries/0/verdict' },
    { name: 'unknown field', mutate: (b: any) => (b.summaries[0].extra = 1), pointer: '/summaries/0/extra' },
    { name: 'negative bytes', mutate: (b: any) => (b.summaries[0].bytes = -1), pointer: '/summaries/0/bytes' },
    { name: 'batchId not a uuid', mutate: (b: any) => (b.batchId = 'nope'), pointer: '/batchId' },
    { name: 'window end before start', mutate: (b: any) => (b.window.end = '2000-01-01T00:00:00Z'), pointer: '/window/end' },
    { name: 'negative lost packets', mutate: (b: any) => (b.lost = { batches: 0, summaries: 0, packets: -1 }), pointer: '/lost/packets' },
    { name: 'unknown IP version', mutate: (b: any) => (b.summaries[0].IP = { ipVersion: 'IPv5' }), pointer: '/summaries/0/IP/ipVersion' },
    { name: 'DNS query over 255 characters', mutate: (b: any) => (b.summaries[0] = dnsSummary({ query: `${'a'.repeat(256)}.` })), pointer: '/summaries/0/l7/dns/query' },
    { name: 'DNS answer with 17 addresses', mutate: (b: any) => (b.summaries[0] = dnsSummary({ ips: Array.from({ length: 17 }, (_, i) => `10.0.0.${i}`) })), pointer: '/summaries/0/l7/dns/ips' },
    { name: 'DNS address over 45 characters', mutate: (b: any) => (b.summaries[0] = dnsSummary({ ips: ['1'.repeat(46)] })), pointer: '/summaries/0/l7/dns/ips/0' },
    { name: 'DNS qtype that is no type name', mutate: (b: any) => (b.summaries[0] = dnsSummary({ qtypes: ['A AAAA'] })), pointer: '/summaries/0/l7/dns/qtypes/0' },
    { name: 'negative rcode', mutate: (b: any) => (b.summaries[0] = dnsSummary({ rcode: -1 })), pointer: '/summaries/0/l7/dns/rcode' },
    { name: 'DNS without its query', mutate: (b: any) => (b.summaries[0] = dnsSummary(), delete b.summaries[0].l7.dns.query), pointer: '/summaries/0/l7/dns/query' },
    { name: 'unknown L7 type', mutate: (b: any) => (b.summaries[0] = dnsSummary(), (b.summaries[0].l7.type = 'SAMPLE')), pointer: '/summaries/0/l7/type' },
    { name: 'an L7 kind the contract does not know', mutate: (b: any) => (b.summaries[0] = dnsSummary(), (b.summaries[0].l7.kafka = { topic: 'x' })), pointer: '/summaries/0/l7/kafka' },
    { name: 'HTTP status over 999', mutate: (b: any) => (b.summaries[0] = httpSummary({ code: 1000 })), pointer: '/summaries/0/l7/http/code' },
    { name: 'HTTP method that is no token', mutate: (b: any) => (b.summaries[0] = httpSummary({ method: 'GET /' })), pointer: '/summaries/0/l7/http/method' },
    { name: 'HTTP url over 255 characters', mutate: (b: any) => (b.summaries[0] = httpSummary({ url: `/${'a'.repeat(255)}` })), pointer: '/summaries/0/l7/http/url' },
    { name: 'HTTP without its url', mutate: (b: any) => (b.summaries[0] = httpSummary(), delete b.summaries[0].l7.http.url), pointer: '/summaries/0/l7/http/url' },
    { name: 'HTTP headers (not recorded)', mutate: (b: any) => (b.summaries[0] = httpSummary(), (b.summaries[0].l7.http.headers = [])), pointer: '/summaries/0/l7/http/headers' },
    { name: 'negative latency', mutate: (b: any) => (b.summaries[0] = dnsSummary(), (b.summaries[0].l7.latency_ns = -5)), pointer: '/summaries/0/l7/latency_ns' },
  ])('rejects an invalid batch: $name', async ({ mutate, pointer }) => {
    const body = batch([summary()], 50, minutesAgo(1));
    mutate(body);
    const response = await client.call('POST', '/clusters/cluster-a/nodes/node-1/flows', { token: tokens.agentA, body });
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
  });
});

describe('ingest authorization', () => {
  const cases = [
    { who: 'agentA', cluster: 'cluster-a', want: 200 },
    { who: 'agentA', cluster: 'cluster-b', want: 403 },
    { who: 'agentB', cluster: 'cluster-a', want: 403 },
    { who: 'agentA', cluster: 'no-such-cluster', want: 403 },
    { who: 'reader', cluster: 'cluster-a', want: 403 },
    { who: 'admin', cluster: 'cluster-a', want: 200 },
    { who: 'admin', cluster: 'no-such-cluster', want: 404 },
    { who: 'none', cluster: 'cluster-a', want: 401 },
  ];
  it.each(cases)('$who → $cluster: $want', async ({ who, cluster, want }) => {
    const response = await client.call('POST', `/clusters/${cluster}/nodes/node-x/flows`, { token: tokens[who], body: batch([summary()], 0, minutesAgo(1)) });
    expect(response.status).toBe(want);
  });

  it.each([
    { who: 'agentA', op: '/flows/query', want: 403 },
    { who: 'reader', op: '/flows/query', want: 200 },
    { who: 'agentA', op: '/flows/aggregations', want: 403 },
    { who: 'agentA', op: '/flows/servicegraph', want: 403 },
    { who: 'agentA', op: '/flows/export', want: 403 },
    { who: 'none', op: '/flows/query', want: 401 },
  ])('$who → $op: $want', async ({ who, op, want }) => {
    expect((await client.call('POST', op, { token: tokens[who], body: {} })).status).toBe(want);
  });
});

describe('retention', () => {
  it('flow chunks and coverage documents carry the configured ttl; the containers a default one', async () => {
    const body = batch([summary()], 0, '2026-01-01T10:30:00Z');
    await client.call('POST', '/clusters/cluster-a/nodes/node-ttl/flows', { token: tokens.agentA, body });
    const chunk = await api.services.flows['deps'].chunks.read('cluster-a|2026-01-01T10', `${body.batchId}.0`);
    expect(chunk?.ttl).toBe(7 * 86_400);
    expect(await api.services.flows['deps'].coverage.ttlOf('cluster-a', '2026-01-01T10', 'node-ttl')).toBe(7 * 86_400);
    expect(CONTAINERS.flows.defaultTtl).toBe(FLOW_DEFAULT_TTL_SECONDS);
    for (const name of ['flows', 'flowCoverage'] as const) {
      const { resource } = await api.cosmos.containers[name].read();
      expect(resource?.defaultTtl).toBe(FLOW_DEFAULT_TTL_SECONDS);
    }
  });
});
