/**
 * `npm start`: the whole API locally on embedded defaults — the Functions route table on node:http at
 * http://localhost:7071/api (env PORT, HOST), the in-process Cosmos-compatible store (unless
 * COSMOS_ENDPOINT is set), and the dev token issuer (unless FLEETNET_AUTH_ISSUER is set). Prints
 * ready-to-paste exports (API, FLEETNET_API_URL, tokens) and a first curl.
 *
 * The port is bound before anything else starts: a busy or forbidden port is one line on stderr
 * (with a free port to try) and exit code 1, never a stack.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { buildConsole, CONSOLE_OUT } from './build-console.js';
import { createAppServices, type AppServices } from '../functions/src/app-services.js';
import { AUTH_ENV } from '../functions/src/auth/auth-config.js';
import { DEV_ISSUER_DEFAULT_DIR } from '../functions/src/auth/dev-issuer.js';
import { startLocalHost, type LocalHost } from '../functions/src/local-host/local-host.js';
import { createOperations } from '../functions/src/routes.js';
import { reconcileDesiredState } from '../functions/src/domain/reconcile-desired-state.js';

const DEFAULT_PORT = 7071;
const env = { ...process.env };
const entraConfigured = env[AUTH_ENV.issuer] !== undefined;
if (!entraConfigured) env[AUTH_ENV.devIssuerDir] ??= DEV_ISSUER_DEFAULT_DIR;

const fail = (message: string): never => {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
};

const portText = env.PORT ?? String(DEFAULT_PORT);
if (!/^\d+$/.test(portText) || Number(portText) > 65535) fail(`PORT=${portText} is not a port number (0–65535): PORT=7072 npm start`);
const port = Number(portText);
const listenHost = env.HOST ?? '127.0.0.1';

/** First port after `from` that `host` can bind, or undefined. */
async function findFreePort(host: string, from: number): Promise<number | undefined> {
  for (let candidate = from + 1; candidate <= Math.min(from + 50, 65535); candidate++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(candidate, host, () => probe.close(() => resolve(true)));
    });
    if (free) return candidate;
  }
  return undefined;
}

/** One line for the errors a user can fix by choosing PORT/HOST; undefined for anything else. */
async function describeListenError(error: unknown): Promise<string | undefined> {
  const code = (error as NodeJS.ErrnoException).code;
  const suggest = async () => {
    const next = await findFreePort(listenHost, port);
    return next === undefined ? 'choose another: PORT=<port> npm start' : `PORT=${next} npm start`;
  };
  if (code === 'EADDRINUSE') {
    const who = port === DEFAULT_PORT ? ' (Azure Functions Core Tools uses it too)' : '';
    return `port ${port} on ${listenHost} is in use${who}: ${await suggest()}`;
  }
  if (code === 'EACCES') return `port ${port} on ${listenHost} needs privileges: ${await suggest()}`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `HOST=${listenHost} is not an address of this machine (${code}): HOST=127.0.0.1 npm start`;
  }
  return undefined;
}

/** The URL to paste: loopback and wildcard binds print as localhost; IPv6 literals get brackets. */
function printableBaseUrl(host: LocalHost): string {
  const { port: bound } = host.server.address() as { port: number };
  const prefix = new URL(host.baseUrl.replace(/^http:\/\/[^/]*(?=\/)/, 'http://x')).pathname;
  const name = ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost'].includes(listenHost) ? 'localhost' : listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  return `http://${name}:${bound}${prefix}`;
}

// Requests that arrive while the store starts wait for it.
let resolveServices!: (services: AppServices) => void;
const servicesReady = new Promise<AppServices>((resolve) => (resolveServices = resolve));
let host: LocalHost;
try {
  host = await startLocalHost({ operations: createOperations(() => servicesReady), port, host: listenHost });
} catch (error) {
  const line = await describeListenError(error);
  if (line === undefined) throw error;
  fail(line);
}
const services = await createAppServices({ env });
resolveServices(services);
const baseUrl = printableBaseUrl(host!);
// the console's static files (dist/console): built now unless they exist; a failed build is one line, the API runs on
const consoleReady = existsSync(`${CONSOLE_OUT}index.html`)
  ? true
  : await buildConsole().then(
      () => true,
      (error: unknown) => (console.error(`console not built (npm run build:console): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`), false),
    );

console.log(`fleetnet API listening on ${baseUrl}  (PORT=${port === 0 ? '0 (any free port)' : port}, HOST=${listenHost}; set either to change)`);
console.log(`store: ${env.COSMOS_ENDPOINT ? env.COSMOS_ENDPOINT : 'embedded Cosmos-compatible server (in-process, data lives until exit)'}`);
console.log('\nIn another shell, paste (curl walk-through and `npm run -s fleetnet -- …` in the README):');
console.log(`  export API=${baseUrl}`);
console.log(`  export FLEETNET_API_URL=${baseUrl}`);
const issuer = services.authenticator.devIssuer;
if (issuer) {
  const admin = await issuer.mintToken({ role: 'Fleet.Admin', objectId: 'dev-admin', expiresInSeconds: 8 * 3600 });
  const reader = await issuer.mintToken({ role: 'Fleet.Reader', objectId: 'dev-reader', expiresInSeconds: 8 * 3600 });
  console.log(`  export ADMIN_TOKEN=${admin}`);
  console.log(`  export READER_TOKEN=${reader}`);
  console.log('  # an agent token (1 h) for the cluster whose spec.agentIdentities lists agent-east:');
  console.log('  export AGENT_TOKEN=$(npm run -s token -- --role Fleet.Agent --object-id agent-east)');
  console.log('(Admin and reader tokens are valid 8 h; the CLI finds a dev admin token by itself.)');
  console.log('\nFirst call:');
  console.log(`  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" $API/networkpolicies`);
} else {
  console.log(`  export FLEETNET_TOKEN=<an Entra ID access token for ${env[AUTH_ENV.audience] ?? 'the API'}>`);
}
if (consoleReady) console.log(`\nConsole: ${baseUrl}/console/  (paste the reader or admin token above to sign in)`);
console.log('\nCtrl-C to stop.');

// The Functions host runs this on a timer (functions/src/index.ts); locally, every five minutes too.
const reconcileTimer = setInterval(() => {
  reconcileDesiredState(services).catch((error: unknown) => console.error('desired-state reconciliation failed:', error));
}, 5 * 60_000);
reconcileTimer.unref();

// A closed stdout (npm start | head) must not take the API down with an EPIPE stack.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

const stop = async () => {
  await host!.close();
  await services.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
