import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileObserveFlags, type ObserveFlags } from '../../cli/flow-flags.js';
import { createProgram } from '../../cli/program.js';
import { describeCoverage } from '../../cli/render.js';
import type { FlowCoverage, FlowNodeCoverage } from '../../openapi/types.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody } from '../helpers/fixtures.js';
import { batch, createRandom, dnsSummary, endpoint, generateSummaries, httpSummary, summary } from '../helpers/flow-fixtures.js';

describe('hubble observe flags → FlowFilter', () => {
  it.each<{ name: string; flags: ObserveFlags; want: ReturnType<typeof compileObserveFlags> }>([
    { name: 'no flags', flags: {}, want: {} },
    { name: 'since/until pass through', flags: { since: '1h', until: '5m' }, want: { since: '1h', until: '5m' } },
    { name: 'sided flags are ANDed in one filter', flags: { verdict: ['dropped'], fromPod: ['shop/web'], toPort: ['80'] }, want: { whitelist: [{ verdict: ['DROPPED'], source_pod: ['shop/web'], destination_port: ['80'] }] } },
    { name: 'repeated flag ORs values', flags: { toLabel: ['app=a', 'app=b'] }, want: { whitelist: [{ destination_label: ['app=a', 'app=b'] }] } },
    {
      name: '--namespace: source or destination, other flags on both',
      flags: { namespace: ['shop'], protocol: ['tcp'] },
      want: { whitelist: [{ protocol: ['tcp'], source_pod: ['shop/'] }, { protocol: ['tcp'], destination_pod: ['shop/'] }] },
    },
    {
      name: '--port and --to-fqdn',
      flags: { port: ['53'], toFqdn: ['*.example.com'] },
      want: { whitelist: [{ destination_fqdn: ['*.example.com'], source_port: ['53'] }, { destination_fqdn: ['*.example.com'], destination_port: ['53'] }] },
    },
    { name: 'workloads and identities', flags: { fromWorkload: ['Deployment/web'], toIdentity: ['2'] }, want: { whitelist: [{ source_workload: [{ kind: 'Deployment', name: 'web' }], destination_identity: [2] }] } },
    { name: 'node, cluster, policy', flags: { nodeName: ['east/*'], cluster: ['east'], policy: ['p@2'] }, want: { whitelist: [{ node_name: ['east/*'], cluster: ['east'], policy: ['p@2'] }] } },
    { name: '--not-verdict', flags: { notVerdict: ['forwarded'] }, want: { blacklist: [{ verdict: ['FORWARDED'] }] } },
    { name: '--not-namespace', flags: { notNamespace: ['kube-system'] }, want: { blacklist: [{ source_pod: ['kube-system/'] }, { destination_pod: ['kube-system/'] }] } },
    { name: '-6', flags: { ipv6: true }, want: { whitelist: [{ ip_version: ['IPv6'] }] } },
    { name: '-4 -6 and --ip-version spellings, deduplicated', flags: { ipv4: true, ipVersion: ['v6', 'IPv4', 'ip6'] }, want: { whitelist: [{ ip_version: ['IPv4', 'IPv6'] }] } },
    {
      name: '--ip-version on both either-side filters',
      flags: { ipVersion: ['6'], namespace: ['shop'] },
      want: { whitelist: [{ ip_version: ['IPv6'], source_pod: ['shop/'] }, { ip_version: ['IPv6'], destination_pod: ['shop/'] }] },
    },
    { name: '--protocol dns and --dns-query', flags: { protocol: ['dns'], dnsQuery: ['github\\.com\\.$', '^api\\.'] }, want: { whitelist: [{ protocol: ['dns'], dns_query: ['github\\.com\\.$', '^api\\.'] }] } },
    {
      name: '--dns-query on both either-side filters',
      flags: { dnsQuery: ['github'], namespace: ['shop'] },
      want: { whitelist: [{ dns_query: ['github'], source_pod: ['shop/'] }, { dns_query: ['github'], destination_pod: ['shop/'] }] },
    },
    {
      name: '--protocol http, --http-method, --http-status and --http-path',
      flags: { protocol: ['http'], httpMethod: ['GET', 'post'], httpStatus: ['404', '5+'], httpPath: ['^/v1/'] },
      want: { whitelist: [{ protocol: ['http'], http_method: ['GET', 'post'], http_status_code: ['404', '5+'], http_path: ['^/v1/'] }] },
    },
    {
      name: '--http-status on both either-side filters',
      flags: { httpStatus: ['4+'], namespace: ['shop'] },
      want: { whitelist: [{ http_status_code: ['4+'], source_pod: ['shop/'] }, { http_status_code: ['4+'], destination_pod: ['shop/'] }] },
    },
  ])('$name', ({ flags, want }) => {
    expect(compileObserveFlags(flags)).toEqual(want);
  });

  it('--ip-version rejects other values', () => {
    expect(() => compileObserveFlags({ ipVersion: ['5'] })).toThrow(/invalid --ip-version "5"/);
  });
});

describe('coverage line', () => {
  const node = (lost: FlowNodeCoverage['lost']): FlowNodeCoverage => ({ node_name: 'n1', batches: 3, summaries: 10, gaps: [], lost, imported: 0 });
  const coverage = (lost: FlowNodeCoverage['lost']): FlowCoverage => ({ since: 'S', until: 'U', complete: false, clusters: [{ cluster: 'east', nodes: [node(lost)] }], clustersWithoutData: [] });
  it.each([
    { name: 'nothing lost', lost: { batches: 0, summaries: 0, packets: 0, bytes: 0, flows: 0 }, want: 'coverage: 1 cluster(s), 1 node(s) reported between S and U' },
    { name: 'kernel losses', lost: { batches: 0, summaries: 0, packets: 1200, bytes: 3 * 1024 * 1024, flows: 7 }, want: 'coverage: 1 cluster(s), 1 node(s) reported between S and U; INCOMPLETE: node kernels could not count 1200 packets (3.0 MiB, 7 new connections): flow map full' },
    { name: 'both kinds', lost: { batches: 1, summaries: 5, packets: 2, bytes: 100, flows: 0 }, want: 'coverage: 1 cluster(s), 1 node(s) reported between S and U; INCOMPLETE: agents reported 5 summaries lost; INCOMPLETE: node kernels could not count 2 packets (100 B, 0 new connections): flow map full' },
  ])('$name', ({ lost, want }) => {
    expect(describeCoverage(coverage(lost))).toBe(want);
  });
});

describe('fleetnet CLI against the API', () => {
  let api: TestApi;
  let dir: string;
  const generated = generateSummaries(1500, createRandom(5));

  async function run(...args: string[]): Promise<{ out: string; err: string }> {
    let out = '';
    let err = '';
    const program = createProgram({ out: (t) => (out += t), err: (t) => (err += t), env: {} });
    await program.parseAsync(['node', 'fleetnet', '--api-url', api.baseUrl, '--token', api.tokens.admin, ...args]);
    return { out, err };
  }

  beforeAll(async () => {
    api = await startTestApi();
    dir = await mkdtemp(join(tmpdir(), 'fleetnet-cli-'));
    await fetch(`${api.baseUrl}/clusters/east`, { method: 'PUT', headers: { authorization: `Bearer ${api.tokens.admin}`, 'content-type': 'application/json' }, body: JSON.stringify(clusterBody('east', {}, ['agent-east'])) });
    const agent = await api.agentToken('agent-east');
    const post = (body: unknown) => fetch(`${api.baseUrl}/clusters/east/nodes/n1/flows`, { method: 'POST', headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const dropped = summary({ destination: endpoint('payments', 'db', 2002), l4: { protocol: 'TCP', destination_port: 5432 }, verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENY', policy: { name: 'deny-db', revision: 2 }, destination_names: ['db.payments.example.com'] });
    await post(batch([dropped], 0, new Date(Date.now() - 5 * 60_000).toISOString()));
    await post(batch(generated, 1, new Date(Date.now() - 4 * 60_000).toISOString()));
  });
  afterAll(async () => {
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('flows: a table with coverage on stderr', async () => {
    const { out, err } = await run('flows', '--verdict', 'DROPPED', '--to-namespace', 'payments', '--to-port', '5432', '--to-fqdn', '*.payments.example.com');
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+NODE\s+SOURCE\s+DESTINATION\s+PORT/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/east\/n1\s+shop\/web-7d9f-31\s+payments\/db-7d9f-62\s+TCP\/5432\s+INGRESS\s+DROPPED\s+POLICY_DENY deny-db@2/);
    expect(err).toMatch(/^coverage: 1 cluster\(s\), 1 node\(s\) reported/);
  });

  it('flows -o json: every match with --all, as JSON for scripts', async () => {
    const { out } = await run('flows', '-o', 'json', '--all', '--since', '30m');
    const parsed = JSON.parse(out);
    expect(parsed.items).toHaveLength(1501);
    expect(parsed.more).toBe(false);
  });

  it('flows -o csv: paged export with a progress line', async () => {
    const { out, err } = await run('flows', '-o', 'csv', '--namespace', 'shop');
    const rows = out.trim().split('\r\n');
    const want = generated.filter((s) => s.source.namespace === 'shop' || s.destination.namespace === 'shop').length + 1;
    expect(rows.length - 1).toBe(want);
    expect(rows[0]!.startsWith('time,cluster,node_name')).toBe(true);
    expect(err).toMatch(new RegExp(`exported ${want} flows`));
  });

  it('flows top / drops / graph', async () => {
    const top = await run('flows', 'top', '--by', 'destination_port', '--order', 'flows', '--top', '3', '-o', 'json');
    const parsed = JSON.parse(top.out);
    expect(parsed.groups).toHaveLength(3);
    expect(parsed.groupBy).toEqual(['destination_port']);
    const drops = await run('flows', 'drops');
    expect(drops.out.split('\n')[0]).toMatch(/^POLICY\s+DROP_REASON_DESC\s+VERDICT\s+FLOWS/);
    expect(drops.out).toContain('deny-db@2');
    const dot = await run('flows', 'graph', '-o', 'dot', '--cluster', 'east', '--to-namespace', 'payments', '--verdict', 'DROPPED');
    expect(dot.out).toContain('"east/shop/web" -> "east/payments/db"');
    const graph = JSON.parse((await run('flows', 'graph')).out);
    expect(graph.edges.length).toBeGreaterThan(10);
  });

  it('flows import: Hubble jsonpb lines', async () => {
    const file = join(dir, 'hubble.json');
    const flow = { time: new Date(Date.now() - 60_000).toISOString(), verdict: 'FORWARDED', l4: { UDP: { destination_port: 53 } }, source: { identity: 5, namespace: 'a', pod_name: 'p' }, destination: { identity: 6, namespace: 'kube-system', pod_name: 'coredns-1' }, traffic_direction: 'EGRESS', node_name: 'east/n2' };
    await writeFile(file, `${JSON.stringify({ flow })}\n${JSON.stringify({ flow })}\n`);
    const { out } = await run('flows', 'import', file, '--cluster', 'east');
    expect(out).toBe('2 of 2 flows imported as 1 summaries (1 new, 0 already stored, 0 lines skipped)\n');
  });

  it('flows import: says why lines were skipped', async () => {
    const file = join(dir, 'hubble-skips.json');
    const time = new Date(Date.now() - 60_000).toISOString();
    const flow = { time, verdict: 'FORWARDED', l4: { UDP: { destination_port: 53 } }, source: { identity: 5 }, destination: { identity: 6 }, traffic_direction: 'EGRESS', node_name: 'east/n2' };
    const lines = [{ flow }, { flow: { ...flow, verdict: 'TRACED' } }, { flow: { ...flow, verdict: 'TRACED' } }, { lost_events: { num_events_lost: '3' }, time }];
    await writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n{oops\n');
    const { out } = await run('flows', 'import', file, '--cluster', 'east');
    expect(out).toBe(
      '1 of 5 flows imported as 1 summaries (1 new, 0 already stored, 4 lines skipped)\n' +
        '  skipped 2 × verdict TRACED is not imported\n  skipped 1 × not a flow: lost_events\n  skipped 1 × not JSON\n',
    );
  });

  it('policy apply (fleet and Cilium YAML), list, get, history', async () => {
    const file = join(dir, 'policies.yaml');
    await writeFile(
      file,
      [
        'apiVersion: fleetnet.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web-allow-api\nspec:\n  endpointSelector:\n    matchLabels:\n      app: web\n  ingress:\n    - fromEndpoints:\n        - matchLabels:\n            app: api\n',
        'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: db-from-api\n  namespace: payments\nspec:\n  endpointSelector:\n    matchLabels:\n      app: db\n  ingress:\n    - fromEndpoints:\n        - matchLabels:\n            app: api\n',
      ].join('---\n'),
    );
    const dry = await run('policy', 'apply', '--all-clusters', '-f', file, '--dry-run');
    expect(dry.out).toContain('(dry run');
    const applied = await run('policy', 'apply', '--all-clusters', '-f', file);
    expect(applied.out).toMatch(/networkpolicy\/web-allow-api created \(generation 1\)/);
    expect(applied.out).toMatch(/imported/);
    const list = await run('policy', 'list');
    expect(list.out.split('\n')[0]).toMatch(/^NAME\s+MODE\s+GENERATION/);
    expect(list.out).toContain('web-allow-api');
    const got = await run('policy', 'get', 'web-allow-api');
    expect(got.out).toContain('kind: NetworkPolicy');
    const history = await run('policy', 'history', 'web-allow-api', '-o', 'json');
    expect(JSON.parse(history.out)[0]).toMatchObject({ generation: 1, operation: 'create' });
  });

  it('API errors carry the problem details', async () => {
    await expect(run('flows', '--from-ip', 'not-an-ip')).rejects.toThrow(/400 ValidationFailed.*\n.*\/whitelist\/0\/source_ip\/0/);
  });

  it('flows --http-status / --http-method / --http-path: HTTP summaries, readable in the table; a bad status is the API\'s 400', async () => {
    const agent = await api.agentToken('agent-east');
    const denied = httpSummary({ method: 'DELETE', code: 403, url: '/admin/users' }, { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', policy: undefined, packets: 1 });
    const response = await fetch(`${api.baseUrl}/clusters/east/nodes/n80/flows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      body: JSON.stringify(batch([httpSummary(), denied], 0, new Date(Date.now() - 2 * 60_000).toISOString())),
    });
    expect(response.status).toBe(200);
    const table = await run('flows', '--protocol', 'http', '--http-status', '4+', '--http-method', 'delete');
    const lines = table.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/shop\/web-7d9f-\d+\s+shop\/api-7d9f-\d+\s+TCP\/8080\s+EGRESS\s+DROPPED\s+POLICY_DENIED\s+1\s+0 B\s+0\s+http DELETE \/admin\/users → 403 HTTP\/1\.1$/);
    const notFound = JSON.parse((await run('flows', '-o', 'json', '--http-status', '404', '--http-path', '^/v1/')).out);
    expect(notFound.items.map((r: { flow: { l7: { http: unknown } } }) => r.flow.l7.http)).toEqual([{ method: 'GET', code: 404, url: '/v1/items', protocol: 'HTTP/1.1' }]);
    await expect(run('flows', '--http-status', '2xx')).rejects.toThrow(/400 ValidationFailed.*\n.*\/whitelist\/0\/http_status_code\/0/);
  });

  it('flows --protocol dns / --dns-query: DNS summaries, readable in the table; a bad regex is the API\'s 400', async () => {
    const agent = await api.agentToken('agent-east');
    const refused = dnsSummary({ query: 'exfil.evil.example.', rcode: 5, ips: [], ttl: 0 }, { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', policy: undefined, packets: 1 });
    const response = await fetch(`${api.baseUrl}/clusters/east/nodes/n53/flows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      body: JSON.stringify(batch([dnsSummary(), refused], 0, new Date(Date.now() - 2 * 60_000).toISOString())),
    });
    expect(response.status).toBe(200);
    const all = JSON.parse((await run('flows', '-o', 'json', '--protocol', 'dns')).out);
    expect(all.items.map((r: { flow: { l7: { dns: { query: string } } } }) => r.flow.l7.dns.query)).toEqual(['api.github.com.', 'exfil.evil.example.']);
    const table = await run('flows', '--protocol', 'dns', '--dns-query', 'evil');
    const lines = table.out.trim().split('\n');
    expect(lines[0]).toMatch(/\sFLOWS\s+L7$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/shop\/web-7d9f-\d+\s+kube-system\/coredns-7d9f-\d+\s+UDP\/53\s+EGRESS\s+DROPPED\s+POLICY_DENIED\s+1\s+0 B\s+0\s+dns exfil\.evil\.example\. A → REFUSED$/);
    const answered = await run('flows', '--dns-query', '^api\\.github\\.com\\.$');
    expect(answered.out).toContain('dns api.github.com. A → NOERROR 140.82.121.5,140.82.121.6 ttl 60s');
    await expect(run('flows', '--dns-query', '(a')).rejects.toThrow(/400 ValidationFailed.*\n.*\/whitelist\/0\/dns_query\/0/);
    const top = JSON.parse((await run('flows', 'top', '--protocol', 'dns', '--by', 'source_workload,dns_query,dns_rcode', '--order', 'packets', '-o', 'json')).out);
    expect(top.groups.map((g: { key: unknown; packets: number }) => [g.key, g.packets])).toEqual([
      [{ source_workload: 'web', dns_query: 'api.github.com.', dns_rcode: 0 }, 3],
      [{ source_workload: 'web', dns_query: 'exfil.evil.example.', dns_rcode: 5 }, 1],
    ]);
  });

  it('flows -6 / --ip-version, and kernel losses in the coverage line', async () => {
    const agent = await api.agentToken('agent-east');
    const v6 = summary({ source: endpoint('v6ns', 'client', 4001), destination: endpoint('v6ns', 'server', 4002), IP: { source: 'fd00::1', destination: 'fd00::2', ipVersion: 'IPv6' } });
    const response = await fetch(`${api.baseUrl}/clusters/east/nodes/n6/flows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      body: JSON.stringify(batch([v6], 0, new Date(Date.now() - 3 * 60_000).toISOString(), { lost: { batches: 0, summaries: 0, packets: 50, bytes: 5000, flows: 2 } })),
    });
    expect(response.status).toBe(200);
    for (const flags of [['-6'], ['--ipv6'], ['--ip-version', 'v6']]) {
      const { out } = await run('flows', '-o', 'json', ...flags);
      expect(JSON.parse(out).items.map((r: { flow: { IP?: unknown } }) => r.flow.IP)).toEqual([v6.IP]);
    }
    expect(JSON.parse((await run('flows', '-o', 'json', '-4')).out).items).toEqual([]);
    const table = await run('flows', '--node-name', 'n6');
    expect(table.out).toMatch(/v6ns\/client-7d9f-\d+\s+v6ns\/server/);
    expect(table.err).toContain('INCOMPLETE: node kernels could not count 50 packets (4.9 KiB, 2 new connections): flow map full');
  });
});
