/**
 * Splits an import body into documents.
 *
 * Contracts:
 * - YAML: every `---` document (YAML 1.2 core schema, duplicate keys are an error as in Kubernetes'
 *   strict decoding); empty documents (e.g. a trailing `---`) are skipped but still count for numbering.
 * - JSON: one document.
 * - In either format a Kubernetes list (`kind: List` or any `*List` kind with an `items` array) is
 *   flattened: each item becomes a document of its own.
 * - `index` numbers documents in body order (list items take consecutive numbers); a document that
 *   does not parse yields `parseError` instead of `value`.
 */
import { parseAllDocuments } from 'yaml';
import { isPlainObject } from '../../json/plain-object.js';

export interface SourceDocument {
  index: number;
  value?: unknown;
  parseError?: string;
}

export function splitImportDocuments(text: string, contentType: 'yaml' | 'json'): SourceDocument[] {
  const raw: Array<{ value?: unknown; parseError?: string } | undefined> = [];
  if (contentType === 'json') {
    try {
      raw.push({ value: JSON.parse(text) as unknown });
    } catch (e) {
      raw.push({ parseError: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` });
    }
  } else {
    for (const doc of parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false })) {
      if (doc.errors.length > 0) {
        raw.push({ parseError: `invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}` });
        continue;
      }
      const value: unknown = doc.toJS({ maxAliasCount: 100 });
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
    if (isPlainObject(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
      for (const item of value.items as unknown[]) out.push({ index: index++, value: item });
      continue;
    }
    out.push(entry.parseError !== undefined ? { index: index++, parseError: entry.parseError } : { index: index++, value });
  }
  return out;
}
