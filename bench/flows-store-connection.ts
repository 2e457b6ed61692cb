import https from 'node:https';
import { CosmosClient } from '@azure/cosmos';
import { CONTAINERS, DATABASE_ID, type ContainerName } from '../functions/src/store/cosmos-layout.js';
import type { CosmosConnection, CosmosContainers } from '../functions/src/store/open-cosmos.js';

/** A connection to a running embedded store by endpoint and (well-known emulator) key. */
export async function connectToStore(endpoint: string, key: string): Promise<{ client: CosmosClient; connection: CosmosConnection }> {
  const client = new CosmosClient({ endpoint, key, agent: new https.Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: 64 }), connectionPolicy: { enableEndpointDiscovery: false } });
  const { database } = await client.databases.createIfNotExists({ id: DATABASE_ID });
  const names = Object.keys(CONTAINERS) as ContainerName[];
  const containers = Object.fromEntries(await Promise.all(names.map(async (name) => [name, (await database.containers.createIfNotExists(CONTAINERS[name])).container] as const))) as CosmosContainers;
  return { client, connection: { containers, target: 'embedded', requestCount: () => undefined, close: async () => client.dispose() } };
}

