/**
 * Server processes for bench/controlplane.ts, so the store, each API instance and the load generator have
 * their own event loop (as Cosmos DB, a Functions instance and the clients do).
 * - `store`: the embedded Cosmos server; prints {endpoint, key}.
 * - `api <endpoint> <key> <databaseId>`: the local host with the full route table (createAppServices +
 *   startLocalHost, as bench/api-server.ts) on that database; prints {baseUrl, admin, reader}.
 */
import { exitWithBench, serveStore, startBenchApi } from './bench-server-process.js';
import { connectToDatabase } from './controlplane-store.js';

exitWithBench();

const mode = process.argv[2];
if (mode === 'store') {
  await serveStore();
} else if (mode === 'api') {
  const [endpoint, key, databaseId] = process.argv.slice(3);
  const { connection } = await connectToDatabase(endpoint!, key!, databaseId!);
  const { baseUrl, issuer, admin } = await startBenchApi(connection, {}, 'fleetnet-bench-controlplane-');
  const reader = await issuer.mintToken({ role: 'Fleet.Reader', objectId: 'bench-reader' });
  console.log(JSON.stringify({ baseUrl, admin, reader }));
} else {
  console.error('usage: controlplane-servers.ts store | api <endpoint> <key> <databaseId>');
  process.exit(2);
}
