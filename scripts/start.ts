/**
 * `npm start`: the whole API locally on embedded defaults — the Functions route table on node:http at
 * http://localhost:7071/api, the in-process Cosmos-compatible store (unless COSMOS_ENDPOINT is set), and
 * the dev token issuer (unless FLEETNET_AUTH_ISSUER is set). Prints ready-to-use tokens and a first curl.
 */
import { createAppServices } from '../functions/src/app-services.js';
import { AUTH_ENV } from '../functions/src/auth/auth-config.js';
import { DEV_ISSUER_DEFAULT_DIR } from '../functions/src/auth/dev-issuer.js';
import { startLocalHost } from '../functions/src/local-host/local-host.js';
import { createOperations } from '../functions/src/routes.js';
import { reconcileDesiredState } from '../functions/src/domain/reconcile-desired-state.js';

const env = { ...process.env };
const entraConfigured = env[AUTH_ENV.issuer] !== undefined;
if (!entraConfigured) env[AUTH_ENV.devIssuerDir] ??= DEV_ISSUER_DEFAULT_DIR;

const port = Number(env.PORT ?? 7071);
const services = await createAppServices({ env });
const host = await startLocalHost({ operations: createOperations(async () => services), port, host: env.HOST ?? '127.0.0.1' });
const baseUrl = host.baseUrl.replace('127.0.0.1', 'localhost');

console.log(`fleetnet API listening on ${baseUrl}`);
console.log(`store: ${env.COSMOS_ENDPOINT ? env.COSMOS_ENDPOINT : 'embedded Cosmos-compatible server (in-process, data lives until exit)'}`);
const issuer = services.authenticator.devIssuer;
if (issuer) {
  const admin = await issuer.mintToken({ role: 'Fleet.Admin', objectId: 'dev-admin', expiresInSeconds: 8 * 3600 });
  const reader = await issuer.mintToken({ role: 'Fleet.Reader', objectId: 'dev-reader', expiresInSeconds: 8 * 3600 });
  console.log('\nDev tokens (valid 8 h; more with `npm run -s token -- --role Fleet.Agent --object-id <id>`):');
  console.log(`  export ADMIN_TOKEN=${admin}`);
  console.log(`  export READER_TOKEN=${reader}`);
  console.log('\nFirst call:');
  console.log(`  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" ${baseUrl}/networkpolicies`);
}
console.log('\nCtrl-C to stop.');

// The Functions host runs this on a timer (functions/src/index.ts); locally, every five minutes too.
const reconcileTimer = setInterval(() => {
  reconcileDesiredState(services).catch((error: unknown) => console.error('desired-state reconciliation failed:', error));
}, 5 * 60_000);
reconcileTimer.unref();

const stop = async () => {
  await host.close();
  await services.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
