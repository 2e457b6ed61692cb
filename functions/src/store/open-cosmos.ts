import { CosmosClient, type Container } from '@azure/cosmos';
import { DefaultAzureCredential } from '@azure/identity';
import { CONTAINERS, DATABASE_ID, type ContainerName } from './cosmos-layout.js';
import { startEmbeddedCosmos } from './embedded-cosmos.js';

export type CosmosContainers = Record<ContainerName, Container>;

export interface CosmosConnection {
  containers: CosmosContainers;
  /** 'embedded' for the in-process server, 'account' for a real Cosmos DB account. */
  target: 'embedded' | 'account';
  /** Requests served by the embedded server so far (undefined for a real account). */
  requestCount(): number | undefined;
  close(): Promise<void>;
}

export interface CosmosOptions {
  /** A real account's endpoint (Entra ID auth via DefaultAzureCredential). Absent → embedded server. */
  endpoint?: string | undefined;
  databaseId?: string;
}

/**
 * Connects to Cosmos DB and makes sure the database and every container of cosmos-layout.ts exist.
 * With no endpoint it starts the embedded server in-process. Real accounts use Entra-only data-plane
 * RBAC: no keys are read from configuration.
 */
export async function openCosmos(options: CosmosOptions = {}): Promise<CosmosConnection> {
  const databaseId = options.databaseId ?? DATABASE_ID;
  if (options.endpoint) {
    const client = new CosmosClient({ endpoint: options.endpoint, aadCredentials: new DefaultAzureCredential() });
    // Entra data-plane RBAC cannot create databases or containers: infra/ provisions them from the same layout.
    const containers = referenceContainers(client, databaseId);
    return { containers, target: 'account', requestCount: () => undefined, close: async () => client.dispose() };
  }
  const embedded = await startEmbeddedCosmos();
  const client = new CosmosClient({
    endpoint: embedded.endpoint,
    key: embedded.key,
    agent: embedded.agent,
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  const containers = await ensureContainers(client, databaseId);
  return {
    containers,
    target: 'embedded',
    requestCount: embedded.requestCount,
    close: async () => {
      client.dispose();
      await embedded.close();
    },
  };
}

function referenceContainers(client: CosmosClient, databaseId: string): CosmosContainers {
  const database = client.database(databaseId);
  const names = Object.keys(CONTAINERS) as ContainerName[];
  return Object.fromEntries(names.map((name) => [name, database.container(CONTAINERS[name].id)])) as CosmosContainers;
}

async function ensureContainers(client: CosmosClient, databaseId: string): Promise<CosmosContainers> {
  const { database } = await client.databases.createIfNotExists({ id: databaseId });
  const entries = await Promise.all(
    (Object.keys(CONTAINERS) as ContainerName[]).map(async (name) => {
      const { container } = await database.containers.createIfNotExists(CONTAINERS[name]);
      return [name, container] as const;
    }),
  );
  return Object.fromEntries(entries) as CosmosContainers;
}
