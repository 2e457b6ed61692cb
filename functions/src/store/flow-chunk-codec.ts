import { promisify } from 'node:util';
import { deflateRawSync, inflateRaw, inflateRawSync, constants as zlibConstants } from 'node:zlib';
import type { FlowSummary } from '../../../openapi/types.js';
import { chunkJsonSpans, chunkSummaries, type ChunkBounds } from '../../../core/flows/chunk-summaries.js';
import type { ElementSpan } from '../../../core/json/array-element-spans.js';

/**
 * How a chunk's summaries are stored: the base64 of their raw-DEFLATEd JSON array (`z`), so a
 * 500-summary chunk of ~275 KB is stored (and billed, and transferred) as ~35–45 KB; nothing queries
 * inside summaries. Compression is synchronous on purpose: ingest runs it on decoder threads (ingest/),
 * off the event loop; decompression (queries) runs on libuv's pool.
 */

/** A batch's summaries as storable chunks: position, count and the compressed JSON. */
export interface EncodedSummaryChunk {
  index: number;
  /** Position of the chunk's first summary in the batch. */
  first: number;
  count: number;
  z: string;
}

export function compressSummariesJson(json: string | Uint8Array): string {
  return deflateRawSync(typeof json === 'string' ? Buffer.from(json) : json, { level: zlibConstants.Z_BEST_SPEED }).toString('base64');
}

const inflate = promisify(inflateRaw);

export async function decompressSummaries(z: string): Promise<FlowSummary[]> {
  return JSON.parse((await inflate(Buffer.from(z, 'base64'))).toString('utf8')) as FlowSummary[];
}

/** decompressSummaries on the calling thread (decoder threads, which have nothing else to do meanwhile). */
export function decompressSummariesSync(z: string): FlowSummary[] {
  return JSON.parse(inflateRawSync(Buffer.from(z, 'base64')).toString('utf8')) as FlowSummary[];
}

/** Parsed summaries chunked (chunkSummaries: deterministic boundaries, so chunk ids survive retries) and compressed. */
export function encodeSummaryChunks(summaries: readonly FlowSummary[]): EncodedSummaryChunk[] {
  return chunkSummaries(summaries).map(compressChunk);
}

/**
 * The same chunks cut straight from JSON text (chunkJsonSpans: no serialising), compressed. `bytes` is
 * the UTF-8 the text was decoded from: when every character took one byte (text and bytes equally long),
 * offsets agree and each chunk is compressed from a view of the bytes instead of being encoded again.
 */
export function encodeJsonSummaryChunks(text: string, spans: readonly ElementSpan[], bytes?: Uint8Array): EncodedSummaryChunk[] {
  const bytesAtTextOffsets = bytes?.length === text.length ? bytes : undefined;
  return chunkJsonSpans(spans).map(({ index, first, count, start, end }) => ({
    index,
    first,
    count,
    z: compressSummariesJson(bytesAtTextOffsets ? Buffer.concat([OPEN_ARRAY, bytesAtTextOffsets.subarray(start, end), CLOSE_ARRAY]) : `[${text.slice(start, end)}]`),
  }));
}

const OPEN_ARRAY = Buffer.from('[');
const CLOSE_ARRAY = Buffer.from(']');

const compressChunk = ({ index, first, count, json }: ChunkBounds & { json: string }): EncodedSummaryChunk => ({ index, first, count, z: compressSummariesJson(json) });
