import { importHubbleFlows } from '../../../core/flows/hubble-import.js';
import type { EncodedIngestBatch } from '../domain/flows.js';
import { encodeSummaryChunks } from '../store/flow-chunk-codec.js';
import type { PlainApiError } from './decode-flow-batch.js';

/** A Hubble export turned into storable batches, with what was read and skipped (plain data). */
export interface DecodedHubbleImport {
  lines: number;
  imported: number;
  skipped: Array<{ line: number; reason: string }>;
  batches: Array<{ node: string; batch: EncodedIngestBatch }>;
}

/** The outcome of decoding an import body: storable batches, or why the whole import is rejected. */
export type DecodedHubbleResult = { ok: true; decoded: DecodedHubbleImport } | { ok: false; error: PlainApiError };

/**
 * The CPU-bound part of a Hubble import (up to 64 MiB of JSON lines), as one synchronous function so it
 * runs on a decoder thread: UTF-8 decoding, importHubbleFlows (parsing, grouping into summaries and
 * batches) and chunking and compressing each batch. Lines that are not flows are `skipped`; flow lines
 * whose values break FlowSummary (or whose node is not a ResourceName) reject the whole import as a 400
 * ValidationFailed, so nothing is stored. Returns plain data only.
 */
export function decodeHubbleImport(bytes: Uint8Array, clusterId: string, windowSeconds: number): DecodedHubbleResult {
  const parsed = importHubbleFlows(new TextDecoder('utf-8', { fatal: false }).decode(bytes), clusterId, windowSeconds);
  if (parsed.invalidLines > 0) {
    const message = `${parsed.invalidLines} flow line(s) break the FlowSummary contract agent batches are held to; nothing was stored.`;
    return { ok: false, error: { status: 400, code: 'ValidationFailed', message, errors: parsed.errors } };
  }
  return {
    ok: true,
    decoded: {
      lines: parsed.lines,
      imported: parsed.imported,
      skipped: parsed.skipped,
      batches: parsed.batches.map(({ node, summaries, ...header }) => ({ node, batch: { ...header, summaryCount: summaries.length, chunks: encodeSummaryChunks(summaries) } })),
    },
  };
}
