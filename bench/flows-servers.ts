/**
 * Server processes for bench/flows.ts, so the store, the API and the load generator each have their own
 * CPU (as Cosmos DB, a Functions instance and the agents do).
 * - `store`: the embedded Cosmos server; prints {endpoint, key}.
 * - `api <endpoint> <key>`: the local host with the full route table on that store, two clusters seeded;
 *   prints {baseUrl, admin, agent, reader}.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppServices } from '../functions/src/app-services.js';
import { loadOrCreateDevIssuer } from '../functions/src/auth/dev-issuer.js';
import { startLocalHost } from '../functions/src/local-host/local-host.js';
import { createOperations } from '../functions/src/routes.js';
import { startEmbeddedCosmos } from '../functions/src/store/embedded-cosmos.js';
import { connectToStore } from './flows-store-connection.js';

process.on('SIGTERM', () => process.exit(0));
// The bench holds our stdin open; when it exits (or dies), so do we.
process.stdin.on('end', () => process.exit(0)).resume();

const mode = process.argv[2];
if (mode === 'store') {
  const store = await startEmbeddedCosmos();
  console.log(JSON.stringify({ endpoint: store.endpoint, key: store.key }));
} else if (mode === 'api') {
  const [endpoint, key] = process.argv.slice(3);
  const { connection } = await connectToStore(endpoint!, key!);
  const dir = await mkdtemp(join(tmpdir(), 'fleetnet-bench-flows-'));
  const services = await createAppServices({ env: { FLEETNET_AUTH_DEV_ISSUER_DIR: dir, FLEETNET_FLOW_DECODER_THREADS: process.env.FLEETNET_FLOW_DECODER_THREADS }, cosmos: connection });
  const host = await startLocalHost({ operations: createOperations(async () => services) });
  const issuer = await loadOrCreateDevIssuer(dir);
  const admin = await issuer.mintToken({ role: 'Fleet.Admin', objectId: 'bench-admin' });
  for (const cluster of ['bench-api', 'bench-sdk']) {
    await fetch(`${host.baseUrl}/clusters/${cluster}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'fleetnet.io/v1', kind: 'Cluster', metadata: { name: cluster }, spec: { agentIdentities: ['bench-agent'] } }),
    });
  }
  const agent = await issuer.mintToken({ role: 'Fleet.Agent', objectId: 'bench-agent' });
  const reader = await issuer.mintToken({ role: 'Fleet.Reader', objectId: 'bench-reader' });
  console.log(JSON.stringify({ baseUrl: host.baseUrl, admin, agent, reader }));
}
