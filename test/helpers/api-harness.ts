import type { ArmAccessOptions } from '../../functions/src/inventory/arm-access.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppServices, type AppServices } from '../../functions/src/app-services.js';
import { loadOrCreateDevIssuer, type DevIssuer } from '../../functions/src/auth/dev-issuer.js';
import { startLocalHost, type LocalHostOptions } from '../../functions/src/local-host/local-host.js';
import { createOperations } from '../../functions/src/routes.js';
import { cosmosTuningFromEnv, openCosmos, type CosmosConnection } from '../../functions/src/store/open-cosmos.js';
import { startCosmosFaultProxy, type CosmosFaultProxy } from './cosmos-fault-proxy.js';

export interface TestApi {
  baseUrl: string;
  services: AppServices;
  cosmos: CosmosConnection;
  issuer: DevIssuer;
  tokens: { admin: string; reader: string };
  /** A Fleet.Agent token whose oid is `objectId`. */
  agentToken(objectId: string): Promise<string>;
  /** The fault-injecting proxy between the SDK and the embedded server (only with `{ cosmosFaults: true }`). */
  cosmosFaults?: CosmosFaultProxy;
  close(): Promise<void>;
}

/**
 * The real API as agents and portals see it: the Functions route table served by the local host over
 * HTTP, on a fresh embedded Cosmos server, with a dev token issuer in a temp dir. The SDK is tuned from
 * `env` (FLEETNET_COSMOS_*, open-cosmos.ts); `cosmosFaults` puts a cosmos-fault-proxy.ts in front of the store.
 */
export async function startTestApi(
  env: Record<string, string> = {},
  hostOptions: Pick<LocalHostOptions, 'bodyReadTimeoutMs'> = {},
  options: { cosmosFaults?: boolean; arm?: ArmAccessOptions } = {},
): Promise<TestApi> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetnet-api-'));
  let cosmosFaults: CosmosFaultProxy | undefined;
  const cosmos = await openCosmos({
    tuning: cosmosTuningFromEnv(env),
    ...(options.cosmosFaults ? { embeddedVia: async (endpoint: string) => (cosmosFaults = await startCosmosFaultProxy(endpoint)).endpoint } : {}),
  });
  const services = await createAppServices({ env: { FLEETNET_AUTH_DEV_ISSUER_DIR: dir, ...env }, cosmos, ...(options.arm ? { arm: options.arm } : {}) });
  const host = await startLocalHost({ operations: createOperations(async () => services), ...hostOptions });
  const issuer = await loadOrCreateDevIssuer(dir);
  return {
    baseUrl: host.baseUrl,
    services,
    cosmos,
    issuer,
    tokens: {
      admin: await issuer.mintToken({ role: 'Fleet.Admin', objectId: 'admin-1' }),
      reader: await issuer.mintToken({ role: 'Fleet.Reader', objectId: 'reader-1' }),
    },
    agentToken: (objectId) => issuer.mintToken({ role: 'Fleet.Agent', objectId }),
    ...(cosmosFaults ? { cosmosFaults } : {}),
    close: async () => {
      await host.close();
      await services.close();
      await cosmosFaults?.close();
      await cosmos.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The real API with a cosmos-fault-proxy before the store and a short throttling budget (3 retries, 2 s
 * of waiting, 1 s per request), so a throttled store outlasts the SDK's retries quickly: for suites that
 * check 503 + Retry-After. The desired state is not cached.
 */
export function startThrottlableTestApi(): Promise<TestApi> {
  return startTestApi(
    { FLEETNET_DESIRED_STATE_CACHE_MS: '0', FLEETNET_COSMOS_MAX_THROTTLE_RETRIES: '3', FLEETNET_COSMOS_MAX_THROTTLE_WAIT_SECONDS: '2', FLEETNET_COSMOS_REQUEST_TIMEOUT_MS: '1000' },
    {},
    { cosmosFaults: true },
  );
}
