/**
 * The flow loop: every `intervalMs` read-and-reset the kernel counters, aggregate them into
 * FlowSummary records for the window, cut them into batches of at most `maxBatch` (5000, the API's
 * limit), spool each batch (uuid batchId, per-node sequence), then deliver the spool in order.
 * API errors only delay delivery; the spool is bounded (see flow-spool.ts).
 */
import { randomUUID } from 'node:crypto';
import type { FlowSummary, FlowSummaryBatch } from '../../../openapi/types.js';
import type { FlowRecord } from '../kernel/codecs.js';
import { sleep } from '../sync/sleep.js';
import type { Logger } from '../sync/sync-loop.js';
import { aggregateFlows, monotonicToWallClock, type AggregateContext } from './aggregate-flows.js';
import type { DeliveryReport, FlowSpool } from './flow-spool.js';

export const MAX_BATCH_SUMMARIES = 5000;

export interface FlowLoopOptions {
  readFlows: () => FlowRecord[];
  /** identities and rules of the state currently enforced (without monotonicToWallMs) */
  context: () => Omit<AggregateContext, 'monotonicToWallMs'>;
  spool: FlowSpool;
  /** resolves on 2xx only */
  send: (batch: FlowSummaryBatch) => Promise<void>;
  /** errors that mean "never accepted" (the batch is dropped and counted as lost) */
  isPoison?: (error: unknown) => boolean;
  intervalMs: number;
  maxBatch?: number;
  log?: Logger;
  now?: () => number;
}

export interface TickReport extends DeliveryReport {
  records: number;
  summaries: number;
  batches: number;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class FlowLoop {
  private windowStart: number;
  private readonly now: () => number;

  constructor(private readonly options: FlowLoopOptions) {
    this.now = options.now ?? Date.now;
    this.windowStart = this.now();
  }

  /** One window: read+reset, aggregate, spool, deliver. */
  async tick(): Promise<TickReport> {
    const records = this.options.readFlows();
    const end = this.now();
    const window = { start: new Date(this.windowStart).toISOString(), end: new Date(end).toISOString() };
    this.windowStart = end;
    const summaries: FlowSummary[] = records.length === 0 ? [] : aggregateFlows(records, { ...this.options.context(), monotonicToWallMs: monotonicToWallClock() });
    const chunks = chunk(summaries, this.options.maxBatch ?? MAX_BATCH_SUMMARIES);
    const spool = this.options.spool;
    // Nothing to say but a loss to report: an empty batch carries it.
    if (chunks.length === 0 && spool.pending === 0 && (spool.lost.batches > 0 || spool.lost.summaries > 0)) chunks.push([]);
    for (const c of chunks) await spool.enqueue({ batchId: randomUUID(), window, summaries: c });
    const rejectedBefore = spool.rejected.length;
    const delivery = await spool.deliver(this.options.send, this.options.isPoison);
    for (const r of spool.rejected.slice(rejectedBefore)) {
      this.options.log?.('error', 'flow batch refused by the API; dropped and counted as lost', { sequence: r.sequence, error: r.error.message });
    }
    if (delivery.error) {
      this.options.log?.('warn', 'flow delivery failed; batches stay spooled', { error: delivery.error.message, pending: delivery.remaining, lost: spool.lost });
    }
    return { ...delivery, records: records.length, summaries: summaries.length, batches: chunks.length };
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.options.intervalMs, signal);
      if (signal.aborted) break;
      try {
        await this.tick();
      } catch (e) {
        this.options.log?.('error', 'flow tick failed', { error: (e as Error).message });
      }
    }
  }
}
