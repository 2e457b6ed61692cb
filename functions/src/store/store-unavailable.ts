/**
 * Store faults a client should retry later. They reach this module only after the SDK has done its own
 * retrying (open-cosmos.ts: throttle retries honouring the server's Retry-After, request timeout), so
 * what is left is for the client: the one error boundary (http/render-problem.ts) answers them
 * 503 ServiceUnavailable with a Retry-After header.
 *
 * | thrown by @azure/cosmos                                   | fault         | Retry-After (s)              |
 * |-----------------------------------------------------------|---------------|------------------------------|
 * | ErrorResponse code 429 (throttle retries ran out)         | `throttled`   | its retryAfterInMs, rounded up |
 * | ErrorResponse code 503 / 449 (service busy, retry with)   | `unavailable` | x-ms-retry-after-ms or 1     |
 * | ErrorResponse code 408, TimeoutError (requestTimeout hit) | `timeout`     | 1                            |
 * | connection refused / reset / closed before an answer      | `connection`  | 1                            |
 */
export type StoreFault = 'throttled' | 'unavailable' | 'timeout' | 'connection';

/** Longest Retry-After passed on to clients, in seconds (a store asking for more is retried sooner). */
export const MAX_RETRY_AFTER_SECONDS = 60;

export class StoreUnavailableError extends Error {
  constructor(
    readonly fault: StoreFault,
    /** Whole seconds the client should wait, 1 … MAX_RETRY_AFTER_SECONDS. */
    readonly retryAfterSeconds: number,
    /** The store's HTTP status or network error code, for logs (never sent to clients). */
    readonly storeCode: number | string | undefined = undefined,
    options?: { cause?: unknown },
  ) {
    super(`store ${fault}${storeCode === undefined ? '' : ` (${storeCode})`}; retry after ${retryAfterSeconds} s`, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Network error codes (Node sockets, core-rest-pipeline) meaning the store could not be reached or hung up. */
const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'REQUEST_SEND_ERROR',
  'UND_ERR_SOCKET',
]);
const TIMEOUT_CODES = new Set(['TimeoutError', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Seconds (≥ 1, whole, capped) for a delay in milliseconds; `fallback` when the store named none. */
export function retryAfterSecondsFrom(milliseconds: number | undefined, fallback = 1): number {
  if (milliseconds === undefined || !Number.isFinite(milliseconds) || milliseconds <= 0) return fallback;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(milliseconds / 1000)));
}

/**
 * The StoreUnavailableError an error thrown by @azure/cosmos stands for, or undefined when it is not a
 * transient store fault (then it is a bug or a real answer, and stays what it is). Looks one `cause` deep.
 */
export function classifyStoreError(error: unknown): StoreUnavailableError | undefined {
  if (error instanceof StoreUnavailableError) return error;
  if (!(error instanceof Error)) return undefined;
  const direct = classifyOne(error);
  if (direct) return direct;
  return error.cause instanceof Error ? classifyOne(error.cause, error) : undefined;
}

function classifyOne(error: Error, outer: Error = error): StoreUnavailableError | undefined {
  const { code, name } = error as Error & { code?: unknown };
  if (typeof code === 'number') {
    const retryAfter = retryAfterSecondsFrom(retryAfterMillisOf(error));
    if (code === 429) return new StoreUnavailableError('throttled', retryAfter, code, { cause: outer });
    if (code === 503 || code === 449) return new StoreUnavailableError('unavailable', retryAfter, code, { cause: outer });
    if (code === 408) return new StoreUnavailableError('timeout', retryAfter, code, { cause: outer });
    return undefined;
  }
  if (name === 'TimeoutError' || (typeof code === 'string' && TIMEOUT_CODES.has(code))) {
    return new StoreUnavailableError('timeout', 1, typeof code === 'string' ? code : name, { cause: outer });
  }
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return new StoreUnavailableError('connection', 1, code, { cause: outer });
  return undefined;
}

/** `retryAfterInMs` of an ErrorResponse, else its `x-ms-retry-after-ms` header. */
function retryAfterMillisOf(error: Error): number | undefined {
  const { retryAfterInMs, headers } = error as Error & { retryAfterInMs?: unknown; headers?: Record<string, unknown> };
  if (typeof retryAfterInMs === 'number') return retryAfterInMs;
  const header = headers?.['x-ms-retry-after-ms'];
  const parsed = typeof header === 'string' || typeof header === 'number' ? Number(header) : NaN;
  return Number.isFinite(parsed) ? parsed : undefined;
}
