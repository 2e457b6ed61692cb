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

/** Retry-After → ms: the API client's parser (one for the agent and the CLI). */
export { parseRetryAfter } from '../../../openapi/client.js';
