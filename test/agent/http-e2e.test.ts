/**
 * Egress HTTP rules end to end with real packets (root): the real API, the agent process (its HTTP
 * proxy in the node namespace, the kernel redirect), an HTTP server in a pod namespace.
 *   - requests the rules allow reach the server; others get 403 `Access denied` from the proxy on a
 *     connection that stays usable, and never reach the server
 *   - a port without HTTP rules is not allowed at all (the L3/L4 decision comes first)
 *   - the node reports nothing of the policy Degraded
 *   - while the agent is down, connections to those ports fail (closed) — nothing reaches the server
 *     unchecked — and they work again once the agent is back, with nothing done in the pod
 * Namespaces, links and pins are removed in afterAll, also when a test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AgentScenario, eventually } from '../helpers/agent-scenario.js';
import { HttpPeer } from '../helpers/http-peer.js';
import { createTopology, ensureBpffs, isRoot, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/agent/http-e2e.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const CLUSTER = 'http';
const NODE = 'http-node';
const WEB = 8080;
const OTHER = 9090;
const DENIED = { status: 403, body: 'Access denied\r\n' };

describe.skipIf(!ROOT)('egress HTTP rules through the agent\'s HTTP proxy (real packets)', { timeout: 120_000 }, () => {
  let scenario: AgentScenario | undefined;
  let topo: Topology | undefined;
  let pod: HttpPeer | undefined;
  let server: HttpPeer | undefined;
  const webIp = (family: 4 | 6) => (family === 4 ? topo!.pods[1]!.ip : topo!.pods[1]!.ip6);

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('httpe', 2);
    scenario = await AgentScenario.start({
      cluster: CLUSTER,
      node: NODE,
      agentId: 'agent-http',
      topology: topo,
      names: ['client', 'web'],
      policies: {
        'client-http': {
          endpointSelector: { matchLabels: { app: 'client' } },
          egress: [
            {
              toEndpoints: [{ matchLabels: { app: 'web' } }],
              toPorts: [{ ports: [{ port: String(WEB), protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/public' }, { method: 'POST', path: '/api/.*' }] } }],
            },
          ],
        },
        // The server admits the client only, and the node itself is no exception (--allow-localhost
        // policy): the proxy's upstream connections reach it only because they speak as the client
        // (its address, registered: agent/src/proxy-upstreams.ts).
        'web-from-client': {
          endpointSelector: { matchLabels: { app: 'web' } },
          ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: String(WEB), protocol: 'TCP' }] }] }],
        },
      },
      agentArgs: ['--poll-interval', '1s', '--flow-interval', '1s', '--allow-localhost', 'policy'],
    });
    server = await HttpPeer.start(topo.pods[1]!.nsPath);
    await server.serve(WEB);
    await server.serve(OTHER);
    pod = await HttpPeer.start(topo.pods[0]!.nsPath);
    await scenario.startAgent();
  });

  afterAll(async () => {
    pod?.stop();
    server?.stop();
    if (scenario) await scenario.stop();
    else topo?.destroy();
  });

  it.each([4, 6] as const)('IPv%s: allowed requests reach the server; the others get 403 on a connection that stays usable, and never reach it', async (family) => {
    const before = await server!.served();
    const r = await pod!.requests(webIp(family), WEB, [
      { method: 'GET', path: '/public' },
      { method: 'GET', path: '/private' },
      { method: 'GET', path: '/public' },
      { method: 'POST', path: '/api/orders' },
      { method: 'PUT', path: '/api/orders' },
      { method: 'GET', path: '/public/more' }, // the whole path must match
    ]);
    expect(r.results).toEqual([
      { status: 200, body: 'GET /public' },
      DENIED,
      { status: 200, body: 'GET /public' },
      { status: 200, body: 'POST /api/orders' },
      DENIED,
      DENIED,
    ]);
    expect(r.sockets).toBe(1); // one keep-alive connection throughout
    expect((await server!.served()) - before).toBe(3);
  });

  it('the L3/L4 decision comes first: a port without rules is not allowed at all', async () => {
    const r = await pod!.requests(webIp(4), OTHER, [{ method: 'GET', path: '/public' }]);
    expect(r.results[0]).toMatchObject({ error: expect.any(String) });
  });

  it('the node reports the policy programmed, nothing of it Degraded', async () => {
    const node = await scenario!.client.call('GET', `/clusters/${CLUSTER}/nodes/${NODE}`, { token: scenario!.api.tokens.reader });
    const conditions = (node.body?.status?.conditions ?? []) as { type: string; status: string }[];
    expect(conditions.find((c) => c.type === 'Programmed')?.status).toBe('True');
    expect(conditions.find((c) => c.type === 'Degraded')?.status ?? 'False').toBe('False');
  });

  it('while the agent is down those connections fail closed; they work again when it is back', async () => {
    const before = await server!.served();
    await scenario!.agent!.kill('SIGKILL');
    const down = await pod!.requests(webIp(4), WEB, [{ method: 'GET', path: '/public' }]);
    expect(down.results[0]).toMatchObject({ error: expect.any(String) }); // nothing listens on the proxy's port
    expect(await server!.served()).toBe(before); // the request never reached the server unchecked
    await scenario!.startAgent();
    const up = await pod!.requests(webIp(4), WEB, [{ method: 'GET', path: '/public' }, { method: 'GET', path: '/private' }]);
    expect(up.results).toEqual([{ status: 200, body: 'GET /public' }, DENIED]);
  });

  it('the flow history holds the requests as L7 HTTP summaries (method, path key, code, verdict, policy); a query by HTTP status finds them', async () => {
    type Flow = import('../../openapi/types.js').FlowSummary;
    const since = new Date(Date.now() - 5_000).toISOString();
    const r = await pod!.requests(webIp(4), WEB, [{ method: 'GET', path: '/public' }, { method: 'GET', path: '/private/a/b' }]);
    expect(r.results).toEqual([{ status: 200, body: 'GET /public' }, DENIED]);
    // the agent ships a window every second (--flow-interval 1s); wait for the window with the denial
    let denied: Flow[] = [];
    await eventually(async () => {
      denied = await scenario!.flows(since, { http_status_code: ['403'] });
      return denied.some((f) => f.l7?.http?.url === '/private/a');
    }, 20_000, 'the denial reaches the flow history');
    expect(denied.find((f) => f.l7?.http?.url === '/private/a')).toMatchObject({
      source: { pod_name: 'client' },
      destination: { pod_name: 'web' },
      l4: { protocol: 'TCP', destination_port: WEB },
      traffic_direction: 'EGRESS',
      verdict: 'DROPPED',
      drop_reason_desc: 'POLICY_DENIED',
      l7: { type: 'RESPONSE', http: { method: 'GET', code: 403, url: '/private/a', protocol: 'HTTP/1.1' } },
    });
    expect(denied.every((f) => f.l7?.http?.code === 403)).toBe(true);
    const allowed = await scenario!.flows(since, { protocol: ['http'], http_status_code: ['2+'], http_method: ['get'], http_path: ['^/public$'] });
    expect(allowed.length).toBeGreaterThan(0);
    expect(allowed[0]).toMatchObject({ verdict: 'FORWARDED', policy: { name: 'client-http' }, l7: { http: { method: 'GET', code: 200, url: '/public' } } });
  });
});
