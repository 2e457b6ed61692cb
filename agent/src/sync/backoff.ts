/**
 * Retry timing: exponential backoff with full jitter (delay = random · min(max, base · 2^attempt)),
 * overridden by a server's Retry-After when it asks for longer. Pure; `random` is injected.
 */

export interface BackoffPolicy {
  /** ms; first retry waits up to this */
  baseMs: number;
  /** ms; cap of the exponential term */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 60_000 };

/** Delay before retry number `attempt` (0-based), full jitter in [0, min(max, base·2^attempt)).
 *  A Retry-After (ms) is a floor: the server said "not before". */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random, retryAfterMs?: number): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.floor(random() * cap);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
}

/** Retry-After header (RFC 9110: delay-seconds or an HTTP-date) → ms from `nowMs`; undefined when
 *  absent or unparseable; never negative. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/^[A-Za-z]{3},/.test(v)) return undefined; // IMF-fixdate (and the obsolete forms) start with a day name
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
