/**
 * FQDN egress and DNS rules, end to end with real packets (root): the real API, the agent process
 * (its DNS proxy in the node namespace, the kernel redirect, learning before answering), a DNS server
 * in a pod namespace answering with addresses of another pod namespace.
 *   - 1,000 resolve-then-connect iterations, each name answered with a fresh address: every first
 *     connection after its answer passes (learned before the answer was released)
 *   - a CNAME chain leads to a name a toFQDNs selector matches: its address is allowed
 *   - names the DNS rules do not allow get REFUSED and never reach the server
 *   - a direct connection to an address no allowed answer returned is dropped
 *   - DNS over TCP works
 *   - after the TTL, a new connection to the address is dropped while an open one continues
 *   - a restarted agent keeps the learned names and open connections
 *   - while the agent is down, DNS of the pod fails (closed) and open connections continue; it
 *     recovers when the agent is back, without anything done in the pod
 *   - the flow history shows the queries (L7 DNS summaries: query, rcode, addresses, verdict, policy)
 *     and names the flows to learned addresses; `dns_query` and `destination_fqdn` filters find them
 * Namespaces, links and pins are removed in afterAll, also when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { FlowSummary } from '../../openapi/types.js';
import type { AgentProcess } from '../helpers/agent-process.js';
import type { TestApi } from '../helpers/api-harness.js';
import type { createContractClient } from '../helpers/contract-client.js';
import { AgentScenario, eventually } from '../helpers/agent-scenario.js';
import { DnsPeer } from '../helpers/dns-peer.js';
import { createTopology, ensureBpffs, isRoot, Peer, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/agent/fqdn-e2e.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const CLUSTER = 'fqdn';
const NODE = 'fqdn-node';
const HTTPS = 443;
const ITERATIONS = Number(process.env.FQDN_ITERATIONS ?? 1000);
/** extra addresses of the target pod: answers point at them (pod addresses are never FQDN-selected) */
const API_V4 = '10.200.3.10';
const SHORT_V4 = '10.200.3.11';
const NEVER_V4 = '10.200.3.77';
const DYN_PREFIX = 'fd00:200:3::1:';

describe.skipIf(!ROOT)('FQDN policy through the agent\'s DNS proxy (real packets)', { timeout: 300_000 }, () => {
  let api: TestApi;
  let client: ReturnType<typeof createContractClient>;
  let topo: Topology | undefined;
  let agent: AgentProcess | undefined;
  let dnsServer: DnsPeer | undefined;
  let pod: DnsPeer | undefined;
  let target: Peer | undefined;
  let scenario: AgentScenario | undefined;
  const dnsIp = () => topo!.pods[1]!.ip;

  const startAgent = async () => {
    agent = await scenario!.startAgent();
  };

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('fqdn', 3);
    const targetNs = topo.pods[2]!.ns;
    const extra = [API_V4, SHORT_V4, NEVER_V4].map((a) => `addr add ${a}/32 dev eth0`);
    for (let k = 0; k < ITERATIONS + 10; k++) extra.push(`addr add ${DYN_PREFIX}${k.toString(16)}/128 dev eth0 nodad`);
    execFileSync('ip', ['-n', targetNs, '-batch', '-'], { input: `${extra.join('\n')}\n` });

    scenario = await AgentScenario.start({
      cluster: CLUSTER,
      node: NODE,
      agentId: 'agent-fqdn',
      topology: topo,
      names: ['client', 'dns', 'target'],
      policies: {
        'client-fqdn': {
          endpointSelector: { matchLabels: { app: 'client' } },
          egress: [
            {
              toEndpoints: [{ matchLabels: { app: 'dns' } }],
              toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*.example.org' }, { matchPattern: '*.dyn.example.org' }, { matchName: 'www.example.com' }] } }],
            },
            {
              toFQDNs: [{ matchName: 'api.example.org' }, { matchPattern: '*.dyn.example.org' }, { matchName: 'short.example.org' }],
              toPorts: [{ ports: [{ port: String(HTTPS), protocol: 'TCP' }] }],
            },
          ],
        },
        // The resolver takes DNS from the client only, and the node itself is no exception
        // (--allow-localhost policy): the proxy's forwarded queries reach it only because they are
        // decided as the client they carry (its upstream sockets are registered, proxy-upstreams.ts).
        'dns-from-client': {
          endpointSelector: { matchLabels: { app: 'dns' } },
          ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }] }] }],
        },
      },
      // the HTTP proxy off: the DNS service alone installs the proxy route its upstream answers need
      agentArgs: ['--poll-interval', '1s', '--flow-interval', '1s', '--fqdn-min-ttl', '1', '--allow-localhost', 'policy', '--no-http-proxy'],
    });
    api = scenario.api;
    client = scenario.client;
    dnsServer = await DnsPeer.start(topo.pods[1]!.nsPath);
    await dnsServer.serve(
      53,
      [
        { type: 'A', name: 'api.example.org', ttl: 300, data: API_V4 },
        { type: 'CNAME', name: 'www.example.com', ttl: 300, data: 'api.example.org' },
        { type: 'A', name: 'short.example.org', ttl: 1, data: SHORT_V4 },
        { type: 'A', name: 'blocked.example.net', ttl: 300, data: API_V4 },
      ],
      { suffix: 'dyn.example.org', prefix: DYN_PREFIX, ttl: 60 },
    );
    pod = await DnsPeer.start(topo.pods[0]!.nsPath);
    target = await Peer.start(topo.pods[2]!.nsPath);
    await target.listen('tcp', HTTPS);
    await startAgent();
  });

  afterAll(async () => {
    dnsServer?.stop();
    pod?.stop();
    target?.stop();
    if (scenario) await scenario.stop();
    else topo?.destroy();
  });

  it(`${ITERATIONS} resolve-then-connect iterations, a fresh address each: every first connection passes`, async () => {
    const since = new Date(Date.now() - 1_000).toISOString();
    const names = Array.from({ length: ITERATIONS }, (_, k) => `h${k}.dyn.example.org`);
    // generous per step: a busy machine may take seconds; drops are read from the kernel's counts below
    const r = await pod!.resolveConnect(dnsIp(), names, HTTPS, { type: 'AAAA', timeoutMs: 10_000 });
    expect(r.failures, JSON.stringify(r.failures.slice(0, 5))).toEqual([]);
    expect(r).toMatchObject({ resolved: ITERATIONS, connected: ITERATIONS });
    // A connection succeeds even when its first SYN is dropped (the retransmit a second later passes), so
    // "the first SYN passes" is read from the kernel's counts in the flow history: every connection to
    // port 443 counted as forwarded, not one packet to it dropped.
    const toHttps = async (): Promise<FlowSummary[]> =>
      (await scenario!.flows(since, { source_pod: [`${CLUSTER}/client`], destination_port: [String(HTTPS)] })).filter((f) => f.traffic_direction === 'EGRESS');
    let flows: FlowSummary[] = [];
    const forwarded = () => flows.filter((f) => f.verdict === 'FORWARDED').reduce((n, f) => n + f.flows, 0);
    await eventually(async () => {
      flows = await toHttps();
      return forwarded() >= ITERATIONS;
    }, 20_000, 'the connections reach the flow history');
    expect(flows.filter((f) => f.verdict === 'DROPPED')).toEqual([]);
    expect(forwarded()).toBe(ITERATIONS);
  });

  it('the node reports the policy programmed, nothing of it Degraded (toFQDNs and DNS rules are enforced)', async () => {
    let conditions: { type: string; status: string; message?: string }[] = [];
    await eventually(async () => {
      const node = await client.call('GET', `/clusters/${CLUSTER}/nodes/${NODE}`, { token: api.tokens.reader });
      conditions = node.body?.status?.conditions ?? [];
      return conditions.some((c) => c.type === 'Programmed' && c.status === 'True');
    }, 15_000, 'the node reports Programmed');
    expect(conditions.find((c) => c.type === 'Degraded')?.status ?? 'False').toBe('False');
  });

  it('a CNAME chain to a selected name allows its address; names the DNS rules do not allow are REFUSED and never forwarded', async () => {
    const viaChain = await pod!.resolve(dnsIp(), 'www.example.com');
    expect(viaChain).toMatchObject({ rcode: 'NOERROR', ips: [API_V4] });
    expect((await pod!.resolveConnect(dnsIp(), ['www.example.com'], HTTPS)).connected).toBe(1);
    const before = await dnsServer!.served();
    expect((await pod!.resolve(dnsIp(), 'blocked.example.net')).rcode).toBe('REFUSED');
    expect(await dnsServer!.served()).toEqual(before);
  });

  it('a direct connection to an address no allowed answer returned is dropped', async () => {
    expect((await target!.tcp(NEVER_V4, HTTPS, 500)).ok).toBe(true); // the address is served (from the target itself)
    expect(await connects(NEVER_V4)).toBe(false);
  });

  it('DNS over TCP works through the proxy', async () => {
    const before = await dnsServer!.served();
    const r = await pod!.resolve(dnsIp(), 'api.example.org', { transport: 'tcp' });
    expect(r).toMatchObject({ rcode: 'NOERROR', ips: [API_V4] });
    expect((await dnsServer!.served()).tcp).toBe(before.tcp + 1);
  });

  it('after the TTL a new connection to the address is dropped while an open one continues', async () => {
    expect(await pod!.resolve(dnsIp(), 'short.example.org')).toMatchObject({ rcode: 'NOERROR', ips: [SHORT_V4] });
    const conn = await pod!.hold(SHORT_V4, HTTPS);
    expect(await pod!.ping(conn)).toBe(true);
    // TTL 1 s (and --fqdn-min-ttl 1): the agent's expiry pass (every second) turns it into a zombie
    await eventually(async () => !(await connects(SHORT_V4)), 10_000, 'a new connection to the expired address is dropped');
    expect(await pod!.ping(conn)).toBe(true);
  });

  it('a restarted agent keeps the learned names and open connections', async () => {
    expect(await pod!.resolve(dnsIp(), 'api.example.org')).toMatchObject({ ips: [API_V4] });
    const conn = await pod!.hold(API_V4, HTTPS);
    await agent!.kill('SIGTERM');
    await startAgent();
    expect(await pod!.ping(conn)).toBe(true);
    // no new answer since the restart: the name is known from the state directory
    expect(await connects(API_V4)).toBe(true);
  });

  it('while the agent is down DNS fails closed and open connections continue; it recovers when the agent is back', async () => {
    expect(await pod!.resolve(dnsIp(), 'api.example.org')).toMatchObject({ rcode: 'NOERROR' });
    const conn = await pod!.hold(API_V4, HTTPS);
    await agent!.kill('SIGKILL');
    const down = await pod!.resolve(dnsIp(), 'api.example.org', { timeoutMs: 1500 }).then(
      (r) => r.rcode,
      (e: Error) => e.message,
    );
    expect(down).not.toBe('NOERROR'); // nothing answers on the proxy's port: the query fails
    expect(await pod!.ping(conn)).toBe(true);
    await startAgent();
    await eventually(async () => (await pod!.resolve(dnsIp(), 'api.example.org').catch(() => ({ rcode: 'down' }))).rcode === 'NOERROR', 10_000, 'DNS works again');
    expect(await pod!.ping(conn)).toBe(true);
  });

  it('the flow history shows the queries and names the flows to learned addresses', async () => {
    const since = new Date(Date.now() - 5_000).toISOString();
    expect((await pod!.resolve(dnsIp(), 'blocked.example.net')).rcode).toBe('REFUSED');
    expect((await pod!.resolveConnect(dnsIp(), ['api.example.org'], HTTPS)).connected).toBe(1);
    const query = async (body: Record<string, unknown>): Promise<FlowSummary[]> => {
      const r = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { since, maxPageSize: 1000, ...body } });
      expect(r.status).toBe(200);
      return (r.body.items as { flow: FlowSummary }[]).map((i) => i.flow);
    };
    let dns: FlowSummary[] = [];
    await eventually(async () => {
      dns = await query({ whitelist: [{ protocol: ['dns'] }] });
      return dns.some((f) => f.l7?.dns?.query === 'api.example.org.') && dns.some((f) => f.l7?.dns?.query === 'blocked.example.net.');
    }, 15_000, 'DNS summaries arrive');
    const answered = dns.find((f) => f.l7?.dns?.query === 'api.example.org.' && f.verdict === 'FORWARDED');
    expect(answered).toMatchObject({ source: { pod_name: 'client' }, destination: { pod_name: 'dns' }, policy: { name: 'client-fqdn' }, l7: { dns: { rcode: 0, ips: [API_V4] } } });
    const refused = dns.find((f) => f.l7?.dns?.query === 'blocked.example.net.');
    expect(refused).toMatchObject({ verdict: 'DROPPED', l7: { dns: { rcode: 5 } } });
    expect((await query({ whitelist: [{ dns_query: ['^blocked\\.'] }] })).every((f) => f.l7?.dns?.query === 'blocked.example.net.')).toBe(true);
    let named: FlowSummary[] = [];
    await eventually(async () => {
      named = await query({ whitelist: [{ destination_fqdn: ['api.example.org'] }] });
      return named.some((f) => f.l4.destination_port === HTTPS);
    }, 15_000, 'a flow to the learned address, named');
    const toApi = named.find((f) => f.l4.destination_port === HTTPS && f.traffic_direction === 'EGRESS');
    expect(toApi).toMatchObject({ verdict: 'FORWARDED', policy: { name: 'client-fqdn' } });
    expect(toApi?.destination_names).toContain('api.example.org');
  });

  /** A fresh TCP connection from the client pod (no DNS query before it). */
  async function connects(address: string): Promise<boolean> {
    return pod!.hold(address, HTTPS).then(
      () => true,
      () => false,
    );
  }
});
