/**
 * Splits a batch's summaries into storage chunks (the Cosmos "bucket pattern": many small records per
 * document, far fewer documents and request units than one document per summary).
 *
 * Contract: deterministic — boundaries depend only on the summaries' compact JSON sizes, so chunk ids
 * (`<batchId>.<chunk index>`) identify the same summaries on every retry, whether the chunks are cut from
 * parsed objects (chunkSummaries) or from the JSON text the agent sent (chunkJsonSpans). A chunk holds
 * at most `maxItems` summaries and at most `maxBytes` of JSON (a single larger summary gets a chunk of its own).
 */
import type { ElementSpan } from '../json/array-element-spans.js';

export interface ChunkBounds {
  index: number;
  /** Position of the chunk's first summary in the batch. */
  first: number;
  count: number;
}

export interface SummaryChunk<T> extends ChunkBounds {
  items: T[];
  /** The chunk's summaries as a JSON array (storage compresses it without serialising again). */
  json: string;
}

export const CHUNK_MAX_ITEMS = 500;
export const CHUNK_MAX_BYTES = 256 * 1024;

/** Chunk boundaries for items of the given JSON sizes (each counted with one separator byte). */
export function chunkBounds(sizes: readonly number[], maxItems = CHUNK_MAX_ITEMS, maxBytes = CHUNK_MAX_BYTES): ChunkBounds[] {
  const chunks: ChunkBounds[] = [];
  let current: ChunkBounds | undefined;
  let bytes = 0;
  sizes.forEach((length, position) => {
    const size = length + 1;
    if (!current || current.count >= maxItems || (bytes + size > maxBytes && current.count > 0)) {
      current = { index: chunks.length, first: position, count: 0 };
      chunks.push(current);
      bytes = 0;
    }
    current.count++;
    bytes += size;
  });
  return chunks;
}

/** Chunks of parsed summaries, each serialised once. */
export function chunkSummaries<T>(summaries: readonly T[], maxItems = CHUNK_MAX_ITEMS, maxBytes = CHUNK_MAX_BYTES): SummaryChunk<T>[] {
  const texts = summaries.map((summary) => JSON.stringify(summary));
  return chunkBounds(texts.map((text) => text.length), maxItems, maxBytes).map((bounds) => ({
    ...bounds,
    items: summaries.slice(bounds.first, bounds.first + bounds.count),
    json: `[${texts.slice(bounds.first, bounds.first + bounds.count).join(',')}]`,
  }));
}

/**
 * Chunks of summaries that sit in a JSON text at `spans` (arrayElementSpans): each chunk's summaries are
 * the text from `start` to `end` — one slice, as the sender wrote them, with no parsing or serialising.
 */
export function chunkJsonSpans(spans: readonly ElementSpan[], maxItems = CHUNK_MAX_ITEMS, maxBytes = CHUNK_MAX_BYTES): Array<ChunkBounds & { start: number; end: number }> {
  return chunkBounds(spans.map((span) => span.compactLength), maxItems, maxBytes).map((bounds) => ({
    ...bounds,
    start: spans[bounds.first]!.start,
    end: spans[bounds.first + bounds.count - 1]!.end,
  }));
}
