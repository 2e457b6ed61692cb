import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { parse as parseYaml } from 'yaml';
import { findOpenApiDocumentPath } from '../../../core/schema/compile-schema-validator.js';
import { formatEtag, ifNoneMatchHits } from '../http/etag.js';
import { defineOperation, type Operation, type ServicesProvider } from '../http/operation.js';

/** Public, shared caches may keep the contract for five minutes; a deploy changes it at most that late. */
const CACHE_CONTROL = 'public, max-age=300';

export interface Representation {
  bytes: Uint8Array;
  contentType: string;
  /** base64url SHA-256 of `bytes`: a strong validator, the same on every instance of one release. */
  version: string;
}

let representations: Promise<{ yaml: Representation; json: Representation }> | undefined;

/**
 * Reads openapi/openapi.yaml once per process (found as the request validator finds it: above the
 * module, from sources and from dist/) and renders it twice: the file's exact bytes as application/yaml,
 * and the parsed document as application/json. A failed read is retried by the next request.
 */
function loadRepresentations(): Promise<{ yaml: Representation; json: Representation }> {
  representations ??= readFile(findOpenApiDocumentPath()).then(
    (file) => {
      const yaml = new Uint8Array(file);
      const json = new TextEncoder().encode(JSON.stringify(parseYaml(file.toString('utf8'))));
      return { yaml: represent(yaml, 'application/yaml'), json: represent(json, 'application/json') };
    },
    (error: unknown) => {
      representations = undefined;
      throw error;
    },
  );
  return representations;
}

export function represent(bytes: Uint8Array, contentType: string): Representation {
  return { bytes, contentType, version: createHash('sha256').update(bytes).digest('base64url') };
}

/**
 * 200 with the bytes, or 304 when If-None-Match names this representation (weak comparison, `*` included).
 * `extraHeaders` go on both answers.
 */
export function serveRepresentation(request: HttpRequest, representation: Representation, extraHeaders: Record<string, string> = {}): HttpResponseInit {
  const headers = { ETag: formatEtag(representation.version), 'Cache-Control': CACHE_CONTROL, ...extraHeaders };
  const ifNoneMatch = request.headers.get('if-none-match');
  if (ifNoneMatch !== null && ifNoneMatchHits(ifNoneMatch, representation.version)) return { status: 304, headers };
  return { status: 200, headers: { ...headers, 'Content-Type': representation.contentType }, body: representation.bytes };
}

/** The API's own contract, anonymous like getHealth: portals and code generators fetch it without a token. */
export const openApiDocumentOperations = (services: ServicesProvider): Operation[] => [
  defineOperation(services, { operationId: 'getOpenApiYaml', method: 'GET', route: 'openapi.yaml', anonymous: true }, async ({ request }) =>
    serveRepresentation(request, (await loadRepresentations()).yaml),
  ),
  defineOperation(services, { operationId: 'getOpenApiJson', method: 'GET', route: 'openapi.json', anonymous: true }, async ({ request }) =>
    serveRepresentation(request, (await loadRepresentations()).json),
  ),
];
