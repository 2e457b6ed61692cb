import https from 'node:https';
import { CosmosClient } from '@azure/cosmos';
import { CONTAINERS, type ContainerName } from '../functions/src/store/cosmos-layout.js';
import { cosmosTuningFromEnv, DEFAULT_COSMOS_TUNING, type CosmosConnection, type CosmosContainers } from '../functions/src/store/open-cosmos.js';

/**
 * A client of a running embedded store (endpoint + well-known emulator key) on database `databaseId`,
 * configured as openCosmos() configures its own: keep-alive agent with 64 sockets and, with
 * `productTuning`, the product's timeouts and throttle retries (DEFAULT_COSMOS_TUNING + FLEETNET_COSMOS_*);
 * without it the SDK's defaults (bench plumbing: bulk copies). Creates the layout if missing.
 */
export async function connectToDatabase(endpoint: string, key: string, databaseId: string, productTuning = true): Promise<{ client: CosmosClient; connection: CosmosConnection }> {
  const tuning = { ...DEFAULT_COSMOS_TUNING, ...cosmosTuningFromEnv(process.env) };
  const client = new CosmosClient({
    endpoint,
    key,
    agent: new https.Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: 64 }),
    connectionPolicy: {
      enableEndpointDiscovery: false,
      ...(productTuning && {
        requestTimeout: tuning.requestTimeoutMs,
        retryOptions: { maxRetryAttemptCount: tuning.maxThrottleRetries, maxWaitTimeInSeconds: tuning.maxThrottleWaitSeconds },
      }),
    },
  });
  const { database } = await client.databases.createIfNotExists({ id: databaseId });
  const names = Object.keys(CONTAINERS) as ContainerName[];
  const containers = Object.fromEntries(await Promise.all(names.map(async (name) => [name, (await database.containers.createIfNotExists(CONTAINERS[name])).container] as const))) as CosmosContainers;
  return { client, connection: { containers, target: 'embedded', requestCount: () => undefined, close: async () => client.dispose() } };
}
