import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { EncodedIngestBatch } from '../domain/flows.js';
import { ApiError } from '../http/api-error.js';
import { decodeFlowBatch, type DecodedFlowBatch } from './decode-flow-batch.js';
import { decodeHubbleImport, type DecodedHubbleImport } from './decode-hubble-import.js';

/**
 * Decodes agent flow batches (decode-flow-batch.ts) and Hubble imports (decode-hubble-import.ts) on worker
 * threads, so a 5,000-summary body — tens of milliseconds of parsing, validation and compression — or a
 * 64 MiB import neither blocks the event loop (desired-state polls keep their latency) nor leaves the
 * instance's other cores idle.
 *
 * Contract: `decode` resolves to the storable batch or rejects with the ApiError the body deserves (400);
 * `decodeHubbleImport` never rejects for content (bad lines are reported as skipped). The bytes' buffer is
 * transferred to the thread (the caller must not use it afterwards). With `threads: 0` both run inline on
 * the calling thread.
 */
export interface FlowBatchDecoder {
  decode(bytes: Uint8Array): Promise<EncodedIngestBatch>;
  decodeHubbleImport(bytes: Uint8Array, clusterId: string, windowSeconds: number): Promise<DecodedHubbleImport>;
  close(): Promise<void>;
}

/** Decoder threads by default: one per core the process may use. */
export const defaultDecoderThreads = (): number => availableParallelism();

export function createFlowBatchDecoder(options: { threads: number }): FlowBatchDecoder {
  if (options.threads <= 0) {
    return {
      decode: async (bytes) => unwrap(decodeFlowBatch(bytes)),
      decodeHubbleImport: async (bytes, clusterId, windowSeconds) => decodeHubbleImport(bytes, clusterId, windowSeconds),
      close: async () => undefined,
    };
  }
  // Run from sources (tests, `npm start`), the worker is TypeScript: its thread loads tsx as this one did.
  const source = import.meta.url.endsWith('.ts');
  const pool = new Piscina({
    filename: new URL(`./decode-flow-batch.worker.${source ? 'ts' : 'js'}`, import.meta.url).href,
    minThreads: 0, // started on the first batch, so processes that never ingest never pay for threads
    maxThreads: options.threads,
    idleTimeout: 60_000,
    ...(source && !process.execArgv.some((arg) => arg.includes('tsx')) ? { execArgv: [...process.execArgv, '--import', 'tsx'] } : {}),
  });
  return {
    decode: async (bytes) => {
      const owned = ownBuffer(bytes);
      return unwrap((await pool.run(owned, { transferList: [owned.buffer as ArrayBuffer] })) as DecodedFlowBatch);
    },
    decodeHubbleImport: async (bytes, clusterId, windowSeconds) => {
      const owned = ownBuffer(bytes);
      return (await pool.run({ bytes: owned, clusterId, windowSeconds }, { name: 'hubbleImport', transferList: [owned.buffer as ArrayBuffer] })) as DecodedHubbleImport;
    },
    close: () => pool.destroy(),
  };
}

/** `bytes` when it spans its whole buffer (transferable as is), else a copy that does. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

function unwrap(decoded: DecodedFlowBatch): EncodedIngestBatch {
  if (decoded.ok) return decoded.batch;
  const { status, code, message, errors } = decoded.error;
  throw new ApiError(status, code, message, errors);
}
