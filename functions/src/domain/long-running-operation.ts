/**
 * The mechanics every long-running operation of this API shares (policy replays, encryption
 * remediations): one document per operation in the `operations` container, written by the instance doing
 * the work, read by any instance.
 *
 * Contract:
 * - runOperation(): writes `Running`, refreshes `lastUpdatedAt` every `heartbeatMs` while `work` runs, then
 *   the outcome `work` returns (or, if it throws, `Failed` with the problem the error boundary would answer).
 *   Writes of one run are serialised; the final write is retried FINAL_WRITE_ATTEMPTS times with backoff —
 *   should all fail, the heartbeat has stopped and readers see the operation interrupted within STALE_MS.
 *   `work` may publish intermediate states through `update` (written in order, like the heartbeat).
 * - readOperation(): 404 for an unknown id; a `NotStarted`/`Running` operation whose `lastUpdatedAt` is older
 *   than STALE_MS is answered `Failed` with problem `OperationInterrupted` (the stored document is left; its
 *   TTL removes it).
 * Every write carries `ttl` = OPERATION_TTL_SECONDS.
 */
import type { Problem } from '../../../openapi/types.js';
import { ApiError, notFound } from '../http/api-error.js';
import { problemOf } from '../http/render-problem.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import { OPERATION_TTL_SECONDS } from '../store/cosmos-layout.js';

export const HEARTBEAT_MS = 10_000;
export const STALE_MS = 60_000;
const FINAL_WRITE_ATTEMPTS = 5;

export interface OperationDocument {
  id: string;
  status: string;
  lastUpdatedAt: string;
  error?: Problem;
}

export type OperationChange<T> = (op: T) => T;

export interface RunOperationOptions<T extends OperationDocument> {
  operations: DocumentCollection<T>;
  initial: Versioned<T>;
  /** the work; resolves to the final change (status Succeeded/Failed and its payload) */
  work: (update: (change: OperationChange<T>) => Promise<void>) => Promise<OperationChange<T>>;
  /** the operation's URL path, for the problem's `instance` */
  instance: string;
  now: () => Date;
  log: (message: string) => void;
  heartbeatMs?: number;
}

export async function runOperation<T extends OperationDocument>(options: RunOperationOptions<T>): Promise<void> {
  const { operations, now, log } = options;
  let current = options.initial;
  let chain: Promise<unknown> = Promise.resolve();
  const write = (change: OperationChange<T>): Promise<void> => {
    const step = chain.then(async () => {
      const value = { ...change(current.value), lastUpdatedAt: now().toISOString() };
      current = await operations.replace(value.id, value.id, value, current.version, { ttl: OPERATION_TTL_SECONDS });
    });
    chain = step.catch(() => undefined);
    return step;
  };
  if (current.value.status !== 'Running') await write((op) => ({ ...op, status: 'Running' }));
  const heartbeat = setInterval(
    () => void write((op) => op).catch((error) => log(`operation ${current.value.id}: heartbeat not written: ${String(error)}`)),
    options.heartbeatMs ?? HEARTBEAT_MS,
  );
  heartbeat.unref();
  let outcome: OperationChange<T>;
  try {
    outcome = await options.work(write);
  } catch (error) {
    const { problem } = problemOf(error, options.instance);
    outcome = (op) => ({ ...op, status: 'Failed', error: problem });
  } finally {
    clearInterval(heartbeat);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await write(outcome);
      return;
    } catch (error) {
      if (attempt >= FINAL_WRITE_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}

export interface OperationKind {
  /** "Policy replay" — in a 404's message */
  label: string;
  /** "replay" — in the interruption's detail */
  noun: string;
  /** what the caller does after an interruption */
  advice: string;
}

export async function readOperation<T extends OperationDocument>(operations: DocumentCollection<T>, id: string, kind: OperationKind, now: Date): Promise<T> {
  const stored = await operations.read(id, id);
  if (!stored) throw notFound(`${kind.label} "${id}"`);
  const op = stored.value;
  const pending = op.status === 'NotStarted' || op.status === 'Running';
  if (!pending || now.getTime() - Date.parse(op.lastUpdatedAt) <= STALE_MS) return op;
  const interrupted = new ApiError(500, 'OperationInterrupted', `The instance running this ${kind.noun} stopped: no heartbeat since ${op.lastUpdatedAt} (more than ${STALE_MS / 1000} s). ${kind.advice}`);
  return { ...op, status: 'Failed', error: problemOf(interrupted).problem };
}

/** Tracks started runs so tests and shutdown can wait for their outcomes. */
export class RunningOperations {
  private readonly running = new Set<Promise<void>>();

  track(run: Promise<void>, log: (message: string) => void, label: string): void {
    const tracked = run.catch((error) => log(`${label}: ${error instanceof Error ? error.message : String(error)}`));
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
  }

  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
