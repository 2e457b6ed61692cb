/**
 * Times of flow queries. `since` / `until` are RFC 3339 timestamps or a duration before `now`
 * (Go duration syntax plus `d` for days: `30s`, `15m`, `1h30m`, `7d`), as `hubble observe --since` takes them.
 *
 * Contracts:
 * - The window is half-open: a summary is in it when since ≤ time < until (time = end of its window).
 * - `until` defaults to now, `since` to one hour before `until`. since must be before until.
 * - Times are normalised with Date#toISOString (millisecond precision, `Z`), so their strings sort in time order.
 * - Hour buckets are the first 13 characters of that form (`2026-11-24T10`), in UTC.
 */
import type { FieldError } from '../../openapi/types.js';
import { parseGoDuration } from '../encryption/go-duration.js';

export const DEFAULT_WINDOW_MS = 3600_000;
const HOUR_MS = 3600_000;

export interface FlowWindow {
  since: string;
  until: string;
}

/** Parses one time; returns the instant or a reason. */
export function parseFlowTime(text: string, now: Date): Date | string {
  const days = /^(\d+(?:\.\d+)?)d$/.exec(text);
  if (days) return new Date(now.getTime() - Number(days[1]) * 86_400_000);
  if (/^[0-9.]+(ns|us|µs|μs|ms|s|m|h)/.test(text)) {
    const ns = parseGoDuration(text);
    if (typeof ns === 'string') return ns;
    return new Date(now.getTime() - Math.round(ns / 1e6));
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text)) {
    return `"${text}" is neither an RFC 3339 time nor a duration such as "1h" or "7d"`;
  }
  const parsed = new Date(text);
  return Number.isNaN(parsed.getTime()) ? `"${text}" is not a valid time` : parsed;
}

/** Resolves since/until of a query into a normalised window, or field errors at `/since`, `/until`. */
export function resolveFlowWindow(input: { since?: string | undefined; until?: string | undefined }, now: Date): FlowWindow | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const until = input.until === undefined ? now : parseFlowTime(input.until, now);
  if (typeof until === 'string') errors.push({ pointer: '/until', message: until, rule: 'flow-time' });
  const untilDate = typeof until === 'string' ? now : until;
  const since = input.since === undefined ? new Date(untilDate.getTime() - DEFAULT_WINDOW_MS) : parseFlowTime(input.since, now);
  if (typeof since === 'string') errors.push({ pointer: '/since', message: since, rule: 'flow-time' });
  if (errors.length > 0) return { errors };
  const sinceDate = since as Date;
  if (sinceDate.getTime() >= untilDate.getTime()) return { errors: [{ pointer: '/since', message: 'since must be before until', rule: 'flow-window' }] };
  return { since: sinceDate.toISOString(), until: untilDate.toISOString() };
}

export function normaliseTime(text: string): string {
  return new Date(text).toISOString();
}

/** The UTC hour bucket of a normalised time, e.g. `2026-11-24T10`. */
export function hourBucket(isoTime: string): string {
  return isoTime.slice(0, 13);
}

/** Every hour bucket that [since, until) touches, ascending. */
export function hourBuckets(window: FlowWindow): string[] {
  const start = Math.floor(Date.parse(window.since) / HOUR_MS) * HOUR_MS;
  const end = Date.parse(window.until);
  const out: string[] = [];
  for (let t = start; t < end; t += HOUR_MS) out.push(hourBucket(new Date(t).toISOString()));
  return out;
}
