import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowFilter, FlowSummary } from '../../openapi/types.js';
import { parseCsv } from '../../core/flows/flow-export.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody } from '../helpers/fixtures.js';
import { batch, createRandom, dnsSummary, endpoint, generateSummaries, httpSummary, KUBE_DNS, summary, WORLD } from '../helpers/flow-fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
const now = Date.now();
const minutesAgo = (m: number) => new Date(now - m * 60_000).toISOString();

/** Five hand-made summaries, each tagged by its `bytes` (1–5), plus F (6) three hours back. */
const A = summary({
  bytes: 1,
  source: endpoint('shop', 'web', 1001, { pod_name: 'web-1' }),
  destination: endpoint('shop', 'api', 1002, { pod_name: 'api-1' }),
  IP: { source: '10.0.1.5', destination: '10.0.2.7' },
  l4: { protocol: 'TCP', destination_port: 8080, source_port: 40000 },
  policy: { name: 'web-allow-api', revision: 3 },
});
const B = summary({
  bytes: 2,
  source: endpoint('shop', 'web', 1001, { pod_name: 'web-2' }),
  destination: WORLD,
  IP: { source: '10.0.1.6', destination: '203.0.113.9' },
  destination_names: ['api.github.com'],
  l4: { protocol: 'TCP', destination_port: 443 },
  traffic_direction: 'EGRESS',
  verdict: 'DROPPED',
  drop_reason_desc: 'POLICY_DENY',
  policy: { name: 'deny-egress', revision: 1 },
});
const C = summary({
  bytes: 3,
  source: endpoint('payments', 'worker', 2001, { pod_name: 'worker-x', workloads: [{ name: 'worker', kind: 'CronJob' }] }),
  destination: endpoint('payments', 'db', 2002, { pod_name: 'db-0', workloads: [{ name: 'db', kind: 'StatefulSet' }] }),
  source_names: ['worker.payments.svc.cluster.local.'],
  l4: { protocol: 'TCP', destination_port: 5432 },
  verdict: 'AUDIT',
  drop_reason_desc: 'POLICY_DENIED',
});
const D = summary({
  bytes: 4,
  source: endpoint('infra', 'gateway', 3001, { pod_name: 'gateway-1' }),
  destination: endpoint('kube-system', 'coredns', 3002, { pod_name: 'coredns-1' }),
  IP: { source: '10.9.0.1', destination: '10.9.0.53' },
  l4: { protocol: 'UDP', destination_port: 53 },
  traffic_direction: 'EGRESS',
});
const E = summary({
  bytes: 5,
  source: endpoint('shop', 'web', 1001, { pod_name: 'web-3', cluster_name: 'c-west' }),
  destination: endpoint('shop', 'api', 1002, { pod_name: 'api-3' }),
  l4: { protocol: 'ICMPv4', destination_port: 8 },
  verdict: 'DROPPED',
  drop_reason_desc: 'POLICY_DENIED',
});
const F = summary({ bytes: 6 });

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  const admin = api.tokens.admin;
  await client.call('PUT', '/clusters/c-east', { token: admin, body: clusterBody('c-east', {}, ['agent-east']) });
  await client.call('PUT', '/clusters/c-west', { token: admin, body: clusterBody('c-west', {}, ['agent-west']) });
  const east = await api.agentToken('agent-east');
  const west = await api.agentToken('agent-west');
  const post = async (token: string, cluster: string, node: string, body: unknown) =>
    expect((await client.call('POST', `/clusters/${cluster}/nodes/${node}/flows`, { token, body })).status).toBe(200);
  await post(east, 'c-east', 'n1', batch([A, B], 0, minutesAgo(20)));
  await post(east, 'c-east', 'n2', batch([C], 0, minutesAgo(15)));
  await post(west, 'c-west', 'w1', batch([D, E], 0, minutesAgo(10)));
  await post(east, 'c-east', 'n1', batch([F], 1, minutesAgo(180)));
});
afterAll(async () => api?.close());

async function tags(body: Record<string, unknown>): Promise<number[]> {
  const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.items.map((r: { flow: FlowSummary }) => r.flow.bytes).sort();
}

type Case = { name: string; filter: FlowFilter; want: number[] };
const fieldCases: Case[] = [
  { name: 'source_pod namespace/', filter: { source_pod: ['shop/'] }, want: [1, 2, 5] },
  { name: 'source_pod ns/prefix', filter: { source_pod: ['payments/work'] }, want: [3] },
  { name: 'source_pod prefix, any namespace', filter: { source_pod: ['web-'] }, want: [1, 2, 5] },
  { name: 'source_pod no match', filter: { source_pod: ['nope/'] }, want: [] },
  { name: 'destination_pod', filter: { destination_pod: ['kube-system/coredns'] }, want: [4] },
  { name: 'destination_pod no match', filter: { destination_pod: ['shop/db'] }, want: [] },
  { name: 'source_label with source', filter: { source_label: ['k8s:app=worker'] }, want: [3] },
  { name: 'source_label any source', filter: { source_label: ['app=web'] }, want: [1, 2, 5] },
  { name: 'source_label wrong source', filter: { source_label: ['reserved:app=web'] }, want: [] },
  { name: 'destination_label reserved:world', filter: { destination_label: ['reserved:world'] }, want: [2] },
  { name: 'destination_label set', filter: { destination_label: ['app in (api,db)'] }, want: [1, 3, 5] },
  { name: 'destination_label no match', filter: { destination_label: ['app=nothing'] }, want: [] },
  { name: 'source_ip CIDR', filter: { source_ip: ['10.0.0.0/16'] }, want: [1, 2] },
  { name: 'source_ip address', filter: { source_ip: ['10.9.0.1'] }, want: [4] },
  { name: 'source_ip no match', filter: { source_ip: ['192.168.0.0/16'] }, want: [] },
  { name: 'destination_ip CIDR', filter: { destination_ip: ['203.0.113.0/24'] }, want: [2] },
  { name: 'destination_ip no match', filter: { destination_ip: ['fd00::/8'] }, want: [] },
  { name: 'source_fqdn wildcard, trailing dot', filter: { source_fqdn: ['*.payments.svc.cluster.local'] }, want: [3] },
  { name: 'source_fqdn no match', filter: { source_fqdn: ['*.example.com'] }, want: [] },
  { name: 'destination_fqdn exact', filter: { destination_fqdn: ['API.github.com'] }, want: [2] },
  { name: 'destination_fqdn wildcard', filter: { destination_fqdn: ['*.github.com'] }, want: [2] },
  { name: 'destination_fqdn no match (wildcard is one label)', filter: { destination_fqdn: ['*.com'] }, want: [] },
  { name: 'source_workload name', filter: { source_workload: [{ name: 'worker' }] }, want: [3] },
  { name: 'source_workload no match', filter: { source_workload: [{ kind: 'StatefulSet' }] }, want: [] },
  { name: 'destination_workload name+kind', filter: { destination_workload: [{ name: 'db', kind: 'StatefulSet' }] }, want: [3] },
  { name: 'destination_workload no match', filter: { destination_workload: [{ name: 'db', kind: 'Deployment' }] }, want: [] },
  { name: 'source_identity', filter: { source_identity: [3001] }, want: [4] },
  { name: 'source_identity no match', filter: { source_identity: [9999] }, want: [] },
  { name: 'destination_identity world', filter: { destination_identity: [2] }, want: [2] },
  { name: 'destination_identity no match', filter: { destination_identity: [1] }, want: [] },
  { name: 'verdict', filter: { verdict: ['DROPPED'] }, want: [2, 5] },
  { name: 'verdict no match', filter: { verdict: ['AUDIT'], source_pod: ['shop/'] }, want: [] },
  { name: 'drop_reason_desc', filter: { drop_reason_desc: ['POLICY_DENIED'] }, want: [3, 5] },
  { name: 'drop_reason_desc no match', filter: { drop_reason_desc: ['CT_MAP_INSERTION_FAILED'] }, want: [] },
  { name: 'traffic_direction', filter: { traffic_direction: ['EGRESS'] }, want: [2, 4] },
  { name: 'traffic_direction no match', filter: { traffic_direction: ['EGRESS'], cluster: ['c-east'], verdict: ['FORWARDED'] }, want: [] },
  { name: 'protocol case-insensitive', filter: { protocol: ['udp'] }, want: [4] },
  { name: 'protocol icmp', filter: { protocol: ['icmp'] }, want: [5] },
  { name: 'protocol no match', filter: { protocol: ['sctp'] }, want: [] },
  { name: 'source_port', filter: { source_port: ['40000'] }, want: [1] },
  { name: 'source_port no match', filter: { source_port: ['40001'] }, want: [] },
  { name: 'destination_port', filter: { destination_port: ['5432'] }, want: [3] },
  { name: 'destination_port no match', filter: { destination_port: ['80'] }, want: [] },
  { name: 'node_name', filter: { node_name: ['n1'] }, want: [1, 2] },
  { name: 'node_name cluster/glob', filter: { node_name: ['c-west/*'] }, want: [4, 5] },
  { name: 'node_name glob', filter: { node_name: ['n*'] }, want: [1, 2, 3] },
  { name: 'node_name no match', filter: { node_name: ['x*'] }, want: [] },
  { name: 'cluster', filter: { cluster: ['c-west'] }, want: [4, 5] },
  { name: 'cluster no match', filter: { cluster: ['c-north'] }, want: [] },
  { name: 'policy name', filter: { policy: ['deny-egress'] }, want: [2] },
  { name: 'policy name@generation', filter: { policy: ['web-allow-api@3'] }, want: [1] },
  { name: 'policy no match', filter: { policy: ['web-allow-api@2'] }, want: [] },
  { name: 'empty filter', filter: {}, want: [1, 2, 3, 4, 5] },
  { name: 'fields are ANDed', filter: { source_pod: ['shop/'], verdict: ['DROPPED'] }, want: [2, 5] },
  { name: 'values of a field are ORed', filter: { verdict: ['DROPPED', 'AUDIT'] }, want: [2, 3, 5] },
];

describe('FlowFilter fields (each with a matching and a non-matching case)', () => {
  it.each(fieldCases)('$name', async ({ filter, want }) => {
    expect(await tags({ whitelist: [filter] })).toEqual(want);
  });
});

describe('whitelist / blacklist', () => {
  it.each([
    { name: 'whitelist entries are ORed', body: { whitelist: [{ cluster: ['c-west'] }, { verdict: ['AUDIT'] }] }, want: [3, 4, 5] },
    { name: 'whitelist minus blacklist', body: { whitelist: [{ source_pod: ['shop/'] }], blacklist: [{ verdict: ['DROPPED'] }] }, want: [1] },
    { name: 'blacklist alone', body: { blacklist: [{ cluster: ['c-east'] }] }, want: [4, 5] },
    { name: 'blacklist entries are ORed', body: { blacklist: [{ cluster: ['c-east'] }, { protocol: ['udp'] }] }, want: [5] },
    { name: 'empty whitelist = everything', body: { whitelist: [] }, want: [1, 2, 3, 4, 5] },
  ])('$name', async ({ body, want }) => {
    expect(await tags(body)).toEqual(want);
  });
});

describe('time window', () => {
  it.each([
    { name: 'default: the last hour', body: {}, want: [1, 2, 3, 4, 5] },
    { name: 'relative since', body: { since: '4h' }, want: [1, 2, 3, 4, 5, 6] },
    { name: 'relative since in days', body: { since: '1d' }, want: [1, 2, 3, 4, 5, 6] },
    { name: 'RFC 3339 window', body: { since: minutesAgo(200), until: minutesAgo(100) }, want: [6] },
    { name: 'until excludes the window end (half-open)', body: { since: minutesAgo(30), until: minutesAgo(15) }, want: [1, 2] },
    { name: 'relative until', body: { since: '25m', until: '12m' }, want: [1, 2, 3] },
  ])('$name', async ({ body, want }) => {
    expect(await tags(body)).toEqual(want);
  });

  it('orders results by time', async () => {
    const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { since: '4h' } });
    const times = response.body.items.map((r: { time: string }) => r.time);
    expect(times).toEqual([...times].sort());
    expect(response.body.items[0].flow.bytes).toBe(6);
  });
});

describe('invalid queries', () => {
  it.each([
    { body: { whitelist: [{ source_ip: ['10.0.0.300'] }] }, pointer: '/whitelist/0/source_ip/0' },
    { body: { blacklist: [{}, { destination_port: ['99999'] }] }, pointer: '/blacklist/1/destination_port/0' },
    { body: { whitelist: [{ source_label: ['app in ('] }] }, pointer: '/whitelist/0/source_label/0' },
    { body: { since: 'yesterday' }, pointer: '/since' },
    { body: { since: '1h', until: '2h' }, pointer: '/since' },
    { body: { whitelist: [{ verdict: ['ERROR'] }] }, pointer: '/whitelist/0/verdict/0' },
    { body: { whitelist: [{ color: ['red'] }] }, pointer: '/whitelist/0/color' },
    { body: { maxPageSize: 5000 }, pointer: '/maxPageSize' },
    { body: { continuationToken: 'not-a-token' }, pointer: '/continuationToken' },
  ])('$pointer', async ({ body, pointer }) => {
    const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body });
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
  });
});

describe('coverage', () => {
  it('names the clusters and nodes that reported and the clusters in scope without data', async () => {
    await client.call('PUT', '/clusters/c-quiet', { token: api.tokens.admin, body: clusterBody('c-quiet', {}) });
    const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: {} });
    const coverage = response.body.coverage;
    expect(coverage.clusters.map((c: { cluster: string; nodes: Array<{ node_name: string }> }) => [c.cluster, c.nodes.map((n) => n.node_name)])).toEqual([
      ['c-east', ['n1', 'n2']],
      ['c-west', ['w1']],
    ]);
    expect(coverage.clustersWithoutData).toEqual(['c-quiet']);
    expect(coverage.complete).toBe(true);
    const scoped = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { whitelist: [{ cluster: ['c-west'] }] } });
    expect(scoped.body.coverage.clusters.map((c: { cluster: string }) => c.cluster)).toEqual(['c-west']);
  });
});

describe('pagination and export', () => {
  const generated = generateSummaries(2345, createRandom(7));
  beforeAll(async () => {
    await client.call('PUT', '/clusters/c-many', { token: api.tokens.admin, body: clusterBody('c-many', {}, ['agent-many']) });
    const agent = await api.agentToken('agent-many');
    // Three nodes, batches at different times (some sharing one), 40–95 minutes ago.
    const parts = [generated.slice(0, 800), generated.slice(800, 1500), generated.slice(1500, 2000), generated.slice(2000)];
    const plan: Array<[string, number, number]> = [['m1', 0, 95], ['m2', 0, 70], ['m3', 0, 70], ['m1', 1, 40]];
    for (let i = 0; i < parts.length; i++) {
      const [node, seq, ago] = plan[i]!;
      await client.call('POST', `/clusters/c-many/nodes/${node}/flows`, { token: agent, body: batch(parts[i]!, seq, minutesAgo(ago)) });
    }
  });

  const filter = { whitelist: [{ cluster: ['c-many'], verdict: ['FORWARDED', 'DROPPED'] as ('FORWARDED' | 'DROPPED')[] }], since: '2h' };
  const expected = () => generated.filter((s) => s.verdict !== 'AUDIT').length;

  it('pages through every match once, in time order, with opaque tokens', async () => {
    const seen: Array<{ time: string; node_name: string; flow: FlowSummary }> = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const body: Record<string, unknown> = { ...filter, maxPageSize: 97, ...(token ? { continuationToken: token } : {}) };
      const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body });
      expect(response.status).toBe(200);
      if (response.body.continuationToken) expect(response.body.items).toHaveLength(97);
      seen.push(...response.body.items);
      token = response.body.continuationToken;
      pages++;
    } while (token);
    expect(seen.length).toBe(expected());
    expect(pages).toBe(Math.ceil(expected() / 97));
    expect(seen.map((r) => r.time)).toEqual(seen.map((r) => r.time).sort());
    const all = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { ...filter, maxPageSize: 1000 } });
    expect(seen.slice(0, 1000)).toEqual(all.body.items);
    const sum = (list: FlowSummary[]) => list.reduce((n, s) => n + s.bytes, 0);
    expect(sum(seen.map((r) => r.flow))).toBe(sum(generated.filter((s) => s.verdict !== 'AUDIT')));
  });

  it('a token pins the window of the first page', async () => {
    const first = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { ...filter, maxPageSize: 10 } });
    const next = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { ...filter, since: '1m', maxPageSize: 10, continuationToken: first.body.continuationToken } });
    expect(next.body.items).toHaveLength(10);
    expect(next.body.coverage.since).toBe(first.body.coverage.since);
  });

  it('exports NDJSON in pages via the Continuation-Token header, equal to the query', async () => {
    const lines: string[] = [];
    let token: string | null = null;
    do {
      const response = await client.call('POST', '/flows/export?format=ndjson', { token: api.tokens.reader, body: { ...filter, maxPageSize: 1000, ...(token ? { continuationToken: token } : {}) } });
      expect(response.headers.get('content-type')).toBe('application/x-ndjson');
      expect(response.headers.get('flow-coverage')).toMatch(/^complete=true;clusters=1;nodes=3;gaps=0;lost=0;lostPackets=0$/);
      lines.push(...response.text.split('\n').filter(Boolean));
      token = response.headers.get('continuation-token');
    } while (token);
    expect(lines.length).toBe(expected());
    const firstPage = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { ...filter, maxPageSize: 1000 } });
    expect(lines.slice(0, 1000).map((l) => JSON.parse(l))).toEqual(firstPage.body.items);
  });

  it('exports CSV with a header and one escaped row per summary', async () => {
    const response = await client.call('POST', '/flows/export?format=csv', { token: api.tokens.reader, body: { ...filter, maxPageSize: 100000 } });
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('continuation-token')).toBeNull();
    const rows = parseCsv(response.text);
    const header = rows[0]!;
    expect(rows.length - 1).toBe(expected());
    const col = (name: string) => header.indexOf(name);
    const bytes = rows.slice(1).reduce((n, row) => n + Number(row[col('bytes')]), 0);
    expect(bytes).toBe(generated.filter((s) => s.verdict !== 'AUDIT').reduce((n, s) => n + s.bytes, 0));
    expect(rows[1]![col('source_labels')]).toMatch(/^(k8s:app=\w+;k8s:io\.kubernetes\.pod\.namespace=\w+|reserved:world)$/);
  });

  it('rejects an unknown export format', async () => {
    expect((await client.call('POST', '/flows/export?format=xml', { token: api.tokens.reader, body: {} })).status).toBe(400);
  });
});

describe('IP versions', () => {
  // Own cluster, posted after every other suite here has run its time-window assertions.
  const V6 = summary({
    bytes: 61,
    source: endpoint('shop', 'web', 1001, { pod_name: 'web-1' }),
    destination: endpoint('shop', 'api', 1002, { pod_name: 'api-1' }),
    IP: { source: 'fd00:10::5', destination: 'fd00:10::7', ipVersion: 'IPv6' },
    l4: { protocol: 'TCP', destination_port: 8080 },
  });
  const ICMP6 = summary({ bytes: 62, IP: { ipVersion: 'IPv6' }, l4: { protocol: 'ICMPv6', destination_port: 128 }, verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED' });
  const V4 = summary({ bytes: 41, IP: { source: '10.0.1.5', ipVersion: 'IPv4' } });
  const CT = summary({ bytes: 42, IP: { ipVersion: 'IPv4' }, verdict: 'DROPPED', drop_reason_desc: 'CT_MAP_INSERTION_FAILED' });
  const LEGACY = summary({ bytes: 43, IP: { destination: '203.0.113.9' } }); // stored before ipVersion existed
  const NO_IP = summary({ bytes: 44 });

  beforeAll(async () => {
    await client.call('PUT', '/clusters/c-v6', { token: api.tokens.admin, body: clusterBody('c-v6', {}, ['agent-v6']) });
    const agent = await api.agentToken('agent-v6');
    const response = await client.call('POST', '/clusters/c-v6/nodes/d1/flows', { token: agent, body: batch([V6, ICMP6, V4, CT, LEGACY, NO_IP], 0, minutesAgo(5)) });
    expect(response.status).toBe(200);
  });
  const scoped = (filter: FlowFilter) => tags({ whitelist: [{ cluster: ['c-v6'], ...filter }] });

  it('a v6 summary round-trips unchanged (addresses, ipVersion, ICMPv6)', async () => {
    const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { whitelist: [{ cluster: ['c-v6'], ip_version: ['IPv6'] }] } });
    expect(response.body.items.map((r: { flow: FlowSummary }) => r.flow)).toEqual([V6, ICMP6]);
  });

  it.each<{ name: string; filter: FlowFilter; want: number[] }>([
    { name: 'ip_version IPv6', filter: { ip_version: ['IPv6'] }, want: [61, 62] },
    { name: 'ip_version IPv4 (a summary without ipVersion has its address\'s)', filter: { ip_version: ['IPv4'] }, want: [41, 42, 43] },
    { name: 'ip_version both: everything with an IP', filter: { ip_version: ['IPv4', 'IPv6'] }, want: [41, 42, 43, 61, 62] },
    { name: 'v6 CIDR on a v6 summary', filter: { source_ip: ['fd00:10::/64'] }, want: [61] },
    { name: 'ip_version with another field', filter: { ip_version: ['IPv6'], protocol: ['icmp'] }, want: [62] },
    { name: 'drop reason of a non-policy drop', filter: { drop_reason_desc: ['CT_MAP_INSERTION_FAILED'] }, want: [42] },
  ])('$name', async ({ filter, want }) => {
    expect(await scoped(filter)).toEqual(want);
  });

  it('blacklisting IPv4 keeps IPv6 and summaries without IP; CSV carries ip_version', async () => {
    expect(await tags({ whitelist: [{ cluster: ['c-v6'] }], blacklist: [{ ip_version: ['IPv4'] }] })).toEqual([44, 61, 62]);
    const csv = await client.call('POST', '/flows/export?format=csv', { token: api.tokens.reader, body: { whitelist: [{ cluster: ['c-v6'] }] } });
    const rows = parseCsv(csv.text);
    const col = rows[0]!.indexOf('ip_version');
    expect(rows.slice(1).map((r) => `${r[rows[0]!.indexOf('bytes')]}:${r[col]}`).sort()).toEqual(['41:IPv4', '42:IPv4', '43:IPv4', '44:', '61:IPv6', '62:IPv6']);
  });

  it('rejects an unknown ip_version', async () => {
    const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { whitelist: [{ ip_version: ['IPv5'] }] } });
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/whitelist/0/ip_version/0');
  });
});

/** The packets of the summaries a query selects, sorted (the L7 suites tag their summaries by packets). */
async function packetsOf(body: Record<string, unknown>): Promise<number[]> {
  const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.items.map((r: { flow: FlowSummary }) => r.flow.packets).sort();
}

describe('DNS visibility (L7 DNS summaries, names on flows to learned addresses)', () => {
  // Own cluster, posted after the suites above have run their unscoped time-window assertions. Tag: packets.
  const GITHUB_IP = { identity: 16_777_300, labels: ['fqdn:api.github.com', 'reserved:world'] };
  const ANSWERED = dnsSummary({}, { packets: 81 });
  const REFUSED = dnsSummary({ query: 'exfil.evil.example.', rcode: 5, ips: [], ttl: 0 }, { packets: 82, verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', policy: undefined });
  const NXDOMAIN_TCP = dnsSummary({ query: 'db.payments.svc.cluster.local.', qtypes: ['AAAA'], rcode: 3, ips: [] }, { packets: 83, l4: { protocol: 'TCP', destination_port: 53 } });
  const TO_LEARNED = summary({ packets: 84, destination: GITHUB_IP, destination_names: ['api.github.com'], l4: { protocol: 'TCP', destination_port: 443 }, traffic_direction: 'EGRESS', bytes: 9000 });
  const PLAIN_UDP_53 = summary({ packets: 85, destination: KUBE_DNS, l4: { protocol: 'UDP', destination_port: 53 }, traffic_direction: 'EGRESS' });

  beforeAll(async () => {
    await client.call('PUT', '/clusters/c-dns', { token: api.tokens.admin, body: clusterBody('c-dns', {}, ['agent-dns']) });
    const agent = await api.agentToken('agent-dns');
    const response = await client.call('POST', '/clusters/c-dns/nodes/k1/flows', { token: agent, body: batch([ANSWERED, REFUSED, NXDOMAIN_TCP, TO_LEARNED, PLAIN_UDP_53], 0, minutesAgo(3)) });
    expect(response.status).toBe(200);
  });

  const scoped = (filter: FlowFilter) => packetsOf({ whitelist: [{ cluster: ['c-dns'], ...filter }] });

  it.each<{ name: string; filter: FlowFilter; want: number[] }>([
    { name: 'protocol dns: the L7 DNS summaries, whatever their transport', filter: { protocol: ['dns'] }, want: [81, 82, 83] },
    { name: 'protocol DNS with a verdict', filter: { protocol: ['DNS'], verdict: ['DROPPED'] }, want: [82] },
    { name: 'protocol udp: DNS over UDP and plain UDP/53', filter: { protocol: ['udp'] }, want: [81, 82, 85] },
    { name: 'dns_query unanchored', filter: { dns_query: ['github'] }, want: [81] },
    { name: 'dns_query anchored, trailing dot', filter: { dns_query: ['^exfil\\.evil\\.example\\.$'] }, want: [82] },
    { name: 'dns_query alternation and suffix', filter: { dns_query: ['\\.(svc\\.cluster\\.local|example)\\.$'] }, want: [82, 83] },
    { name: 'dns_query values are ORed', filter: { dns_query: ['^api\\.', '^db\\.'] }, want: [81, 83] },
    { name: 'dns_query is case-insensitive', filter: { dns_query: ['GITHUB\\.COM'] }, want: [81] },
    { name: 'dns_query no match', filter: { dns_query: ['gitlab'] }, want: [] },
    { name: 'dns_query never matches L4 summaries', filter: { dns_query: ['.*'] }, want: [81, 82, 83] },
    { name: 'destination_fqdn: the flow to the learned address (DNS summaries carry no names)', filter: { destination_fqdn: ['*.github.com'] }, want: [84] },
    { name: 'destination_fqdn exact', filter: { destination_fqdn: ['api.github.com'] }, want: [84] },
    { name: 'destination_fqdn no match', filter: { destination_fqdn: ['*.gitlab.com'] }, want: [] },
  ])('$name', async ({ filter, want }) => {
    expect(await scoped(filter)).toEqual(want);
  });

  it('blacklist protocol dns leaves the L3/L4 summaries; a DNS summary round-trips unchanged', async () => {
    expect(await packetsOf({ whitelist: [{ cluster: ['c-dns'] }], blacklist: [{ protocol: ['dns'] }] })).toEqual([84, 85]);
    const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { whitelist: [{ cluster: ['c-dns'], dns_query: ['github'] }] } });
    expect(response.body.items.map((r: { flow: FlowSummary }) => r.flow)).toEqual([ANSWERED]);
  });

  it('aggregations, the service graph and exports apply the same filters', async () => {
    const whitelist = [{ cluster: ['c-dns'], protocol: ['dns'], dns_query: ['example\\.$|github'] }];
    const aggregated = await client.call('POST', '/flows/aggregations', { token: api.tokens.reader, body: { whitelist, groupBy: ['verdict'], orderBy: 'packets' } });
    expect(aggregated.status).toBe(200);
    expect(aggregated.body.groups.map((g: { key: { verdict: string }; packets: number }) => [g.key.verdict, g.packets])).toEqual([['DROPPED', 82], ['FORWARDED', 81]]);
    const graph = await client.call('POST', '/flows/servicegraph', { token: api.tokens.reader, body: { whitelist } });
    expect(graph.body.edges.map((e: { source: string; destination: string; packets: number }) => [e.source, e.destination, e.packets])).toEqual([['c-dns/shop/web', 'c-dns/kube-system/coredns', 163]]);
    const external = await client.call('POST', '/flows/servicegraph', { token: api.tokens.reader, body: { whitelist: [{ cluster: ['c-dns'], destination_fqdn: ['*.github.com'] }] } });
    expect(external.body.nodes.map((n: { id: string; identities: number[] }) => [n.id, n.identities])).toEqual([['c-dns/fqdn:api.github.com', [16_777_300]], ['c-dns/shop/web', [1001]]]);
    expect(external.body.edges.map((e: { source: string; destination: string; ports: string[] }) => [e.source, e.destination, e.ports])).toEqual([['c-dns/shop/web', 'c-dns/fqdn:api.github.com', ['TCP/443']]]);
    const ndjson = await client.call('POST', '/flows/export?format=ndjson', { token: api.tokens.reader, body: { whitelist } });
    expect(ndjson.text.split('\n').filter(Boolean).map((line) => JSON.parse(line).flow.l7.dns.query)).toEqual(['api.github.com.', 'exfil.evil.example.']);
  });

  it.each([
    { path: '/flows/query', body: { whitelist: [{ dns_query: ['(unclosed'] }] }, pointer: '/whitelist/0/dns_query/0' },
    { path: '/flows/query', body: { whitelist: [{ dns_query: ['ok', '(?=lookahead)'] }] }, pointer: '/whitelist/0/dns_query/1' },
    { path: '/flows/query', body: { blacklist: [{ dns_query: ['a{1000}'] }] }, pointer: '/blacklist/0/dns_query/0' },
    { path: '/flows/query', body: { whitelist: [{ dns_query: [''] }] }, pointer: '/whitelist/0/dns_query/0' },
    { path: '/flows/query', body: { whitelist: [{ dns_query: ['x'.repeat(513)] }] }, pointer: '/whitelist/0/dns_query/0' },
    { path: '/flows/aggregations', body: { whitelist: [{ dns_query: ['\\1'] }], groupBy: ['verdict'] }, pointer: '/whitelist/0/dns_query/0' },
    { path: '/flows/servicegraph', body: { whitelist: [{ dns_query: ['*'] }] }, pointer: '/whitelist/0/dns_query/0' },
  ])('an invalid dns_query on $path is a 400 pointing at $pointer', async ({ path, body, pointer }) => {
    const response = await client.call('POST', path, { token: api.tokens.reader, body });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body.code).toBe('ValidationFailed');
    expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
  });

  it('a pathological pattern answers quickly (no backtracking)', async () => {
    const started = Date.now();
    expect(await scoped({ dns_query: ['^(a+)+$', '(.*a){20}x'] })).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('HTTP visibility (L7 HTTP summaries)', () => {
  // Own cluster, posted after the suites above have run their unscoped time-window assertions. Tag: packets.
  const NOT_FOUND = httpSummary({}, { packets: 91 });
  const OK_POST = httpSummary({ method: 'POST', code: 201, url: '/v1/orders' }, { packets: 92 });
  const DENIED = httpSummary({ method: 'DELETE', code: 403, url: '/admin/users' }, { packets: 93, verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', policy: undefined });
  const UPSTREAM_DOWN = httpSummary({ code: 503, url: '/v1/Items' }, { packets: 94, verdict: 'DROPPED', drop_reason_desc: 'HTTP_PROXY_ERROR' });
  const NO_RESPONSE = httpSummary({ code: 0 }, { packets: 95, verdict: 'DROPPED', drop_reason_desc: 'HTTP_PROXY_ERROR' });
  const DNS = dnsSummary({}, { packets: 96 });
  const L4 = summary({ packets: 97 });

  beforeAll(async () => {
    await client.call('PUT', '/clusters/c-http', { token: api.tokens.admin, body: clusterBody('c-http', {}, ['agent-http']) });
    const agent = await api.agentToken('agent-http');
    const response = await client.call('POST', '/clusters/c-http/nodes/k1/flows', { token: agent, body: batch([NOT_FOUND, OK_POST, DENIED, UPSTREAM_DOWN, NO_RESPONSE, DNS, L4], 0, minutesAgo(3)) });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  });

  const scoped = (filter: FlowFilter) => packetsOf({ whitelist: [{ cluster: ['c-http'], ...filter }] });

  it.each<{ name: string; filter: FlowFilter; want: number[] }>([
    { name: 'protocol http: the L7 HTTP summaries', filter: { protocol: ['http'] }, want: [91, 92, 93, 94, 95] },
    { name: 'protocol HTTP with a verdict', filter: { protocol: ['HTTP'], verdict: ['DROPPED'] }, want: [93, 94, 95] },
    { name: 'http_status_code exact', filter: { http_status_code: ['404'] }, want: [91] },
    { name: 'http_status_code classes (Hubble `4+`, `5+`); code 0 never matches', filter: { http_status_code: ['4+', '5+'] }, want: [91, 93, 94] },
    { name: 'http_status_code two-digit prefix', filter: { http_status_code: ['20+'] }, want: [92] },
    { name: 'http_method case-insensitive', filter: { http_method: ['post', 'delete'] }, want: [92, 93] },
    { name: 'http_path regex over the path key', filter: { http_path: ['^/v1/'] }, want: [91, 92, 94, 95] },
    { name: 'http_path is case-sensitive', filter: { http_path: ['/v1/Items$'] }, want: [94] },
    { name: 'http filters ANDed', filter: { http_method: ['GET'], http_status_code: ['5+'], http_path: ['items'] }, want: [] },
    { name: 'the deciding policy of an HTTP summary', filter: { policy: ['web-api@2'], http_status_code: ['4+'] }, want: [91] },
  ])('$name', async ({ filter, want }) => {
    expect(await scoped(filter)).toEqual(want);
  });

  it('a query by HTTP status returns the records as stored: method, url, code, verdict, policy', async () => {
    const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { whitelist: [{ cluster: ['c-http'], http_status_code: ['404'] }] } });
    expect(response.body.items.map((r: { flow: FlowSummary }) => r.flow)).toEqual([NOT_FOUND]);
    expect(response.body.items[0].flow).toMatchObject({ verdict: 'FORWARDED', policy: { name: 'web-api', revision: 2 }, l7: { http: { method: 'GET', url: '/v1/items', code: 404 } } });
    expect(await packetsOf({ whitelist: [{ cluster: ['c-http'] }], blacklist: [{ protocol: ['http'] }] })).toEqual([96, 97]);
  });

  it('aggregations by method, status and path; exports carry the HTTP columns', async () => {
    const aggregated = await client.call('POST', '/flows/aggregations', {
      token: api.tokens.reader,
      body: { whitelist: [{ cluster: ['c-http'], protocol: ['http'] }], groupBy: ['http_method', 'http_status_code', 'http_path'], orderBy: 'packets' },
    });
    expect(aggregated.status).toBe(200);
    expect(aggregated.body.groups.map((g: { key: Record<string, unknown>; packets: number }) => [g.key, g.packets])).toEqual([
      [{ http_method: 'GET', http_status_code: 0, http_path: '/v1/items' }, 95],
      [{ http_method: 'GET', http_status_code: 503, http_path: '/v1/Items' }, 94],
      [{ http_method: 'DELETE', http_status_code: 403, http_path: '/admin/users' }, 93],
      [{ http_method: 'POST', http_status_code: 201, http_path: '/v1/orders' }, 92],
      [{ http_method: 'GET', http_status_code: 404, http_path: '/v1/items' }, 91],
    ]);
    const csv = await client.call('POST', '/flows/export?format=csv', { token: api.tokens.reader, body: { whitelist: [{ cluster: ['c-http'], http_status_code: ['404'] }] } });
    const rows = parseCsv(csv.text);
    const row = Object.fromEntries(rows[0]!.map((name, i) => [name, rows[1]![i]]));
    expect(row).toMatchObject({ http_method: 'GET', http_status_code: '404', http_url: '/v1/items', http_protocol: 'HTTP/1.1', policy: 'web-api' });
  });

  it.each([
    { body: { whitelist: [{ http_status_code: ['2xx'] }] }, pointer: '/whitelist/0/http_status_code/0' },
    { body: { whitelist: [{ http_status_code: ['200', '600'] }] }, pointer: '/whitelist/0/http_status_code/1' },
    { body: { blacklist: [{ http_path: ['(unclosed'] }] }, pointer: '/blacklist/0/http_path/0' },
    { body: { whitelist: [{ http_method: [''] }] }, pointer: '/whitelist/0/http_method/0' },
  ])('an invalid HTTP filter is a 400 pointing at $pointer', async ({ body, pointer }) => {
    const response = await client.call('POST', '/flows/query', { token: api.tokens.reader, body });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body.code).toBe('ValidationFailed');
    expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
  });
});
