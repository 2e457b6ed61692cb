/**
 * Server processes for bench/controlplane.ts, so the store, each API instance and the load generator have
 * their own event loop (as Cosmos DB, a Functions instance and the clients do).
 * - `store`: the embedded Cosmos server; prints {endpoint, key}.
 * - `api <endpoint> <key> <databaseId>`: the local host with the full route table (createAppServices +
 *   startLocalHost, as bench/api-server.ts) on that database; prints {baseUrl, admin, reader}.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppServices } from '../functions/src/app-services.js';
import { loadOrCreateDevIssuer } from '../functions/src/auth/dev-issuer.js';
import { startLocalHost } from '../functions/src/local-host/local-host.js';
import { createOperations } from '../functions/src/routes.js';
import { startEmbeddedCosmos } from '../functions/src/store/embedded-cosmos.js';
import { connectToDatabase } from './controlplane-store.js';

process.on('SIGTERM', () => process.exit(0));
// The bench holds our stdin open; when it exits (or dies), so do we.
process.stdin.on('end', () => process.exit(0)).resume();

const mode = process.argv[2];
if (mode === 'store') {
  const store = await startEmbeddedCosmos();
  console.log(JSON.stringify({ endpoint: store.endpoint, key: store.key }));
} else if (mode === 'api') {
  const [endpoint, key, databaseId] = process.argv.slice(3);
  const { connection } = await connectToDatabase(endpoint!, key!, databaseId!);
  const dir = await mkdtemp(join(tmpdir(), 'fleetnet-bench-controlplane-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const services = await createAppServices({ env: { FLEETNET_AUTH_DEV_ISSUER_DIR: dir }, cosmos: connection });
  const host = await startLocalHost({ operations: createOperations(async () => services) });
  const issuer = await loadOrCreateDevIssuer(dir);
  const admin = await issuer.mintToken({ role: 'Fleet.Admin', objectId: 'bench-admin' });
  const reader = await issuer.mintToken({ role: 'Fleet.Reader', objectId: 'bench-reader' });
  console.log(JSON.stringify({ baseUrl: host.baseUrl, admin, reader }));
} else {
  console.error('usage: controlplane-servers.ts store | api <endpoint> <key> <databaseId>');
  process.exit(2);
}
