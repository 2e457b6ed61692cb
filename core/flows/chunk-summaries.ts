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
}

export const CHUNK_MAX_ITEMS = 500;
export const CHUNK_MAX_BYTES = 256 * 1024;

export function chunkSummaries<T>(summaries: readonly T[], maxItems = CHUNK_MAX_ITEMS, maxBytes = CHUNK_MAX_BYTES): SummaryChunk<T>[] {
  const chunks: SummaryChunk<T>[] = [];
  let current: SummaryChunk<T> | undefined;
  let bytes = 0;
  summaries.forEach((summary, position) => {
    const size = JSON.stringify(summary).length + 1;
    if (!current || current.items.length >= maxItems || (bytes + size > maxBytes && current.items.length > 0)) {
      current = { index: chunks.length, first: position, items: [] };
      chunks.push(current);
      bytes = 0;
    }
    current.items.push(summary);
    bytes += size;
  });
  return chunks;
}
