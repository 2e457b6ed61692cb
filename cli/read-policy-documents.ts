/**
 * Splits a policy file (YAML, several `---` documents, or JSON) into documents, strictly (pure).
 *
 * Contracts:
 * - Any YAML/JSON syntax error (duplicate keys included, as in Kubernetes' strict decoding) fails the
 *   whole file with a CliError (EXIT.INVALID) naming `<file>:<line>:<column>` (1-based) and the
 *   document; nothing of the file may be sent.
 * - `position` is the document's place in the file, 1-based, counting every document the YAML parser
 *   sees, empty ones included; empty documents (only comments or whitespace) are skipped.
 * - A file with no non-empty document is a CliError (EXIT.INVALID).
 * - `source` is the document's text as written (sliced from the file), so it can be sent unchanged.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import { CliError, EXIT } from './exit-codes.js';

export interface PolicyDocument {
  position: number;
  value: unknown;
  source: string;
}

export function readPolicyDocuments(text: string, fileName: string): PolicyDocument[] {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const documents = Array.isArray(parsed) ? parsed : [];
  const problems: string[] = [];
  for (const [i, doc] of documents.entries()) {
    for (const error of doc.errors) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      problems.push(`${fileName}:${line}:${col}: document ${i + 1}: ${error.message.split('\n')[0]}`);
    }
  }
  // an EmptyStream (no document at all) can still carry errors, e.g. a stray directive
  if (!Array.isArray(parsed) || documents.length === 0) {
    for (const error of (parsed as { errors?: Array<{ pos: [number, number]; message: string }> }).errors ?? []) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      problems.push(`${fileName}:${line}:${col}: ${error.message.split('\n')[0]}`);
    }
  }
  if (problems.length > 0) throw new CliError(`syntax error, nothing was sent:\n${problems.map((p) => `  ${p}`).join('\n')}`, EXIT.INVALID);
  const out: PolicyDocument[] = [];
  for (const [i, doc] of documents.entries()) {
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const [start, , end] = doc.range;
    out.push({ position: i + 1, value, source: text.slice(start, end) });
  }
  if (out.length === 0) throw new CliError(`${fileName}: no documents (the file is empty or holds only comments)`, EXIT.INVALID);
  return out;
}
