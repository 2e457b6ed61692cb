/**
 * Ingress HTTP rules end to end with real packets (root) — issue 12's "Done when": a rule
 * `GET /public/.*` from `app=api` on port 80 of `app=web`. The real API, the agent process (its HTTP
 * proxy in the node namespace, the kernel's ingress redirect to the proxy's transparent socket, the
 * proxy route it installs), HTTP servers and clients in pod namespaces.
 *   - api's allowed requests get the server's answer, the others 403 `Access denied` on the same
 *     keep-alive connection, and never reach the server; a header rule; 16 MiB bodies each way
 *   - a peer the policy does not allow at L3 is dropped before the proxy
 *   - the node reports nothing Degraded
 *   - the requests are in the flow history as INGRESS L7 HTTP summaries of web
 *   - an open connection ends with the agent (the proxy held it); new ones fail closed until it is back
 *   - HTTP/2 cleartext is refused and the node reports the rule Degraded
 * Namespaces, links and pins are removed in afterAll, also when a test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { FlowSummary } from '../../openapi/types.js';
import { AgentScenario, eventually } from '../helpers/agent-scenario.js';
import { HttpPeer, patternBody } from '../helpers/http-peer.js';
import { createTopology, ensureBpffs, isRoot, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/agent/http-ingress-e2e.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const CLUSTER = 'httpin';
const NODE = 'httpin-node';
const WEB = 80;
const DENIED = { status: 403, body: 'Access denied\r\n' };

describe.skipIf(!ROOT)('ingress HTTP rules through the agent\'s HTTP proxy (real packets)', { timeout: 120_000 }, () => {
  let scenario: AgentScenario | undefined;
  let topo: Topology | undefined;
  let api: HttpPeer | undefined;
  let other: HttpPeer | undefined;
  let web: HttpPeer | undefined;
  const webIp = (family: 4 | 6) => (family === 4 ? topo!.pods[1]!.ip : topo!.pods[1]!.ip6);

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('httpin', 3);
    scenario = await AgentScenario.start({
      cluster: CLUSTER,
      node: NODE,
      agentId: 'agent-httpin',
      topology: topo,
      names: ['api', 'web', 'other'],
      policies: {
        'web-http': {
          endpointSelector: { matchLabels: { app: 'web' } },
          ingress: [
            {
              fromEndpoints: [{ matchLabels: { app: 'api' } }],
              toPorts: [{ ports: [{ port: String(WEB), protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/public/.*' }, { method: 'GET', path: '/admin', headers: ['X-Token: s3cret'] }] } }],
            },
          ],
        },
      },
      agentArgs: ['--poll-interval', '1s', '--flow-interval', '1s'],
    });
    web = await HttpPeer.start(topo.pods[1]!.nsPath);
    await web.serve(WEB);
    api = await HttpPeer.start(topo.pods[0]!.nsPath);
    other = await HttpPeer.start(topo.pods[2]!.nsPath);
    await scenario.startAgent();
  });

  afterAll(async () => {
    api?.stop();
    other?.stop();
    web?.stop();
    if (scenario) await scenario.stop();
    else topo?.destroy();
  });

  it.each([4, 6] as const)('IPv%s: api\'s allowed requests get the server\'s answer; the others 403 on the same keep-alive connection, never reaching it', async (family) => {
    const before = await web!.served();
    const r = await api!.requests(webIp(family), WEB, [
      { method: 'GET', path: '/public/x' },
      { method: 'POST', path: '/public/x' },
      { method: 'GET', path: '/private' },
      { method: 'GET', path: '/public/y' },
      { method: 'GET', path: '/admin' },
      { method: 'GET', path: '/admin', headers: { 'X-Token': 's3cret' } },
    ]);
    expect(r.results).toEqual([
      { status: 200, body: 'GET /public/x' },
      DENIED,
      DENIED,
      { status: 200, body: 'GET /public/y' },
      DENIED,
      { status: 200, body: 'GET /admin' },
    ]);
    expect(r.sockets).toBe(1);
    expect((await web!.served()) - before).toBe(3);
  });

  it('a large chunked request body and a large response body pass through the proxy intact (16 MiB each way)', async () => {
    const size = 16 * 1024 * 1024;
    const pattern = patternBody(size);
    const r = await api!.requests(webIp(4), WEB, [
      { method: 'GET', path: '/public/upload', bodyBytes: size },
      { method: 'GET', path: `/public/download?respond=${size}` },
      // denied: its body is read and dropped (none of it forwarded), 403 on the same connection
      { method: 'POST', path: '/public/upload', bodyBytes: size },
      { method: 'GET', path: '/public/after' }, // the connection is still usable
    ]);
    expect(r.results).toEqual([
      { status: 200, body: `GET /public/upload ${size} ${pattern.sha256}` },
      { status: 200, body: `<${size} bytes sha256 ${pattern.sha256}>` },
      DENIED,
      { status: 200, body: 'GET /public/after' },
    ]);
    expect(r.sockets).toBe(1);
  });

  it.each([4, 6] as const)('IPv%s: a peer the policy does not allow at L3 is dropped before the proxy', async (family) => {
    const before = await web!.served();
    const r = await other!.requests(webIp(family), WEB, [{ method: 'GET', path: '/public/x' }]);
    expect(r.results[0]).toMatchObject({ error: expect.any(String) }); // no 403: nothing answered at all
    expect(await web!.served()).toBe(before);
  });

  it('the node reports the policy programmed, nothing of it Degraded', async () => {
    const node = await scenario!.client.call('GET', `/clusters/${CLUSTER}/nodes/${NODE}`, { token: scenario!.api.tokens.reader });
    const conditions = (node.body?.status?.conditions ?? []) as { type: string; status: string }[];
    expect(conditions.find((c) => c.type === 'Programmed')?.status).toBe('True');
    expect(conditions.find((c) => c.type === 'Degraded')?.status ?? 'False').toBe('False');
  });

  it('the flow history holds the requests as web\'s INGRESS L7 HTTP summaries; a query by HTTP status finds them', async () => {
    const since = new Date(Date.now() - 5_000).toISOString();
    const r = await api!.requests(webIp(4), WEB, [{ method: 'GET', path: '/public/z' }, { method: 'DELETE', path: '/public/z' }]);
    expect(r.results).toEqual([{ status: 200, body: 'GET /public/z' }, DENIED]);
    let denied: FlowSummary[] = [];
    await eventually(async () => {
      denied = await scenario!.flows(since, { http_status_code: ['403'], http_method: ['DELETE'] });
      return denied.length > 0;
    }, 20_000, 'the denial reaches the flow history');
    expect(denied[0]).toMatchObject({
      source: { pod_name: 'api' },
      destination: { pod_name: 'web' },
      l4: { protocol: 'TCP', destination_port: WEB },
      traffic_direction: 'INGRESS',
      verdict: 'DROPPED',
      l7: { http: { method: 'DELETE', code: 403, url: '/public/z' } },
    });
    const ok = await scenario!.flows(since, { http_status_code: ['2+'], http_path: ['^/public'] });
    expect(ok.find((f) => f.l7?.http?.url === '/public/z' && f.traffic_direction === 'INGRESS')).toMatchObject({ verdict: 'FORWARDED', policy: { name: 'web-http' }, l7: { http: { code: 200, url: '/public/z' } } });
  });

  it('an open keep-alive connection ends when the agent stops (the proxy held it); new connections fail closed while it is down and work once it is back', async () => {
    const client = await api!.open(webIp(4), WEB);
    expect(await api!.send(client, 'GET', '/public/1')).toEqual({ status: 200, body: 'GET /public/1', reused: false });
    expect(await api!.send(client, 'GET', '/public/2')).toEqual({ status: 200, body: 'GET /public/2', reused: true });
    const before = await web!.served();
    await scenario!.agent!.kill('SIGKILL');
    // the held connection was the proxy's: the next request cannot go on it, and a new one finds no proxy
    expect(await api!.send(client, 'GET', '/public/3')).toMatchObject({ error: expect.any(String) });
    expect(await web!.served()).toBe(before);
    await scenario!.startAgent();
    expect(await api!.send(client, 'GET', '/public/4')).toEqual({ status: 200, body: 'GET /public/4', reused: false });
    expect(await api!.send(client, 'GET', '/private')).toEqual({ ...DENIED, reused: true });
  });

  it('HTTP/2 cleartext is refused, never passed unchecked, and the node reports the rule Degraded', async () => {
    const before = await web!.served();
    const h2c = { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAAQAAP__' };
    const r = await api!.requests(webIp(4), WEB, [{ method: 'GET', path: '/public/x', headers: h2c }]);
    expect(r.results).toEqual([DENIED]);
    expect(await web!.served()).toBe(before);
    let degraded: { status?: string; reason?: string; message?: string } | undefined;
    try {
      await eventually(async () => {
        const node = await scenario!.client.call('GET', `/clusters/${CLUSTER}/nodes/${NODE}`, { token: scenario!.api.tokens.reader });
        degraded = ((node.body?.status?.conditions ?? []) as { type: string; status?: string; reason?: string; message?: string }[]).find((c) => c.type === 'Degraded');
        return degraded?.status === 'True';
      }, 15_000, 'the node reports Degraded');
    } catch (e) {
      // Seen once on a loaded CI machine: say what the agent did (a failed status report backs off).
      const lines = (scenario!.agent?.logs ?? []).filter((l) => /h2c|HTTP\/2|status|API call failed|Degraded/i.test(JSON.stringify(l))).slice(-15);
      throw new Error(`${(e as Error).message}; agent lines:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    }
    expect(degraded).toMatchObject({ status: 'True', reason: 'UnsupportedRules' });
    expect(degraded?.message).toMatch(/policy web-http \/ingress\/0: HTTP\/2 cleartext \(h2c\) to port 80 was refused/);
  });
});
