/**
 * Maps JSON pointers in a converted fleet NetworkPolicy back to the source document.
 * Contract: the entry whose `fleet` pointer is the longest token-wise prefix of the pointer wins;
 * with `keepSuffix` the remaining tokens are appended to `source` (the field names match),
 * otherwise the error points at `source` itself. Pointers no entry covers are returned unchanged.
 */
import { splitPointer, appendPointer } from '../../json/json-pointer.js';

export interface PointerMapEntry {
  fleet: string;
  source: string;
  keepSuffix: boolean;
}

export function mapPointerToSource(pointer: string, entries: readonly PointerMapEntry[]): string {
  const tokens = splitPointer(pointer);
  let best: { entry: PointerMapEntry; length: number } | undefined;
  for (const entry of entries) {
    const prefix = splitPointer(entry.fleet);
    if (prefix.length > tokens.length || !prefix.every((t, i) => tokens[i] === t)) continue;
    if (!best || prefix.length > best.length) best = { entry, length: prefix.length };
  }
  if (!best) return pointer;
  return best.entry.keepSuffix ? appendPointer(best.entry.source, ...tokens.slice(best.length)) : best.entry.source;
}
