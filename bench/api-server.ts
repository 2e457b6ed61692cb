/**
 * A server process for bench/api.ts. argv[2] = "fleetnet": the local host with the full route table on
 * an embedded Cosmos server, seeded with one cluster, one policy and an agent token. argv[2] = "bare":
 * a bare node:http server answering every request with the same 304 bytes fleetnet sends. argv[2] =
 * "empty-operation": the same local host serving one anonymous operation that answers 304 at once — the
 * cost of the @azure/functions handler model (HttpRequest, InvocationContext) without fleetnet's own code.
 * Prints one JSON line {url, token, etag} on stdout when ready.
 */
import http from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createAppServices } from '../functions/src/app-services.js';
import { loadOrCreateDevIssuer } from '../functions/src/auth/dev-issuer.js';
import { startLocalHost } from '../functions/src/local-host/local-host.js';
import { createOperations } from '../functions/src/routes.js';
import { defineOperation } from '../functions/src/http/operation.js';
import { DESIRED_STATE_MEDIA_TYPE } from '../core/bundle/desired-state-format.js';

const mode = process.argv[2];
process.on('SIGINT', () => process.exit(0)); // exit normally so --cpu-prof can write its profile
const DESIRED_STATE_PATH = '/clusters/bench-cluster/nodes/node-1/desiredstate';

if (mode === 'fleetnet') {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnet-bench-'));
  const env = { FLEETNET_AUTH_DEV_ISSUER_DIR: dir, FLEETNET_DESIRED_STATE_CACHE_MS: process.env.FLEETNET_DESIRED_STATE_CACHE_MS ?? '1000' };
  const services = await createAppServices({ env });
  const host = await startLocalHost({ operations: createOperations(async () => services) });
  const issuer = await loadOrCreateDevIssuer(dir);
  const admin = await issuer.mintToken({ role: 'Fleet.Admin', objectId: 'bench-admin' });
  const token = await issuer.mintToken({ role: 'Fleet.Agent', objectId: 'bench-agent' });
  const put = (path: string, body: unknown) =>
    fetch(`${host.baseUrl}${path}`, { method: 'PUT', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await put('/clusters/bench-cluster', { apiVersion: 'fleetnet.io/v1', kind: 'Cluster', metadata: { name: 'bench-cluster', labels: { env: 'prod' } }, spec: { agentIdentities: ['bench-agent'] } });
  await put('/networkpolicies/bench-policy', {
    apiVersion: 'fleetnet.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'bench-policy' },
    spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }] }] },
  });
  await services.desiredState.settled(); // desired state is compiled after the writes return
  const first = await fetch(`${host.baseUrl}${DESIRED_STATE_PATH}`, { headers: { authorization: `Bearer ${token}`, accept: DESIRED_STATE_MEDIA_TYPE } });
  if (first.status !== 200) throw new Error(`first poll answered ${first.status}`);
  const etag = first.headers.get('etag');
  console.log(JSON.stringify({ url: `${host.baseUrl}${DESIRED_STATE_PATH}`, token, etag }));
} else if (mode === 'empty-operation') {
  const etag = process.argv[3] ?? '"r1-bench"';
  const route = DESIRED_STATE_PATH.slice(1).replace('bench-cluster', '{clusterId}').replace('node-1', '{nodeName}');
  const answer304 = defineOperation(async () => ({}) as never, { operationId: 'emptyOperation', method: 'GET', route, anonymous: true }, async () => ({
    status: 304,
    headers: { ETag: etag },
  }));
  const host = await startLocalHost({ operations: [answer304] });
  console.log(JSON.stringify({ url: `${host.baseUrl}${DESIRED_STATE_PATH}`, token: 'unused', etag }));
} else if (mode === 'bare') {
  const etag = process.argv[3] ?? '"r1-bench"';
  const server = http.createServer((_req, res) => {
    res.writeHead(304, { etag });
    res.end();
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/api${DESIRED_STATE_PATH}`, token: 'unused', etag }));
  });
} else {
  console.error('usage: api-server.ts fleetnet|empty-operation|bare [etag]');
  process.exit(2);
}
