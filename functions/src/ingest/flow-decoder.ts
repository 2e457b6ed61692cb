import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { FlowGroupKey } from '../../../openapi/types.js';
import type { AggregationPart } from '../../../core/flows/aggregate-flows.js';
import type { ServiceGraphPart } from '../../../core/flows/service-graph.js';
import type { EncodedIngestBatch } from '../domain/flows.js';
import type { EncodedFlowChunk } from '../store/flow-store.js';
import { ApiError } from '../http/api-error.js';
import { decodeFlowBatch, type DecodedFlowBatch, type PlainApiError } from './decode-flow-batch.js';
import { decodeHubbleImport, type DecodedHubbleImport, type DecodedHubbleResult } from './decode-hubble-import.js';
import { aggregateFlowChunks, countFlowChunks, graphFlowChunks, replayFlowChunks, type FlowFilters } from './fold-flow-chunks.js';
import type { PackedReplayPart } from '../../../core/policy/replay/packed-replay-part.js';

/**
 * Decodes flow data on worker threads: agent batches (decode-flow-batch.ts), Hubble imports
 * (decode-hubble-import.ts) and, for whole-window queries, pages of stored chunks folded into partial
 * aggregations or graphs (fold-flow-chunks.ts). So a 5,000-summary body — tens of milliseconds of parsing,
 * validation and compression —, a 64 MiB import or a scan of a million summaries neither blocks the event
 * loop (desired-state polls keep their latency) nor leaves the instance's other cores idle.
 *
 * Contract: `decode` resolves to the storable batch or rejects with the ApiError the body deserves (400);
 * `decodeHubbleImport` reports lines that are not flows as skipped and rejects with a 400 ValidationFailed
 * when a flow line breaks FlowSummary. The bytes' buffer is
 * transferred to the thread (the caller must not use it afterwards). With `threads: 0` everything runs
 * inline on the calling thread.
 */
export interface FlowDecoder {
  decode(bytes: Uint8Array): Promise<EncodedIngestBatch>;
  decodeHubbleImport(bytes: Uint8Array, clusterId: string, windowSeconds: number): Promise<DecodedHubbleImport>;
  aggregateChunks(filters: FlowFilters, groupBy: FlowGroupKey[], chunks: EncodedFlowChunk[]): Promise<AggregationPart>;
  graphChunks(filters: FlowFilters, chunks: EncodedFlowChunk[]): Promise<ServiceGraphPart>;
  /** Replay's pass 1 over a page of chunks (core/policy/replay/replay-groups.ts). */
  replayChunks(filters: FlowFilters, chunks: EncodedFlowChunk[]): Promise<PackedReplayPart>;
  /** Decodes a page of chunks and counts the matching summaries (the scan replay is measured against). */
  countChunks(filters: FlowFilters, chunks: EncodedFlowChunk[]): Promise<number>;
  close(): Promise<void>;
}

/** Decoder threads by default: one per core the process may use. */
export const defaultDecoderThreads = (): number => availableParallelism();

export function createFlowDecoder(options: { threads: number }): FlowDecoder {
  if (options.threads <= 0) {
    return {
      decode: async (bytes) => unwrap(decodeFlowBatch(bytes)).batch,
      decodeHubbleImport: async (bytes, clusterId, windowSeconds) => unwrap(decodeHubbleImport(bytes, clusterId, windowSeconds)).decoded,
      aggregateChunks: async (filters, groupBy, chunks) => aggregateFlowChunks(filters, groupBy, chunks),
      graphChunks: async (filters, chunks) => graphFlowChunks(filters, chunks),
      replayChunks: async (filters, chunks) => replayFlowChunks(filters, chunks),
      countChunks: async (filters, chunks) => countFlowChunks(filters, chunks),
      close: async () => undefined,
    };
  }
  // Run from sources (tests, `npm start`), the worker is TypeScript: its thread loads tsx as this one did.
  const source = import.meta.url.endsWith('.ts');
  const pool = new Piscina({
    filename: new URL(`./flow-decoder.worker.${source ? 'ts' : 'js'}`, import.meta.url).href,
    minThreads: 0, // started on first use, so processes that never touch flows never pay for threads
    maxThreads: options.threads,
    idleTimeout: 60_000,
    ...(source && !process.execArgv.some((arg) => arg.includes('tsx')) ? { execArgv: [...process.execArgv, '--import', 'tsx'] } : {}),
  });
  return {
    decode: async (bytes) => {
      const owned = ownBuffer(bytes);
      return unwrap((await pool.run(owned, { transferList: [owned.buffer as ArrayBuffer] })) as DecodedFlowBatch).batch;
    },
    decodeHubbleImport: async (bytes, clusterId, windowSeconds) => {
      const owned = ownBuffer(bytes);
      return unwrap((await pool.run({ bytes: owned, clusterId, windowSeconds }, { name: 'hubbleImport', transferList: [owned.buffer as ArrayBuffer] })) as DecodedHubbleResult).decoded;
    },
    aggregateChunks: async (filters, groupBy, chunks) => (await pool.run({ filters, groupBy, chunks }, { name: 'aggregateChunks' })) as AggregationPart,
    graphChunks: async (filters, chunks) => (await pool.run({ filters, chunks }, { name: 'graphChunks' })) as ServiceGraphPart,
    replayChunks: async (filters, chunks) => (await pool.run({ filters, chunks }, { name: 'replayChunks' })) as PackedReplayPart,
    countChunks: async (filters, chunks) => (await pool.run({ filters, chunks }, { name: 'countChunks' })) as number,
    close: () => pool.destroy(),
  };
}

/** `bytes` when it spans its whole buffer (transferable as is), else a copy that does. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

/** The decoded value, or the decoder's plain error as the ApiError it stands for. */
function unwrap<T extends { ok: true }>(decoded: T | { ok: false; error: PlainApiError }): T {
  if (decoded.ok) return decoded as T;
  const { status, code, message, errors } = (decoded as { error: PlainApiError }).error;
  throw new ApiError(status, code, message, errors);
}
