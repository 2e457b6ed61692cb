/**
 * The fleet console (console/, built by `npm run build:console` into dist/console): static files served
 * anonymously like the contract and its reference page. Every data call the console makes goes to the API's
 * own operations with the user's bearer token — nothing here reads the store or grants anything.
 *
 * - getConsole (`console`, `console/`): the page; without the trailing slash a 308 to it, so the page's
 *   relative URLs (`app.js`, `config.json`, the API one level up) resolve under the route prefix.
 * - getConsoleConfig (`console/config.json`): how the console signs in — `entra` (MSAL, with the console's
 *   app registration FLEETNET_CONSOLE_CLIENT_ID, the authority of FLEETNET_AUTH_ISSUER and the API's
 *   scope `<FLEETNET_AUTH_AUDIENCE>/.default`) when both are configured, else `token` (paste a token).
 * - getConsoleAsset (`console/{asset}`): a built file by name (names as the build writes them; anything
 *   else 404). A missing build is a 404 naming the build command.
 * Files are read once per process. Headers: CSP (scripts and styles from this origin, API calls to this
 * origin and Entra), no framing, nosniff.
 */
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { AUTH_ENV } from '../auth/auth-config.js';
import { notFound } from '../http/api-error.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { pathParam } from '../http/request-parts.js';
import { represent, serveRepresentation, type Representation } from './openapi-document.js';

export const CONSOLE_ENV = {
  /** The console's own (SPA) app registration in Entra ID; with FLEETNET_AUTH_ISSUER it signs users in. */
  clientId: 'FLEETNET_CONSOLE_CLIENT_ID',
  /** Where the built console is (default: dist/console beside the code). */
  dir: 'FLEETNET_CONSOLE_DIR',
} as const;

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
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' https://login.microsoftonline.com; font-src 'self'; frame-src https://login.microsoftonline.com; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};
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

export function consoleConfig(env: NodeJS.ProcessEnv): { auth: 'token' | 'entra'; clientId?: string; authority?: string; scopes?: string[] } {
  const clientId = env[CONSOLE_ENV.clientId]?.trim();
  const issuer = env[AUTH_ENV.issuer]?.trim();
  const audience = env[AUTH_ENV.audience]?.trim();
  if (!clientId || !issuer || !audience) return { auth: 'token' };
  return { auth: 'entra', clientId, authority: issuer.replace(/\/v2\.0\/?$/, ''), scopes: [`${audience.replace(/\/$/, '')}/.default`] };
}

async function servePage(request: HttpRequest): Promise<HttpResponseInit> {
  const url = new URL(request.url);
  if (!url.pathname.endsWith('/')) return { status: 308, headers: { Location: `${url.pathname}/${url.search}` } };
  return serveRepresentation(request, await builtFile('index.html'), PAGE_HEADERS);
}

export const consoleOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'getConsole', method: 'GET', route: 'console', anonymous: true }, async ({ request }) => servePage(request)),
  defineOperation(services, { operationId: 'getConsoleConfig', method: 'GET', route: 'console/config.json', anonymous: true }, async ({ request }) =>
    serveRepresentation(request, represent(new TextEncoder().encode(JSON.stringify(consoleConfig(process.env))), CONTENT_TYPES.json!), { ...ASSET_HEADERS, 'Cache-Control': 'no-cache' }),
  ),
  defineOperation(services, { operationId: 'getConsoleAsset', method: 'GET', route: 'console/{asset}', anonymous: true }, async ({ request }) => {
    const name = pathParam(request, 'asset');
    if (!ASSET_NAME.test(name) || name === 'index.html') throw notFound(`Console file "${name}"`);
    return serveRepresentation(request, await builtFile(name), ASSET_HEADERS);
  }),
];
