/**
 * Egress HTTP rules end to end with real packets (root): the real API, the agent process (its HTTP
 * proxy in the node namespace, the kernel redirect), an HTTP server in a pod namespace.
 *   - requests the rules allow reach the server; others get 403 `Access denied` from the proxy on a
 *     connection that stays usable, and never reach the server
 *   - a port without HTTP rules is not allowed at all (the L3/L4 decision comes first)
 *   - the node reports nothing of the policy Degraded
 * Namespaces, links and pins are removed in afterAll, also when a test fails.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Datapath } from '../../agent/src/kernel/datapath.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { createContractClient } from '../helpers/contract-client.js';
import { clusterBody } from '../helpers/fixtures.js';
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
  let api: TestApi;
  let client: ReturnType<typeof createContractClient>;
  let topo: Topology | undefined;
  let agent: AgentProcess | undefined;
  let pod: HttpPeer | undefined;
  let server: HttpPeer | undefined;
  let work = '';
  const pinDir = `/sys/fs/bpf/fleetnet-test-http-${process.pid}`;
  const webIp = (family: 4 | 6) => (family === 4 ? topo!.pods[1]!.ip : topo!.pods[1]!.ip6);

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('httpe', 2);
    api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
    client = createContractClient(api.baseUrl);
    await client.call('PUT', `/clusters/${CLUSTER}`, { token: api.tokens.admin, body: clusterBody(CLUSTER, { env: 'http' }, ['agent-http']) });
    const put = await client.call('PUT', '/networkpolicies/client-http', {
      token: api.tokens.admin,
      body: {
        apiVersion: 'fleetnet.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'client-http' },
        spec: {
          targets: { clusterIds: [CLUSTER] },
          endpointSelector: { matchLabels: { app: 'client' } },
          egress: [
            {
              toEndpoints: [{ matchLabels: { app: 'web' } }],
              toPorts: [{ ports: [{ port: String(WEB), protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/public' }, { method: 'POST', path: '/api/.*' }] } }],
            },
          ],
        },
      },
    });
    expect(put.status).toBeLessThan(300);
    work = mkdtempSync(join(tmpdir(), 'fleetnet-http-'));
    writeFileSync(join(work, 'token'), await api.issuer.mintToken({ role: 'Fleet.Agent', objectId: 'agent-http', expiresInSeconds: 3600 }));
    const names = ['client', 'web'];
    writeFileSync(
      join(work, 'endpoints.yaml'),
      `endpoints:\n${topo.pods.map((p, i) => `  - {podName: ${names[i]}, namespace: http, ips: [${p.ip}, "${p.ip6}"], labels: {app: ${names[i]}}}`).join('\n')}\n` +
        `nodes:\n  - {name: ${NODE}, local: true, ips: [${topo.pods[0]!.gatewayIp}, "${topo.pods[0]!.gatewayIp6}"]}\n`,
    );
    server = await HttpPeer.start(topo.pods[1]!.nsPath);
    await server.serve(WEB);
    await server.serve(OTHER);
    pod = await HttpPeer.start(topo.pods[0]!.nsPath);
    agent = AgentProcess.start([
      '--api', api.baseUrl, '--cluster', CLUSTER, '--node', NODE, '--token-file', join(work, 'token'),
      '--pin-dir', pinDir, '--state-dir', join(work, 'state'), '--endpoints-file', join(work, 'endpoints.yaml'),
      '--netns', topo.node.nsPath, '--poll-interval', '1s', '--flow-interval', '1s',
    ]);
    await agent.waitFor((l) => l.msg === 'agent running');
    await agent.waitFor((l) => l.msg === 'programmed' && Number(l['policyEntries']) > 0, 20_000);
  });

  afterAll(async () => {
    try {
      await agent?.kill('SIGKILL');
      pod?.stop();
      server?.stop();
      await api?.close();
    } finally {
      try {
        if (existsSync(pinDir)) new Datapath({ pinDir, ...(topo ? { netnsPath: topo.node.nsPath } : {}) }).destroy();
      } finally {
        topo?.destroy();
        if (work) rmSync(work, { recursive: true, force: true });
      }
    }
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
    const node = await client.call('GET', `/clusters/${CLUSTER}/nodes/${NODE}`, { token: api.tokens.reader });
    const conditions = (node.body?.status?.conditions ?? []) as { type: string; status: string }[];
    expect(conditions.find((c) => c.type === 'Programmed')?.status).toBe('True');
    expect(conditions.find((c) => c.type === 'Degraded')?.status ?? 'False').toBe('False');
  });
});
