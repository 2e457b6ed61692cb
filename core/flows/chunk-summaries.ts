/**
 * Splits a batch's summaries into storage chunks (the Cosmos "bucket pattern": many small records per
 * document, far fewer documents and request units than one document per summary).
 *
 * Contract: deterministic — the same summaries always give the same chunks, so chunk ids
 * (`<batchId>.<chunk index>`) identify the same summaries on every retry. A chunk holds at most
 * `maxItems` summaries and at most `maxBytes` of JSON (a single larger summary gets a chunk of its own).
 */
export interface SummaryChunk<T> {
  index: number;
  /** Position of the chunk's first summary in the batch. */
  first: number;
  items: T[];
  /** `JSON.stringify(items)`, computed while sizing (storage compresses it without serialising again). */
  json: string;
}

export const CHUNK_MAX_ITEMS = 500;
export const CHUNK_MAX_BYTES = 256 * 1024;

export function chunkSummaries<T>(summaries: readonly T[], maxItems = CHUNK_MAX_ITEMS, maxBytes = CHUNK_MAX_BYTES): SummaryChunk<T>[] {
  const chunks: SummaryChunk<T>[] = [];
  const texts: string[][] = [];
  let current: SummaryChunk<T> | undefined;
  let bytes = 0;
  summaries.forEach((summary, position) => {
    const text = JSON.stringify(summary);
    const size = text.length + 1;
    if (!current || current.items.length >= maxItems || (bytes + size > maxBytes && current.items.length > 0)) {
      current = { index: chunks.length, first: position, items: [], json: '' };
      chunks.push(current);
      texts.push([]);
      bytes = 0;
    }
    current.items.push(summary);
    texts.at(-1)!.push(text);
    bytes += size;
  });
  chunks.forEach((chunk, i) => (chunk.json = `[${texts[i]!.join(',')}]`));
  return chunks;
}
