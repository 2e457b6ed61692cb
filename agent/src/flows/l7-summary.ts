/**
 * Pure building blocks shared by the proxies' L7 summaries (dns-summaries.ts, http-summaries.ts).
 *
 * Contracts:
 * - l7Endpoints(): source, destination and exact addresses (IP) of an L7 summary, described exactly as the
 *   L4 aggregator describes the same identities (aggregate-flows.ts), so L7 and L4 summaries of one
 *   conversation name the same endpoints.
 * - KeyCap: per source identity, the first `max` distinct keys of a window are admitted, in the order
 *   they come; a key already admitted stays admitted; every further key is not (its records go to the
 *   caller's overflow key, counted, never dropped).
 * - L7Window: the records of one summary — count (`packets`), maximum latency and first / last time;
 *   finish() writes them into the summary as Hubble-shaped `packets`, `l7.latency_ns` and
 *   `first_seen` / `last_seen`. Values that are no number (NaN latencies, times `Date` cannot hold) are
 *   left out, never a reason for the API to refuse the batch.
 */
import type { FlowSummary } from '../../../openapi/types.js';
import { describeEndpoint, exactAddress, type AggregateContext } from './aggregate-flows.js';

/** A time `new Date(t).toISOString()` accepts. */
export const isValidTime = (t: number): boolean => Number.isFinite(t) && Math.abs(t) <= 8.64e15;
export const isPort = (p: number): boolean => Number.isInteger(p) && p >= 0 && p <= 65535;

export function l7Endpoints(sourceIdentity: number, destinationIdentity: number, ipVersion: 4 | 6, ctx: Pick<AggregateContext, 'clusterName' | 'identity'>): Pick<FlowSummary, 'source' | 'destination' | 'IP'> {
  const source = exactAddress(ctx.identity(sourceIdentity), ipVersion);
  const destination = exactAddress(ctx.identity(destinationIdentity), ipVersion);
  return {
    source: describeEndpoint(sourceIdentity, ctx),
    destination: describeEndpoint(destinationIdentity, ctx),
    IP: {
      ...(source !== undefined ? { source } : {}),
      ...(destination !== undefined ? { destination } : {}),
      ipVersion: ipVersion === 6 ? 'IPv6' : 'IPv4',
    },
  };
}

export class KeyCap {
  private readonly seen = new Map<number, Set<string>>();

  constructor(private readonly max: number) {}

  /** Whether `key` of `source` gets its own summaries in this window. */
  admit(source: number, key: string): boolean {
    let keys = this.seen.get(source);
    if (!keys) {
      keys = new Set();
      this.seen.set(source, keys);
    }
    if (keys.has(key)) return true;
    if (keys.size >= this.max) return false;
    keys.add(key);
    return true;
  }
}

export class L7Window {
  private count = 0;
  private latencyMs = 0;
  private firstMs = Number.POSITIVE_INFINITY;
  private lastMs = Number.NEGATIVE_INFINITY;

  add(time: number, latencyMs: number): void {
    this.count += 1;
    if (Number.isFinite(latencyMs)) this.latencyMs = Math.max(this.latencyMs, latencyMs);
    if (isValidTime(time)) {
      this.firstMs = Math.min(this.firstMs, time);
      this.lastMs = Math.max(this.lastMs, time);
    }
  }

  finish<S extends FlowSummary & { l7: NonNullable<FlowSummary['l7']> }>(summary: S): S {
    summary.packets = this.count;
    summary.l7.latency_ns = Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.round(this.latencyMs * 1e6)));
    if (this.firstMs <= this.lastMs) {
      summary.first_seen = new Date(this.firstMs).toISOString();
      summary.last_seen = new Date(this.lastMs).toISOString();
    }
    return summary;
  }
}
