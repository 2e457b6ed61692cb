import type { ArmAccessOptions } from '../../functions/src/inventory/arm-access.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { customFetch } from 'jose';
import { createAppServices, type AppServices } from '../../functions/src/app-services.js';
import type { AuthenticatorDeps } from '../../functions/src/auth/create-authenticator.js';
import type { FleetRole } from '../../functions/src/auth/principal.js';
import { loadOrCreateDevIssuer, type DevIssuer } from '../../functions/src/auth/dev-issuer.js';
import { startLocalHost, type LocalHostOptions } from '../../functions/src/local-host/local-host.js';
import { createOperations } from '../../functions/src/routes.js';
import { cosmosTuningFromEnv, openCosmos, type CosmosConnection } from '../../functions/src/store/open-cosmos.js';
import { startCosmosFaultProxy, type CosmosFaultProxy } from './cosmos-fault-proxy.js';
import type { FakeEntra } from './fake-entra.js';
import { fetchTrusting } from './local-https.js';

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
  const issuer = await loadOrCreateDevIssuer(dir);
  const api = await startApi({ FLEETNET_AUTH_DEV_ISSUER_DIR: dir, ...env }, hostOptions, options, (role, objectId) => issuer.mintToken({ role, objectId }));
  return { ...api, issuer, close: () => api.close().finally(() => rm(dir, { recursive: true, force: true })) };
}

/**
 * The real API trusting a local Entra authority (fake-entra.ts) as it trusts Entra in Azure: issuer,
 * audience (the API's App ID URI and client id) and JWKS from `entra`, whose certificate its key fetches
 * trust; the console signs in with MSAL as `consoleClientId`. Tokens are Entra access tokens for users
 * holding the role.
 */
export function startTestApiWithEntra(entra: FakeEntra, api: { appIdUri: string; clientId: string }, consoleClientId: string, options: { arm?: ArmAccessOptions } = {}): Promise<Omit<TestApi, 'issuer'>> {
  const env = {
    FLEETNET_AUTH_ISSUER: entra.issuer,
    FLEETNET_AUTH_AUDIENCE: `${api.appIdUri},${api.clientId}`,
    FLEETNET_AUTH_JWKS_URI: entra.jwksUri,
    FLEETNET_CONSOLE_CLIENT_ID: consoleClientId,
  };
  const user = (role: FleetRole, objectId: string) => ({ objectId, name: objectId, username: `${objectId}@fleetnet.test`, roles: [role] });
  return startApi(env, {}, { ...options, authenticator: { remoteJwks: { [customFetch]: fetchTrusting(entra.ca) } } }, (role, objectId) => entra.accessToken(user(role, objectId)));
}

async function startApi(
  env: Record<string, string>,
  hostOptions: Pick<LocalHostOptions, 'bodyReadTimeoutMs'>,
  options: { cosmosFaults?: boolean; arm?: ArmAccessOptions; authenticator?: AuthenticatorDeps },
  mint: (role: FleetRole, objectId: string) => Promise<string>,
): Promise<Omit<TestApi, 'issuer'>> {
  let cosmosFaults: CosmosFaultProxy | undefined;
  const cosmos = await openCosmos({
    tuning: cosmosTuningFromEnv(env),
    ...(options.cosmosFaults ? { embeddedVia: async (endpoint: string) => (cosmosFaults = await startCosmosFaultProxy(endpoint)).endpoint } : {}),
  });
  const services = await createAppServices({ env, cosmos, ...(options.arm ? { arm: options.arm } : {}), ...(options.authenticator ? { authenticator: options.authenticator } : {}) });
  const host = await startLocalHost({ operations: createOperations(async () => services), ...hostOptions });
  return {
    baseUrl: host.baseUrl,
    services,
    cosmos,
    tokens: { admin: await mint('Fleet.Admin', 'admin-1'), reader: await mint('Fleet.Reader', 'reader-1') },
    agentToken: (objectId) => mint('Fleet.Agent', objectId),
    ...(cosmosFaults ? { cosmosFaults } : {}),
    close: async () => {
      await host.close();
      await services.close();
      await cosmosFaults?.close();
      await cosmos.close();
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
