/**
 * Field-name matching of a bare Cilium rule the way Cilium's Go decoder (encoding/json) matches it,
 * against the property names of the contract's `Rule` schema (openapi/openapi.yaml, walked through
 * `$ref`, `allOf`, `items` and `properties`).
 *
 * Contracts:
 * - A key equal to a schema property name is kept; otherwise a key equal to one of them ignoring case
 *   (Unicode simple case folding, approximated by comparing lower- and upper-case forms) is renamed to
 *   that canonical name (`HTTP` → `http`, `ToPorts` → `toPorts`, `MatchLabels` → `matchLabels`).
 * - Only schema property names are touched. Keys of maps that hold user data (a schema with
 *   `additionalProperties` and no `properties`: `matchLabels` contents, `l7` records, `aws` groups)
 *   and every value (label keys and values, header strings, operators) are kept byte for byte.
 * - Keys matching no property stay as they are, so schema validation still reports them as unknown.
 * - Two keys of one object that mean the same field (`http` and `HTTP`) are an error (`duplicate-field`,
 *   pointing at the later key as written): Go would silently let the later one win; Kubernetes' strict
 *   decoding rejects duplicates.
 * - `renames` maps each canonical pointer (relative to the rule) whose last token was renamed to the
 *   key as written, so errors can point at the source (see toSourcePointer).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { FieldError } from '../../../openapi/types.js';
import { appendPointer, splitPointer } from '../../json/json-pointer.js';
import { isPlainObject } from '../../json/plain-object.js';
import { findOpenApiDocumentPath } from '../../schema/compile-schema-validator.js';

/** What the walk knows about one schema node. */
interface SchemaShape {
  /** Canonical property name → its schema (empty when the node declares no properties). */
  properties: Map<string, unknown>;
  /** Schema of the values of a user-data map (`additionalProperties` as a schema), if any. */
  mapValues?: unknown;
  /** Schema of array items, if any. */
  items?: unknown;
}

export interface NormalizedRule {
  value: unknown;
  renames: Map<string, string>;
  errors: FieldError[];
}

let sharedDocument: unknown;

function loadDocument(): unknown {
  sharedDocument ??= parseYaml(readFileSync(findOpenApiDocumentPath(), 'utf8'));
  return sharedDocument;
}

function resolveRef(document: unknown, schema: unknown): unknown {
  let current = schema;
  for (let hops = 0; isPlainObject(current) && typeof current.$ref === 'string' && hops < 32; hops++) {
    const ref = current.$ref;
    if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
    let target: unknown = document;
    for (const token of splitPointer(ref.slice(1))) target = isPlainObject(target) ? target[token] : undefined;
    if (target === undefined) throw new Error(`$ref ${ref} not found in the OpenAPI document`);
    current = target;
  }
  return current;
}

function describeShape(document: unknown, schema: unknown, cache: Map<unknown, SchemaShape>): SchemaShape {
  const cached = cache.get(schema);
  if (cached) return cached;
  const shape: SchemaShape = { properties: new Map() };
  cache.set(schema, shape);
  const visit = (node: unknown): void => {
    const resolved = resolveRef(document, node);
    if (!isPlainObject(resolved)) return;
    if (isPlainObject(resolved.properties)) {
      for (const [name, child] of Object.entries(resolved.properties)) if (!shape.properties.has(name)) shape.properties.set(name, child);
    }
    if (isPlainObject(resolved.additionalProperties) && shape.mapValues === undefined) shape.mapValues = resolved.additionalProperties;
    if (resolved.items !== undefined && shape.items === undefined) shape.items = resolved.items;
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
      const list = resolved[key];
      if (Array.isArray(list)) list.forEach(visit);
    }
  };
  visit(schema);
  return shape;
}

const foldsEqual = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase() || a.toUpperCase() === b.toUpperCase();

function matchProperty(key: string, properties: Map<string, unknown>): string | undefined {
  if (properties.has(key)) return key;
  for (const name of properties.keys()) if (foldsEqual(key, name)) return name;
  return undefined;
}

export interface RuleKeyNormalizerOptions {
  /** The parsed OpenAPI document; defaults to openapi/openapi.yaml found above this module. */
  document?: unknown;
  /** Schema under `#/components/schemas`; default `Rule`. */
  schemaName?: string;
}

/** Returns a function that normalizes the keys of one rule (pure; the input is not modified). */
export function createRuleKeyNormalizer(options: RuleKeyNormalizerOptions = {}): (rule: unknown) => NormalizedRule {
  const document = options.document ?? loadDocument();
  const root = { $ref: `#/components/schemas/${options.schemaName ?? 'Rule'}` };
  resolveRef(document, root);
  const cache = new Map<unknown, SchemaShape>();

  return (rule) => {
    const renames = new Map<string, string>();
    const errors: FieldError[] = [];
    const walk = (value: unknown, schema: unknown, pointer: string, written: string): unknown => {
      if (schema === undefined) return value;
      const shape = describeShape(document, schema, cache);
      if (Array.isArray(value)) return shape.items === undefined ? value : value.map((item, i) => walk(item, shape.items, appendPointer(pointer, i), appendPointer(written, i)));
      if (!isPlainObject(value)) return value;
      if (shape.properties.size === 0) {
        if (shape.mapValues === undefined) return value;
        const out: Record<string, unknown> = {};
        for (const [key, item] of Object.entries(value)) out[key] = walk(item, shape.mapValues, appendPointer(pointer, key), appendPointer(written, key));
        return out;
      }
      const out: Record<string, unknown> = {};
      const writtenAs = new Map<string, string>();
      for (const [key, item] of Object.entries(value)) {
        const canonical = matchProperty(key, shape.properties) ?? key;
        const earlier = writtenAs.get(canonical);
        if (earlier !== undefined) {
          errors.push({ pointer: appendPointer(written, key), message: `duplicate field: "${earlier}" and "${key}" both mean "${canonical}"`, rule: 'duplicate-field' });
          continue;
        }
        writtenAs.set(canonical, key);
        const childPointer = appendPointer(pointer, canonical);
        if (canonical !== key) renames.set(childPointer, key);
        out[canonical] = walk(item, shape.properties.get(canonical), childPointer, appendPointer(written, key));
      }
      return out;
    };
    const value = walk(rule, root, '', '');
    return { value, renames, errors };
  };
}

/** Maps a pointer into the normalized rule back to the keys as written (`/ingress/0/toPorts` → `/Ingress/0/ToPorts`). */
export function toSourcePointer(pointer: string, renames: ReadonlyMap<string, string>): string {
  let canonical = '';
  let source = '';
  for (const token of splitPointer(pointer)) {
    canonical = appendPointer(canonical, token);
    source = appendPointer(source, renames.get(canonical) ?? token);
  }
  return source;
}
