/**
 * The fleet console (console/, built by `npm run build:console` into dist/console): static files served
 * anonymously like the contract and its reference page. Every data call the console makes goes to the API's
 * own operations with the user's bearer token — nothing here reads the store or grants anything.
 *
 * - getConsole (`console`, `console/`): the page; without the trailing slash a 308 to it, so the page's
 *   relative URLs (`app.js`, `config.json`, the API one level up) resolve under the route prefix.
 * - getConsoleConfig (`console/config.json`): how the console signs in (console-config.ts: `entra` with
 *   MSAL, or `token`).
 * - getConsoleAsset (`console/{asset}`): a built file by name (names as the build writes them; anything
 *   else 404). A missing build is a 404 naming the build command.
 * Files are read once per process. Headers: CSP (console-config.ts: scripts and styles from this origin,
 * API calls to this origin and the sign-in authority), no framing, nosniff.
 */
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { notFound } from '../http/api-error.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { pathParam } from '../http/request-parts.js';
import { CONSOLE_ENV, consoleContentSecurityPolicy, type ConsoleConfig } from './console-config.js';
import { represent, serveRepresentation, type Representation } from './openapi-document.js';

const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  json: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml',
};
const pageHeaders = (config: ConsoleConfig) => ({
  'Content-Security-Policy': consoleContentSecurityPolicy(config),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
});
const ASSET_HEADERS = { 'X-Content-Type-Options': 'nosniff' };

/** dist/console from the sources (tsx) or from dist/ (the Functions app). */
function consoleDir(env: NodeJS.ProcessEnv): string {
  const configured = env[CONSOLE_ENV.dir];
  if (configured) return configured.endsWith('/') ? configured : `${configured}/`;
  const fromDist = fileURLToPath(new URL('../../../console/', import.meta.url)); // dist/functions/src/handlers → dist/console
  if (existsSync(`${fromDist}index.html`) && fromDist.includes('/dist/')) return fromDist;
  return fileURLToPath(new URL('../../../dist/console/', import.meta.url)); // functions/src/handlers → dist/console
}

let files: Promise<Map<string, Representation>> | undefined;

function loadFiles(env: NodeJS.ProcessEnv): Promise<Map<string, Representation>> {
  files ??= (async () => {
    const dir = consoleDir(env);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => ASSET_NAME.test(name) && CONTENT_TYPES[extension(name)] !== undefined);
    const entries = await Promise.all(names.map(async (name) => [name, represent(new Uint8Array(await readFile(`${dir}${name}`)), CONTENT_TYPES[extension(name)]!)] as const));
    return new Map(entries);
  })().catch((error: unknown) => {
    files = undefined;
    throw error;
  });
  return files;
}

const extension = (name: string): string => name.slice(name.lastIndexOf('.') + 1);

async function builtFile(name: string): Promise<Representation> {
  const found = (await loadFiles(process.env)).get(name);
  if (!found) throw notFound(name === 'index.html' ? 'The console (run `npm run build:console`)' : `Console file "${name}"`);
  return found;
}

async function servePage(request: HttpRequest, config: ConsoleConfig): Promise<HttpResponseInit> {
  const url = new URL(request.url);
  if (!url.pathname.endsWith('/')) return { status: 308, headers: { Location: `${url.pathname}/${url.search}` } };
  return serveRepresentation(request, await builtFile('index.html'), pageHeaders(config));
}

export const consoleOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'getConsole', method: 'GET', route: 'console', anonymous: true }, async ({ request, services }) => servePage(request, services.console)),
  defineOperation(services, { operationId: 'getConsoleConfig', method: 'GET', route: 'console/config.json', anonymous: true }, async ({ request, services }) =>
    serveRepresentation(request, represent(new TextEncoder().encode(JSON.stringify(services.console)), CONTENT_TYPES.json!), { ...ASSET_HEADERS, 'Cache-Control': 'no-cache' }),
  ),
  defineOperation(services, { operationId: 'getConsoleAsset', method: 'GET', route: 'console/{asset}', anonymous: true }, async ({ request }) => {
    const name = pathParam(request, 'asset');
    if (!ASSET_NAME.test(name) || name === 'index.html') throw notFound(`Console file "${name}"`);
    return serveRepresentation(request, await builtFile(name), ASSET_HEADERS);
  }),
];
