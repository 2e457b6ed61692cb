/**
 * Request-body validation compiled from the contract (openapi/openapi.yaml), shared by the HTTP edge
 * and the importer.
 *
 * Contracts:
 * - The OpenAPI document is read and parsed once per process (lazily, on first use); one Ajv instance
 *   (JSON Schema 2020-12, `allErrors: true`, ajv-formats) holds it and each named schema is compiled once.
 * - Ajv stays in strict mode; the only relaxations are the OpenAPI-only keywords registered as
 *   annotations (`components` as the document root container, `example`, `discriminator`, `xml`,
 *   `externalDocs`) and `strictTypes: false` (OpenAPI schemas rely on `allOf` without repeating `type`).
 * - Each error becomes a FieldError whose pointer is `base` + ajv's instancePath, plus `/<prop>` for
 *   `additionalProperties`, `unevaluatedProperties` and `required` errors so it names the offending
 *   or missing field. `rule` is the JSON Schema keyword that failed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPluginModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import type { components, FieldError } from '../../openapi/types.js';
import { appendPointer } from '../json/json-pointer.js';

const DOCUMENT_ID = 'https://fleetnet.io/openapi.json';

/** Names of the schemas under `#/components/schemas` of the contract. */
export type SchemaName = keyof components['schemas'] & string;

export type SchemaValidator = (value: unknown, basePointer?: string) => FieldError[];

export interface SchemaValidatorOptions {
  /** The parsed OpenAPI document; defaults to openapi/openapi.yaml found above this module. */
  document?: unknown;
}

let sharedAjv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

/** Locates openapi/openapi.yaml by walking up from this module (works from sources and from dist/). */
export function findOpenApiDocumentPath(start = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'openapi', 'openapi.yaml');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`openapi/openapi.yaml not found above ${start}`);
    dir = parent;
  }
}

function createAjv(document: unknown): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
  const addFormats = ((formatsPluginModule as unknown as { default?: unknown }).default ??
    formatsPluginModule) as unknown as (a: Ajv2020) => void;
  addFormats(ajv);
  for (const keyword of ['components', 'example', 'discriminator', 'xml', 'externalDocs']) {
    ajv.addKeyword({ keyword });
  }
  const components = (document as { components?: unknown }).components;
  if (typeof components !== 'object' || components === null) {
    throw new Error('OpenAPI document has no components');
  }
  ajv.addSchema({ $id: DOCUMENT_ID, components });
  return ajv;
}

function getAjv(options: SchemaValidatorOptions): Ajv2020 {
  if (options.document !== undefined) return createAjv(options.document);
  sharedAjv ??= createAjv(parseYaml(readFileSync(findOpenApiDocumentPath(), 'utf8')));
  return sharedAjv;
}

/** Returns a validator for `#/components/schemas/<schemaName>`; throws if the schema does not exist. */
export function createSchemaValidator(schemaName: SchemaName, options: SchemaValidatorOptions = {}): SchemaValidator {
  const ref = `${DOCUMENT_ID}#/components/schemas/${schemaName}`;
  let validate = options.document === undefined ? compiled.get(schemaName) : undefined;
  if (!validate) {
    const ajv = getAjv(options);
    validate = ajv.getSchema(ref);
    if (!validate) throw new Error(`schema ${schemaName} not found in the OpenAPI document`);
    if (options.document === undefined) compiled.set(schemaName, validate);
  }
  const fn = validate;
  return (value, basePointer = '') => {
    if (fn(value)) return [];
    return (fn.errors ?? []).map((e) => toFieldError(e, basePointer));
  };
}

function toFieldError(error: ErrorObject, basePointer: string): FieldError {
  let pointer = basePointer + error.instancePath;
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? 'is invalid';
  switch (error.keyword) {
    case 'additionalProperties':
      pointer = appendPointer(pointer, String(params.additionalProperty));
      message = 'unknown field';
      break;
    case 'unevaluatedProperties':
      pointer = appendPointer(pointer, String(params.unevaluatedProperty));
      message = 'unknown field';
      break;
    case 'required':
      pointer = appendPointer(pointer, String(params.missingProperty));
      message = 'is required';
      break;
    case 'enum':
      message = `must be one of ${JSON.stringify(params.allowedValues)}`;
      break;
    case 'const':
      message = `must be ${JSON.stringify(params.allowedValue)}`;
      break;
    default:
      break;
  }
  return { pointer, message, rule: error.keyword };
}
