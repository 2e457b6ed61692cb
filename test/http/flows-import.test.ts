import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../openapi/types.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody } from '../helpers/fixtures.js';
import { createRandom } from '../helpers/flow-fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  await client.call('PUT', '/clusters/hub', { token: api.tokens.admin, body: clusterBody('hub', {}, ['agent-hub']) });
});
afterAll(async () => api?.close());

interface Event {
  node: string;
  time: string;
  src: { ns: string; pod: string; app: string; identity: number; ip: string };
  dst: { ns: string; pod: string; app: string; identity: number; ip: string };
  proto: 'TCP' | 'UDP' | 'ICMPv4';
  port: number;
  verdict: 'FORWARDED' | 'DROPPED';
  direction: 'INGRESS' | 'EGRESS';
  flags?: { SYN?: boolean; ACK?: boolean };
  reply: boolean;
}

const base = Date.parse('2026-11-24T21:00:00Z');
const PEERS = [
  { ns: 'shop', pod: 'web-5d8f-abc', app: 'web', identity: 1001, ip: '10.0.1.5' },
  { ns: 'shop', pod: 'api-7c9d-xyz', app: 'api', identity: 1002, ip: '10.0.2.7' },
  { ns: 'payments', pod: 'db-0', app: 'db', identity: 2002, ip: '10.0.3.9' },
];

/** Hubble `observe -o jsonpb` lines for generated events (GetFlowsResponse envelope, cluster-prefixed node names). */
function hubbleLine(e: Event, bare = false): string {
  const ep = (p: Event['src']) => ({ ID: 100 + p.identity, identity: p.identity, namespace: p.ns, labels: [`k8s:app=${p.app}`, `k8s:io.kubernetes.pod.namespace=${p.ns}`], pod_name: p.pod, workloads: [{ name: p.app, kind: 'Deployment' }] });
  const l4 =
    e.proto === 'ICMPv4' ? { ICMPv4: { type: e.port, code: 0 } } : { [e.proto]: { source_port: 40000 + (e.port % 100), destination_port: e.port, ...(e.proto === 'TCP' ? { flags: e.flags ?? {} } : {}) } };
  const flow = {
    time: e.time,
    uuid: 'x',
    verdict: e.verdict,
    ...(e.verdict === 'DROPPED' ? { drop_reason: 133, drop_reason_desc: 'POLICY_DENIED' } : {}),
    ethernet: { source: 'aa:bb', destination: 'cc:dd' },
    IP: { source: e.src.ip, destination: e.dst.ip, ipVersion: 'IPv4' },
    l4,
    source: ep(e.src),
    destination: ep(e.dst),
    Type: 'L3_L4',
    node_name: `hub/${e.node}`,
    event_type: { type: e.verdict === 'DROPPED' ? 1 : 4 },
    traffic_direction: e.direction,
    is_reply: e.reply,
    Summary: 'TCP Flags: SYN',
  };
  return JSON.stringify(bare ? flow : { flow, node_name: `hub/${e.node}`, time: e.time });
}

function generateEvents(count: number): Event[] {
  const random = createRandom(11);
  return Array.from({ length: count }, (_, i) => {
    const src = PEERS[Math.floor(random() * 2)]!;
    const dst = PEERS[1 + Math.floor(random() * 2)]!;
    const proto = (['TCP', 'TCP', 'UDP', 'ICMPv4'] as const)[Math.floor(random() * 4)]!;
    const syn = random() < 0.3;
    return {
      node: random() < 0.5 ? 'node-a' : 'node-b',
      time: new Date(base + Math.floor(random() * 180_000)).toISOString(),
      src,
      dst,
      proto,
      port: proto === 'ICMPv4' ? 8 : proto === 'UDP' ? 53 : 8080,
      verdict: random() < 0.2 ? 'DROPPED' : 'FORWARDED',
      direction: random() < 0.5 ? 'INGRESS' : 'EGRESS',
      flags: syn ? { SYN: true } : { ACK: true },
      reply: !syn && random() < 0.5,
    };
  });
}

describe('Hubble import', () => {
  const events = generateEvents(3000);
  const text = [
    ...events.map((e, i) => hubbleLine(e, i % 10 === 0)),
    '',
    'this is not json',
    JSON.stringify({ flow: { time: events[0]!.time, verdict: 'ERROR', traffic_direction: 'INGRESS', node_name: 'n' } }),
    JSON.stringify({ node_status: { state: 'NODE_CONNECTED' } }),
  ].join('\n');

  it('aggregates flows into summaries per node and window, and round-trips through a query', async () => {
    const response = await client.call('POST', '/clusters/hub/flowimports?windowSeconds=60', { token: api.tokens.admin, rawBody: text, contentType: 'application/x-ndjson' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ lines: 3003, imported: 3000, skipped: 3 });
    expect(response.body.skippedLines.map((s: { line: number }) => s.line)).toEqual([3002, 3003, 3004]);
    expect(response.body.accepted).toBe(response.body.summaries);
    expect(response.body.duplicates).toBe(0);

    // Independent reference: per node, 60 s window and (src pod, dst pod, protocol, port, verdict, direction).
    const want = new Map<string, { packets: number; flows: number }>();
    for (const e of events) {
      const start = new Date(Math.floor(Date.parse(e.time) / 60_000) * 60_000).toISOString();
      const key = [e.node, start, e.src.pod, e.dst.pod, e.proto, e.port, e.verdict, e.direction].join(' ');
      const w = want.get(key) ?? { packets: 0, flows: 0 };
      w.packets++;
      const opens = !e.reply && (e.proto !== 'TCP' || (e.flags?.SYN === true && e.flags.ACK !== true));
      if (opens) w.flows++;
      want.set(key, w);
    }
    const records: FlowRecord[] = [];
    let token: string | null = null;
    do {
      const page = await client.call('POST', '/flows/query', {
        token: api.tokens.reader,
        body: { since: '2026-11-24T20:00:00Z', until: '2026-11-24T22:00:00Z', whitelist: [{ cluster: ['hub'] }], maxPageSize: 1000, ...(token ? { continuationToken: token } : {}) },
      });
      records.push(...page.body.items);
      token = page.body.continuationToken;
    } while (token);
    expect(records.length).toBe(want.size);
    expect(records.length).toBe(response.body.summaries);
    for (const r of records) {
      const f = r.flow;
      const key = [r.node_name, r.window.start, f.source.pod_name, f.destination.pod_name, f.l4.protocol, f.l4.destination_port, f.verdict, f.traffic_direction].join(' ');
      expect(want.get(key), key).toEqual({ packets: f.packets, flows: f.flows });
      const src = PEERS.find((p) => p.pod === f.source.pod_name)!;
      expect(f.source).toEqual({ identity: src.identity, namespace: src.ns, pod_name: src.pod, labels: [`k8s:app=${src.app}`, `k8s:io.kubernetes.pod.namespace=${src.ns}`], workloads: [{ name: src.app, kind: 'Deployment' }] });
      expect(f.IP).toEqual({ source: src.ip, destination: PEERS.find((p) => p.pod === f.destination.pod_name)!.ip, ipVersion: 'IPv4' });
      expect(f.drop_reason_desc).toBe(f.verdict === 'DROPPED' ? 'POLICY_DENIED' : undefined);
      expect(f.bytes).toBe(0);
      expect(Date.parse(f.first_seen!)).toBeGreaterThanOrEqual(Date.parse(r.window.start));
      expect(Date.parse(f.last_seen!)).toBeLessThan(Date.parse(r.window.end));
    }
    const coverage = records.length > 0 ? (await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { since: '2026-11-24T20:00:00Z', until: '2026-11-24T22:00:00Z', maxPageSize: 1 } })).body.coverage : undefined;
    const nodes = coverage.clusters[0].nodes;
    expect(nodes.map((n: { node_name: string }) => n.node_name)).toEqual(['node-a', 'node-b']);
    expect(nodes.reduce((n: number, node: { imported: number }) => n + node.imported, 0)).toBe(records.length);
    expect(nodes.every((n: { batches: number; gaps: unknown[] }) => n.batches === 0 && n.gaps.length === 0)).toBe(true);
  });

  it('importing the same lines again stores nothing new', async () => {
    const again = await client.call('POST', '/clusters/hub/flowimports?windowSeconds=60', { token: api.tokens.admin, rawBody: text, contentType: 'application/x-ndjson' });
    expect(again.body.accepted).toBe(0);
    expect(again.body.duplicates).toBe(again.body.summaries);
    const totals = await client.call('POST', '/flows/aggregations', { token: api.tokens.reader, body: { since: '2026-11-24T20:00:00Z', until: '2026-11-24T22:00:00Z' } });
    expect(totals.body.totals.packets).toBe(3000);
    const imported = totals.body.coverage.clusters[0].nodes.reduce((n: number, node: { imported: number }) => n + node.imported, 0);
    expect(imported).toBe(again.body.summaries);
  });

  it.each([
    { who: 'reader', path: '/clusters/hub/flowimports', contentType: 'application/x-ndjson', want: 403 },
    { who: 'agent', path: '/clusters/hub/flowimports', contentType: 'application/x-ndjson', want: 403 },
    { who: 'admin', path: '/clusters/nowhere/flowimports', contentType: 'application/x-ndjson', want: 404 },
    { who: 'admin', path: '/clusters/hub/flowimports', contentType: 'application/json', want: 415 },
    { who: 'admin', path: '/clusters/hub/flowimports?windowSeconds=0', contentType: 'application/x-ndjson', want: 400 },
  ])('$who $path ($contentType) → $want', async ({ who, path, contentType, want }) => {
    const token = who === 'reader' ? api.tokens.reader : who === 'agent' ? await api.agentToken('agent-hub') : api.tokens.admin;
    const response = await client.call('POST', path, { token, rawBody: hubbleLine(events[0]!), contentType });
    expect(response.status).toBe(want);
  });
});

describe('Hubble import: the shapes hubble observe and the Hubble exporter write (issue 10 item 9)', () => {
  const T = '2026-11-25T08:00:30.000Z';
  const web = { ID: 1, identity: 1001, namespace: 'shop', pod_name: 'web-1', labels: ['k8s:app=web'] };
  const api6 = { ID: 2, identity: 1002, namespace: 'shop', pod_name: 'api-1', labels: ['k8s:app=api'] };
  const envelope = (flow: Record<string, unknown>) => JSON.stringify({ flow: { time: T, ...flow }, node_name: 'shapes/node-a', time: T });
  const lines = [
    // 1: field-masked exporter line (no IP, identities, flags, direction attributed by an egress policy)
    envelope({ verdict: 'FORWARDED', source: { namespace: 'shop', pod_name: 'web-1' }, destination: { namespace: 'shop', pod_name: 'db-0' }, l4: { TCP: { destination_port: 5432 } }, egress_allowed_by: [{ name: 'to-db', namespace: 'shop', revision: '5', kind: 'CiliumNetworkPolicy' }] }),
    // 2: no direction and nothing to infer it from: kept as TRAFFIC_DIRECTION_UNKNOWN, as Hubble keeps it
    envelope({ verdict: 'FORWARDED', source: web, destination: api6, l4: { TCP: { destination_port: 80 } } }),
    // 3, 4: IPv6 TCP request and its reply (jsonpb JSON names for the reply)
    envelope({ verdict: 'FORWARDED', traffic_direction: 'INGRESS', IP: { source: 'fd00::5', destination: 'fd00::9', ipVersion: 'IPv6' }, source: web, destination: api6, l4: { TCP: { source_port: 40000, destination_port: 8080, flags: { SYN: true } } }, is_reply: false }),
    envelope({ verdict: 'FORWARDED', trafficDirection: 'INGRESS', IP: { source: 'fd00::5', destination: 'fd00::9', ipVersion: 'IPv6' }, source: { ...web, pod_name: undefined, podName: 'web-1' }, destination: api6, l4: { TCP: { sourcePort: 40000, destinationPort: 8080, flags: { ACK: true } } }, isReply: true }),
    // 5: ICMPv6 echo request without ipVersion
    envelope({ verdict: 'FORWARDED', traffic_direction: 'EGRESS', IP: { source: 'fd00::5', destination: 'fd00::9' }, source: web, destination: api6, l4: { ICMPv6: { type: 128, code: 0 } } }),
    // 6: an L7 HTTP request denied by an ingress deny policy
    envelope({ verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENY', traffic_direction: 'INGRESS', Type: 'L7', source: web, destination: api6, l4: { TCP: { destination_port: 8080 } }, l7: { type: 'REQUEST', http: { method: 'DELETE', url: 'http://api/x' } }, ingress_denied_by: [{ name: 'no-delete', namespace: 'shop', revision: 3 }] }),
    // 7: an L7 DNS request (the query's L3/L4 event would open the flow; the L7 record does not)
    envelope({ verdict: 'FORWARDED', traffic_direction: 'EGRESS', Type: 'L7', source: web, destination: api6, l4: { UDP: { source_port: 5353, destination_port: 53 } }, l7: { type: 'REQUEST', dns: { query: 'api.example.com.' } } }),
    // 8, 9: not imported
    envelope({ verdict: 'TRACED', traffic_direction: 'INGRESS', source: web, destination: api6 }),
    JSON.stringify({ lost_events: { source: 'PERF_EVENT_RING_BUFFER', num_events_lost: '12' }, node_name: 'shapes/node-a', time: T }),
  ];

  beforeAll(async () => {
    await client.call('PUT', '/clusters/shapes', { token: api.tokens.admin, body: clusterBody('shapes', {}, ['agent-shapes']) });
  });

  it('stores each shape as the summary it stands for and reports every skipped line with its reason', async () => {
    const response = await client.call('POST', '/clusters/shapes/flowimports?windowSeconds=60', { token: api.tokens.admin, rawBody: lines.join('\n'), contentType: 'application/x-ndjson' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ lines: 9, imported: 7, skipped: 2, summaries: 6, accepted: 6, duplicates: 0 });
    expect(response.body.skippedLines).toEqual([
      { line: 8, reason: 'verdict TRACED is not imported' },
      { line: 9, reason: 'not a flow: lost_events' },
    ]);
    const page = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { since: '2026-11-25T07:00:00Z', until: '2026-11-25T09:00:00Z', whitelist: [{ cluster: ['shapes'] }], maxPageSize: 100 } });
    expect(page.status).toBe(200);
    const flows = (page.body.items as FlowRecord[]).map((r) => {
      expect(r).toMatchObject({ cluster: 'shapes', node_name: 'node-a', window: { start: '2026-11-25T08:00:00.000Z', end: '2026-11-25T08:01:00.000Z' } });
      return r.flow;
    });
    const byPort = (protocol: string, port: number, verdict = 'FORWARDED') => flows.filter((f) => f.l4.protocol === protocol && f.l4.destination_port === port && f.verdict === verdict);
    const times = { first_seen: T, last_seen: T };
    expect(byPort('TCP', 5432)).toEqual([
      { source: { identity: 0, namespace: 'shop', pod_name: 'web-1' }, destination: { identity: 0, namespace: 'shop', pod_name: 'db-0' }, l4: { protocol: 'TCP', destination_port: 5432 }, traffic_direction: 'EGRESS', verdict: 'FORWARDED', policy: { name: 'shop.to-db', revision: 5 }, packets: 1, bytes: 0, flows: 0, ...times },
    ]);
    const webEp = { identity: 1001, namespace: 'shop', pod_name: 'web-1', labels: ['k8s:app=web'] };
    const apiEp = { identity: 1002, namespace: 'shop', pod_name: 'api-1', labels: ['k8s:app=api'] };
    expect(byPort('TCP', 8080)).toEqual([
      { source: webEp, destination: apiEp, IP: { source: 'fd00::5', destination: 'fd00::9', ipVersion: 'IPv6' }, l4: { protocol: 'TCP', destination_port: 8080 }, traffic_direction: 'INGRESS', verdict: 'FORWARDED', packets: 2, bytes: 0, flows: 1, ...times },
    ]);
    expect(byPort('ICMPv6', 128)).toEqual([
      { source: webEp, destination: apiEp, IP: { source: 'fd00::5', destination: 'fd00::9', ipVersion: 'IPv6' }, l4: { protocol: 'ICMPv6', destination_port: 128 }, traffic_direction: 'EGRESS', verdict: 'FORWARDED', packets: 1, bytes: 0, flows: 1, ...times },
    ]);
    expect(byPort('TCP', 8080, 'DROPPED')).toEqual([
      { source: webEp, destination: apiEp, l4: { protocol: 'TCP', destination_port: 8080 }, traffic_direction: 'INGRESS', verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENY', policy: { name: 'shop.no-delete', revision: 3 }, packets: 1, bytes: 0, flows: 0, ...times },
    ]);
    expect(byPort('UDP', 53)).toEqual([
      { source: webEp, destination: apiEp, l4: { protocol: 'UDP', destination_port: 53 }, traffic_direction: 'EGRESS', verdict: 'FORWARDED', packets: 1, bytes: 0, flows: 0, ...times },
    ]);
    expect(byPort('TCP', 80)).toEqual([
      { source: webEp, destination: apiEp, l4: { protocol: 'TCP', destination_port: 80 }, traffic_direction: 'TRAFFIC_DIRECTION_UNKNOWN', verdict: 'FORWARDED', packets: 1, bytes: 0, flows: 0, ...times }, // TCP without SYN opens no flow
    ]);
    const unknown = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { since: '2026-11-25T07:00:00Z', until: '2026-11-25T09:00:00Z', whitelist: [{ cluster: ['shapes'], traffic_direction: ['TRAFFIC_DIRECTION_UNKNOWN'] }] } });
    expect(unknown.body.items.map((r: FlowRecord) => r.flow.l4.destination_port)).toEqual([80]);
    expect(flows).toHaveLength(6);
    const byPolicy = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { since: '2026-11-25T07:00:00Z', until: '2026-11-25T09:00:00Z', whitelist: [{ cluster: ['shapes'], policy: ['shop.no-delete'] }] } });
    expect(byPolicy.body.items.map((r: FlowRecord) => r.flow.verdict)).toEqual(['DROPPED']);
  });
});
