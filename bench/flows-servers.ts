/**
 * Server processes for bench/flows.ts, so the store, the API and the load generator each have their own
 * CPU (as Cosmos DB, a Functions instance and the agents do).
 * - `store`: the embedded Cosmos server; prints {endpoint, key}.
 * - `api <endpoint> <key>`: the local host with the full route table on that store, two clusters seeded;
 *   prints {baseUrl, admin, agent, reader}.
 */
import { exitWithBench, serveStore, startBenchApi } from './bench-server-process.js';
import { connectToStore } from './flows-store-connection.js';

exitWithBench();

const mode = process.argv[2];
if (mode === 'store') {
  await serveStore();
} else if (mode === 'api') {
  const [endpoint, key] = process.argv.slice(3);
  const { connection } = await connectToStore(endpoint!, key!);
  const { baseUrl, issuer, admin } = await startBenchApi(connection, { FLEETNET_FLOW_DECODER_THREADS: process.env.FLEETNET_FLOW_DECODER_THREADS }, 'fleetnet-bench-flows-');
  for (const cluster of ['bench-api', 'bench-sdk']) {
    await fetch(`${baseUrl}/clusters/${cluster}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'fleetnet.io/v1', kind: 'Cluster', metadata: { name: cluster }, spec: { agentIdentities: ['bench-agent'] } }),
    });
  }
  const agent = await issuer.mintToken({ role: 'Fleet.Agent', objectId: 'bench-agent' });
  const reader = await issuer.mintToken({ role: 'Fleet.Reader', objectId: 'bench-reader' });
  console.log(JSON.stringify({ baseUrl, admin, agent, reader }));
}
