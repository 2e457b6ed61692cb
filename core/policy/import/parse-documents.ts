/**
 * Splits an import body into documents.
 *
 * Contracts:
 * - YAML: every `---` document (YAML 1.2 core schema, duplicate keys are an error as in Kubernetes'
 *   strict decoding); empty documents (e.g. a trailing `---`) are skipped but still count for numbering.
 * - JSON: one document.
 * - In either format a Kubernetes list (`kind: List` or any `*List` kind with an `items` array) is
 *   flattened: each item becomes a document of its own. So is a document that is an array (what
 *   `cilium policy import` reads: a JSON array of rules); an empty array is a parse error (`the array
 *   holds no rules`), as an array of rules that imports nothing is almost certainly a mistake.
 * - `index` numbers documents in body order (list items take consecutive numbers); a document that
 *   does not parse yields `parseError` instead of `value`.
 * - Nesting is limited as for every JSON body (MAX_JSON_DEPTH, json-depth.ts), per document (a list item
 *   is its own document): a deeper document yields `parseError` and one `errors` entry (rule `maxDepth`)
 *   pointing at the first value too deep, relative to the document. A YAML document so deep that the
 *   parser itself runs out of stack is reported the same way, with the pointer '' (the parser gives no position).
 */
import { parseAllDocuments } from 'yaml';
import type { FieldError } from '../../../openapi/types.js';
import { findTooDeep, MAX_JSON_DEPTH, tooDeepMessage } from '../../json/json-depth.js';
import { isPlainObject } from '../../json/plain-object.js';

export interface SourceDocument {
  index: number;
  value?: unknown;
  parseError?: string;
  errors?: FieldError[];
}

const TOO_DEEP = `nested deeper than ${MAX_JSON_DEPTH} levels`;
const isStackOverflow = (error: unknown): boolean => error instanceof RangeError || (error instanceof Error && /call stack/i.test(error.message));

function tooDeep(index: number, pointer: string): SourceDocument {
  return { index, parseError: TOO_DEEP, errors: [{ pointer, message: tooDeepMessage(), rule: 'maxDepth' }] };
}

export function splitImportDocuments(text: string, contentType: 'yaml' | 'json'): SourceDocument[] {
  const raw: Array<{ value?: unknown; parseError?: string; tooDeep?: true } | undefined> = [];
  if (contentType === 'json') {
    try {
      raw.push({ value: JSON.parse(text) as unknown });
    } catch (e) {
      raw.push({ parseError: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` });
    }
  } else {
    for (const doc of parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false })) {
      if (doc.errors.some(isStackOverflow)) {
        raw.push({ parseError: TOO_DEEP, tooDeep: true });
        continue;
      }
      if (doc.errors.length > 0) {
        raw.push({ parseError: `invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}` });
        continue;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (error) {
        if (!isStackOverflow(error)) throw error;
        raw.push({ parseError: TOO_DEEP, tooDeep: true });
        continue;
      }
      raw.push(value === null || value === undefined ? undefined : { value });
    }
  }
  const out: SourceDocument[] = [];
  let index = 0;
  for (const entry of raw) {
    if (entry === undefined) {
      index++;
      continue;
    }
    const value = entry.value;
    if (Array.isArray(value)) {
      if (value.length === 0) out.push({ index: index++, parseError: 'the array holds no rules' });
      for (const item of value as unknown[]) out.push(checkDepth(index++, item));
      continue;
    }
    if (isPlainObject(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
      for (const item of value.items as unknown[]) out.push(checkDepth(index++, item));
      continue;
    }
    if (entry.tooDeep) out.push(tooDeep(index++, ''));
    else out.push(entry.parseError !== undefined ? { index: index++, parseError: entry.parseError } : checkDepth(index++, value));
  }
  return out;
}

function checkDepth(index: number, value: unknown): SourceDocument {
  const pointer = findTooDeep(value);
  return pointer === undefined ? { index, value } : tooDeep(index, pointer);
}
