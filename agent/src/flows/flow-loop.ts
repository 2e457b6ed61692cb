/**
 * The flow loop: every `intervalMs` read-and-reset the kernel counters, aggregate them into
 * FlowSummary records for the window (plus the L7 DNS and HTTP summaries of the proxies' records, when
 * `readDnsRecords` / `readHttpRecords` are given), cut them into batches of at most `maxBatch` (5000, the API's
 * limit), spool each batch (uuid batchId, per-node sequence), then deliver the spool in order.
 * API errors only delay delivery; the spool is bounded (see flow-spool.ts).
 *
 * Kernel losses (`readLost`, cumulative counters): each window's difference (kernel-loss.ts) goes into
 * the `lost.packets/bytes/flows` of the window's FIRST batch — an empty batch when the window has no
 * summaries — together with the counters it accounts up to, so spool and counters are saved in one
 * state write. A failed read of the counters is logged and skipped (the next read reports what was
 * lost meanwhile); it never costs the records already read and reset. A failed read of a proxy's records
 * is logged and that window goes without them.
 */
import { randomUUID } from 'node:crypto';
import type { FlowSummary, FlowSummaryBatch } from '../../../openapi/types.js';
import type { FlowRecordSource } from '../kernel/codecs.js';
import { sleep } from '../sync/sleep.js';
import type { Logger } from '../sync/sync-loop.js';
import { aggregateFlows, monotonicToWallClock, type AggregateContext } from './aggregate-flows.js';
import { dnsSummaries, type DnsQueryRecord } from './dns-summaries.js';
import { httpSummaries, type HttpRequestRecord } from './http-summaries.js';
import { wireLost, type DeliveryReport, type FlowSpool } from './flow-spool.js';
import { isKernelLoss, kernelLossDelta, type KernelLoss, type KernelLossCounters } from './kernel-loss.js';

export const MAX_BATCH_SUMMARIES = 5000;

export interface FlowLoopOptions {
  /** one read-and-reset of the kernel counters (Datapath.readAndResetFlowRecords) */
  readFlows: () => FlowRecordSource;
  /** the DNS proxy's query records since the last call (drained): their L7 DNS summaries
   *  (dns-summaries.ts) go out with the window's L4 summaries */
  readDnsRecords?: () => readonly DnsQueryRecord[];
  /** the HTTP proxy's request records since the last call (drained): their L7 HTTP summaries
   *  (http-summaries.ts) go out with the window's L4 summaries */
  readHttpRecords?: () => readonly HttpRequestRecord[];
  /** the kernel's loss counters, cumulative since its maps were created (Datapath.readCounters) */
  readLost?: () => KernelLossCounters;
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
  /** what the kernel could not count in this window (zeros without `readLost` or when its read failed) */
  kernelLost: KernelLoss;
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
    const counters = this.readCounters();
    const end = this.now();
    const window = { start: new Date(this.windowStart).toISOString(), end: new Date(end).toISOString() };
    this.windowStart = end;
    const dnsRecords = this.readProxyRecords('DNS', this.options.readDnsRecords);
    const httpRecords = this.readProxyRecords('HTTP', this.options.readHttpRecords);
    const summaries: FlowSummary[] = records.length === 0 ? [] : aggregateFlows(records, { ...this.options.context(), monotonicToWallMs: monotonicToWallClock() });
    if (dnsRecords.length > 0) summaries.push(...dnsSummaries(dnsRecords, this.options.context()));
    if (httpRecords.length > 0) summaries.push(...httpSummaries(httpRecords, this.options.context()));
    const chunks = chunk(summaries, this.options.maxBatch ?? MAX_BATCH_SUMMARIES);
    const spool = this.options.spool;
    const kernelLost = counters ? kernelLossDelta(spool.kernelCounters, counters) : { packets: 0, bytes: 0, flows: 0 };
    // Nothing to say but a loss to report: an empty batch carries it (the window's kernel loss always
    // gets one; the spool's only when no spooled batch will carry it anyway).
    if (chunks.length === 0 && (isKernelLoss(kernelLost) || (spool.pending === 0 && Object.values(spool.lost).some((n) => n > 0)))) chunks.push([]);
    for (const [i, c] of chunks.entries()) {
      const lost = i === 0 ? wireLost({ batches: 0, summaries: 0, ...kernelLost }) : undefined;
      await spool.enqueue({ batchId: randomUUID(), window, summaries: c, ...(lost ? { lost } : {}) }, i === 0 && counters ? { kernelCounters: counters } : {});
    }
    if (chunks.length === 0 && counters) await spool.recordKernelCounters(counters);
    if (isKernelLoss(kernelLost)) this.options.log?.('warn', 'the kernel flow map was full: traffic not counted, reported as lost', { ...kernelLost });
    const rejectedBefore = spool.rejected.length;
    const delivery = await spool.deliver(this.options.send, this.options.isPoison);
    for (const r of spool.rejected.slice(rejectedBefore)) {
      this.options.log?.('error', 'flow batch refused by the API; dropped and counted as lost', { sequence: r.sequence, error: r.error.message });
    }
    if (delivery.error) {
      this.options.log?.('warn', 'flow delivery failed; batches stay spooled', { error: delivery.error.message, pending: delivery.remaining, lost: spool.lost });
    }
    return { ...delivery, records: records.length + dnsRecords.length + httpRecords.length, summaries: summaries.length, batches: chunks.length, kernelLost };
  }

  private readProxyRecords<T>(proxy: 'DNS' | 'HTTP', read: (() => readonly T[]) | undefined): readonly T[] {
    try {
      return read?.() ?? [];
    } catch (e) {
      this.options.log?.('warn', `reading the ${proxy} proxy records failed`, { error: (e as Error).message });
      return [];
    }
  }

  private readCounters(): KernelLossCounters | undefined {
    if (!this.options.readLost) return undefined;
    try {
      return this.options.readLost();
    } catch (e) {
      this.options.log?.('warn', 'reading the kernel loss counters failed; their next read reports what was lost meanwhile', { error: (e as Error).message });
      return undefined;
    }
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
