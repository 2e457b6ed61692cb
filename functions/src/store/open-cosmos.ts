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

/**
 * How the SDK retries and times out, per request. What is left after these is the client's to retry:
 * store-unavailable.ts turns it into 503 + Retry-After.
 */
export interface CosmosTuning {
  /** Retries of a throttled (429) request, each after the Retry-After the server sent (SDK default 9). */
  maxThrottleRetries: number;
  /**
   * Seconds of Retry-After waits one request may add up before its 429 goes to the caller (SDK default 30).
   * The SDK checks the sum before each wait, so one wait may end past it.
   */
  maxThrottleWaitSeconds: number;
  /** Milliseconds one HTTP request to Cosmos may take before the SDK abandons it (TimeoutError; SDK default 60,000). */
  requestTimeoutMs: number;
}

/**
 * Sized for an HTTP API that answers within a few seconds: a point read or write takes milliseconds and
 * Cosmos asks throttled callers to wait tens to hundreds of ms, so 5 retries within 3 s absorb a burst
 * while sustained throttling reaches the client as 503 + Retry-After in about 3 s rather than the SDK's
 * 30 s (an agent or portal backs off better than a request held open). 5 s per request is far above any
 * healthy call, including a page of flow chunks.
 */
export const DEFAULT_COSMOS_TUNING: CosmosTuning = { maxThrottleRetries: 5, maxThrottleWaitSeconds: 3, requestTimeoutMs: 5_000 };

/** Environment variables that override DEFAULT_COSMOS_TUNING (app-services.ts passes them in). */
export const COSMOS_ENV = {
  maxThrottleRetries: 'FLEETNET_COSMOS_MAX_THROTTLE_RETRIES',
  /** Decimals allowed (e.g. 0.5). */
  maxThrottleWaitSeconds: 'FLEETNET_COSMOS_MAX_THROTTLE_WAIT_SECONDS',
  requestTimeoutMs: 'FLEETNET_COSMOS_REQUEST_TIMEOUT_MS',
} as const;

/** The tuning an environment asks for; unset or invalid (negative, non-numeric) values are left out. */
export function cosmosTuningFromEnv(env: Readonly<Record<string, string | undefined>>): Partial<CosmosTuning> {
  const tuning: Partial<CosmosTuning> = {};
  for (const key of Object.keys(COSMOS_ENV) as (keyof CosmosTuning)[]) {
    const raw = env[COSMOS_ENV[key]]?.trim();
    const value = raw ? Number(raw) : NaN;
    if (Number.isFinite(value) && value >= 0 && (key !== 'requestTimeoutMs' || value > 0)) tuning[key] = value;
  }
  return tuning;
}

export interface CosmosOptions {
  /** A real account's endpoint (Entra ID auth via DefaultAzureCredential). Absent → embedded server. */
  endpoint?: string | undefined;
  databaseId?: string;
  /** Overrides of DEFAULT_COSMOS_TUNING. */
  tuning?: Partial<CosmosTuning>;
  /**
   * Embedded server only (tests): given the server's endpoint, returns the endpoint the SDK should use
   * instead — e.g. a fault-injecting proxy in front of it (same self-signed TLS, same key).
   */
  embeddedVia?: (endpoint: string) => Promise<string>;
}

/**
 * Connects to Cosmos DB and makes sure the database and every container of cosmos-layout.ts exist.
 * With no endpoint it starts the embedded server in-process. Real accounts use Entra-only data-plane
 * RBAC: no keys are read from configuration.
 */
export async function openCosmos(options: CosmosOptions = {}): Promise<CosmosConnection> {
  const databaseId = options.databaseId ?? DATABASE_ID;
  const tuning = { ...DEFAULT_COSMOS_TUNING, ...options.tuning };
  const connectionPolicy = {
    requestTimeout: tuning.requestTimeoutMs,
    retryOptions: { maxRetryAttemptCount: tuning.maxThrottleRetries, maxWaitTimeInSeconds: tuning.maxThrottleWaitSeconds },
  };
  if (options.endpoint) {
    const client = new CosmosClient({ endpoint: options.endpoint, aadCredentials: new DefaultAzureCredential(), connectionPolicy });
    // Entra data-plane RBAC cannot create databases or containers: infra/ provisions them from the same layout.
    const containers = referenceContainers(client, databaseId);
    return { containers, target: 'account', requestCount: () => undefined, close: async () => client.dispose() };
  }
  const embedded = await startEmbeddedCosmos();
  const endpoint = options.embeddedVia ? await options.embeddedVia(embedded.endpoint).catch(async (error: unknown) => {
    await embedded.close();
    throw error;
  }) : embedded.endpoint;
  const client = new CosmosClient({
    endpoint,
    key: embedded.key,
    agent: embedded.agent,
    connectionPolicy: { ...connectionPolicy, enableEndpointDiscovery: false },
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
