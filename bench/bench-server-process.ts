/**
 * What the benches' server processes share (controlplane-servers.ts, flows-servers.ts): they live as long
 * as the bench holds their stdin open, and serve either the embedded Cosmos store or the local host with
 * the full route table on a connection to it, each printing one JSON line when ready.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppServices } from '../functions/src/app-services.js';
import { loadOrCreateDevIssuer, type DevIssuer } from '../functions/src/auth/dev-issuer.js';
import { startLocalHost } from '../functions/src/local-host/local-host.js';
import { createOperations } from '../functions/src/routes.js';
import { startEmbeddedCosmos } from '../functions/src/store/embedded-cosmos.js';
import type { CosmosConnection } from '../functions/src/store/open-cosmos.js';

/** Exit on SIGTERM, and when the bench closes our stdin (it exited, or died). */
export function exitWithBench(): void {
  process.on('SIGTERM', () => process.exit(0));
  process.stdin.on('end', () => process.exit(0)).resume();
}

/** The embedded Cosmos server; prints {endpoint, key}. */
export async function serveStore(): Promise<void> {
  const store = await startEmbeddedCosmos();
  console.log(JSON.stringify({ endpoint: store.endpoint, key: store.key }));
}

/**
 * The local host with the full route table on `connection`, a dev token issuer in a temp dir (removed at
 * exit) and a Fleet.Admin token. The caller seeds what it needs and prints its own ready line.
 */
export async function startBenchApi(
  connection: CosmosConnection,
  env: Record<string, string | undefined>,
  tempPrefix: string,
): Promise<{ baseUrl: string; issuer: DevIssuer; admin: string }> {
  const dir = await mkdtemp(join(tmpdir(), tempPrefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const services = await createAppServices({ env: { FLEETNET_AUTH_DEV_ISSUER_DIR: dir, ...env }, cosmos: connection });
  const host = await startLocalHost({ operations: createOperations(async () => services) });
  const issuer = await loadOrCreateDevIssuer(dir);
  const admin = await issuer.mintToken({ role: 'Fleet.Admin', objectId: 'bench-admin' });
  return { baseUrl: host.baseUrl, issuer, admin };
}
