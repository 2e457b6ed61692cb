import { importHubbleFlows } from '../../../core/flows/hubble-import.js';
import type { EncodedIngestBatch } from '../domain/flows.js';
import { encodeSummaryChunks } from '../store/flow-chunk-codec.js';

/** A Hubble export turned into storable batches, with what was read and skipped (plain data). */
export interface DecodedHubbleImport {
  lines: number;
  imported: number;
  skipped: Array<{ line: number; reason: string }>;
  batches: Array<{ node: string; batch: EncodedIngestBatch }>;
}

/**
 * The CPU-bound part of a Hubble import (up to 64 MiB of JSON lines), as one synchronous function so it
 * runs on a decoder thread: UTF-8 decoding, importHubbleFlows (parsing, grouping into summaries and
 * batches) and chunking and compressing each batch. Never rejects: unreadable lines are `skipped`.
 */
export function decodeHubbleImport(bytes: Uint8Array, clusterId: string, windowSeconds: number): DecodedHubbleImport {
  const parsed = importHubbleFlows(new TextDecoder('utf-8', { fatal: false }).decode(bytes), clusterId, windowSeconds);
  return {
    lines: parsed.lines,
    imported: parsed.imported,
    skipped: parsed.skipped,
    batches: parsed.batches.map(({ node, summaries, ...header }) => ({ node, batch: { ...header, summaryCount: summaries.length, chunks: encodeSummaryChunks(summaries) } })),
  };
}
