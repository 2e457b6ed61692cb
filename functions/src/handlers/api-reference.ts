import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';
import { represent, serveRepresentation, type Representation } from './openapi-document.js';

/**
 * Redoc's standalone bundle (the `redoc` dependency, pinned): one self-contained script that renders the
 * `<redoc spec-url>` element it finds once loaded. Served by the API itself so the page needs no CDN.
 */
const RENDERER_SCRIPT = 'redoc/bundles/redoc.standalone.js';
/** The third-party notices the bundle's header points at (`For license information please see …`). */
const RENDERER_LICENSE = 'redoc/bundles/redoc.standalone.js.LICENSE.txt';

/**
 * URLs are relative to the page (`<prefix>/reference`), so the page works under any route prefix and host:
 * `openapi.json` is getOpenApiJson, `reference/redoc.standalone.js` is getApiReferenceScript.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fleetnet control-plane API reference</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="openapi.json"></redoc>
<script src="reference/redoc.standalone.js"></script>
</body>
</html>
`;

/**
 * Scripts and the contract come from this origin only through the page's own markup; the headers keep the
 * page from being framed or sniffed as something else. (No script-src: the bundle compiles code at run time.)
 */
const PAGE_HEADERS = {
  'Content-Security-Policy': "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'",
  'X-Content-Type-Options': 'nosniff',
};
const ASSET_HEADERS = { 'X-Content-Type-Options': 'nosniff' };

const page = represent(new TextEncoder().encode(PAGE), 'text/html; charset=utf-8');
const assets = new Map<string, Promise<Representation>>();

/** Reads a file of the renderer package once per process; a failed read is retried by the next request. */
function loadAsset(specifier: string, contentType: string): Promise<Representation> {
  let asset = assets.get(specifier);
  if (asset === undefined) {
    asset = readFile(createRequire(import.meta.url).resolve(specifier)).then(
      (file) => represent(new Uint8Array(file), contentType),
      (error: unknown) => {
        assets.delete(specifier);
        throw error;
      },
    );
    assets.set(specifier, asset);
  }
  return asset;
}

async function serveAsset(request: HttpRequest, specifier: string, contentType: string): Promise<HttpResponseInit> {
  return serveRepresentation(request, await loadAsset(specifier, contentType), ASSET_HEADERS);
}

/** The contract rendered for people, anonymous like the contract itself; works offline (no CDN). */
export const apiReferenceOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'getApiReference', method: 'GET', route: 'reference', anonymous: true }, async ({ request }) =>
    serveRepresentation(request, page, PAGE_HEADERS),
  ),
  defineOperation(
    services,
    { operationId: 'getApiReferenceScript', method: 'GET', route: 'reference/redoc.standalone.js', anonymous: true },
    async ({ request }) => serveAsset(request, RENDERER_SCRIPT, 'text/javascript; charset=utf-8'),
  ),
  defineOperation(
    services,
    { operationId: 'getApiReferenceScriptLicense', method: 'GET', route: 'reference/redoc.standalone.js.LICENSE.txt', anonymous: true },
    async ({ request }) => serveAsset(request, RENDERER_LICENSE, 'text/plain; charset=utf-8'),
  ),
];
