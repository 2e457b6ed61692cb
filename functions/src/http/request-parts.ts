import type { HttpRequest } from '@azure/functions';
import type { Preconditions } from '../domain/put-resource.js';
import { createSchemaValidator, type SchemaName } from '../../../core/schema/compile-schema-validator.js';
import { validationFailed } from './api-error.js';
import { readJsonBody } from './read-body.js';

export function preconditionsOf(request: HttpRequest): Preconditions {
  return { ifMatch: request.headers.get('if-match'), ifNoneMatch: request.headers.get('if-none-match') };
}

/** readValidBody for an optional body: none (no stream, or Content-Length 0) reads as `{}`. */
export async function readOptionalBody<T>(request: HttpRequest, schemaName: SchemaName): Promise<T> {
  if (request.body === null || request.headers.get('content-length') === '0') return {} as T;
  return readValidBody<T>(request, schemaName);
}

/**
 * The absolute URL of another resource of this API, under the route prefix this request came through:
 * the part of the path `routeTail` matches is replaced by `path` (query dropped). E.g. an operation's URL
 * for its Operation-Location header.
 */
export function siblingUrl(request: HttpRequest, routeTail: RegExp, path: string): string {
  const url = new URL(request.url);
  url.pathname = `${url.pathname.replace(routeTail, '')}${path}`;
  url.search = '';
  return url.toString();
}

/**
 * Reads a JSON body and validates it against a schema of openapi.yaml (compiled by ajv from the spec
 * itself). Any violation is a 400 ValidationFailed listing every error with its JSON pointer.
 */
export async function readValidBody<T>(request: HttpRequest, schemaName: SchemaName, maxBytes?: number): Promise<T> {
  const body = await readJsonBody(request, maxBytes);
  const errors = createSchemaValidator(schemaName)(body);
  if (errors.length > 0) throw validationFailed(errors);
  return body as T;
}

/** A path parameter the route template guarantees, checked against its schema (400 pointing at `/path/<name>`). */
export function pathParam(request: HttpRequest, name: string, schemaName?: SchemaName): string {
  const value = request.params[name];
  if (value === undefined) throw new Error(`route has no parameter "${name}"`);
  const errors = schemaName ? createSchemaValidator(schemaName)(value, `/path/${name}`) : [];
  if (errors.length > 0) throw validationFailed(errors, `The path parameter "${name}" is invalid.`);
  return value;
}

/** A path parameter that must be an integer ≥ 1 (e.g. a generation); 400 pointing at `/path/<name>` otherwise. */
export function positiveIntegerParam(request: HttpRequest, name: string): number {
  const raw = pathParam(request, name);
  const value = Number(raw);
  if (!/^\d{1,15}$/.test(raw) || value < 1) throw validationFailed([{ pointer: `/path/${name}`, message: 'must be an integer ≥ 1', rule: 'minimum' }]);
  return value;
}

/** An integer query parameter from `min` to `max`: absent → `fallback`; else a 400 pointing at `/query/<name>`. */
export function integerQueryParam(request: HttpRequest, name: string, fallback: number, min: number, max: number): number {
  const raw = request.query.get(name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw validationFailed([{ pointer: `/query/${name}`, message: `must be an integer from ${min} to ${max}`, rule: 'range' }], 'The query parameters are invalid.');
  }
  return Number(raw);
}

/** A boolean query parameter: absent → false; `true`/`false` only, else a 400 pointing at `/query/<name>`. */
export function booleanQueryParam(request: HttpRequest, name: string): boolean {
  const text = request.query.get(name);
  if (text === null || text === 'false') return false;
  if (text === 'true') return true;
  throw validationFailed([{ pointer: `/query/${name}`, message: 'must be true or false', rule: 'type' }], 'The query parameters are invalid.');
}
