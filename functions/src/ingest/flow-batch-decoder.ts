import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { EncodedIngestBatch } from '../domain/flows.js';
import { ApiError } from '../http/api-error.js';
import { decodeFlowBatch, type DecodedFlowBatch } from './decode-flow-batch.js';

/**
 * Decodes agent flow batches (decode-flow-batch.ts) on worker threads, so a 5,000-summary body — tens of
 * milliseconds of parsing, validation and compression — neither blocks the event loop (desired-state
 * polls keep their latency) nor leaves the instance's other cores idle.
 *
 * Contract: `decode` resolves to the storable batch or rejects with the ApiError the body deserves (400);
 * the bytes' buffer is transferred to the thread (the caller must not use it afterwards). With
 * `threads: 0` it decodes inline on the calling thread.
 */
export interface FlowBatchDecoder {
  decode(bytes: Uint8Array): Promise<EncodedIngestBatch>;
  close(): Promise<void>;
}

/** Decoder threads by default: one per core the process may use. */
export const defaultDecoderThreads = (): number => availableParallelism();

export function createFlowBatchDecoder(options: { threads: number }): FlowBatchDecoder {
  if (options.threads <= 0) {
    return { decode: async (bytes) => unwrap(decodeFlowBatch(bytes)), close: async () => undefined };
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
      const transferable = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      return unwrap((await pool.run(transferable, { transferList: [transferable.buffer as ArrayBuffer] })) as DecodedFlowBatch);
    },
    close: () => pool.destroy(),
  };
}

function unwrap(decoded: DecodedFlowBatch): EncodedIngestBatch {
  if (decoded.ok) return decoded.batch;
  const { status, code, message, errors } = decoded.error;
  throw new ApiError(status, code, message, errors);
}
