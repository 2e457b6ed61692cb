/**
 * The one HTTP client of the fleetnet API, typed from the contract: openapi-fetch over the generated
 * `paths` (api-types.generated.ts), so a path, method, parameter, body or answer the contract does not
 * have fails to compile. The agent (agent/src/sync/api-client.ts) and the CLI (cli/api-client.ts) build
 * their calls on it; the test suites' contract client (test/helpers/contract-client.ts) stays untyped on
 * purpose — its job is to send what the contract forbids and check every answer against the spec.
 *
 * Contracts:
 * - `createFleetnetClient` adds `Authorization: Bearer <token>` when the token provider returns one, and
 *   bounds every request, its answer's body included, by `timeoutMs` (an AbortSignal per request).
 * - `expectOk(result)` (`expectAnswer` with the response too) returns the parsed body of a 2xx answer
 *   and throws `ApiError` otherwise: the status, the problem+json body when the API sent one (`code`,
 *   `detail`, `errors`, `documents`), and Retry-After in ms. `failure(error, …)` turns a rejected fetch into an ApiError with status 0 and
 *   `failure` `timeout` or `unreachable`. Tokens never appear in messages.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './api-types.generated.js';
import type { Problem } from './types.js';

export type FleetnetClient = Client<paths>;

export interface FleetnetClientOptions {
  /** e.g. http://localhost:7071/api (a trailing slash is ignored) */
  baseUrl: string;
  /** the bearer token for each request (undefined: none sent) */
  token: () => Promise<string | undefined>;
  /** per request, the answer's body included, in ms */
  timeoutMs: number;
  /** replaces global fetch (tests, proxies) */
  fetch?: (request: Request) => Promise<Response>;
  /** headers of every request (default `Accept: application/json`) */
  headers?: Record<string, string>;
}

export function createFleetnetClient(options: FleetnetClientOptions): FleetnetClient {
  const send = options.fetch ?? ((request: Request) => fetch(request));
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: options.headers ?? { accept: 'application/json' },
    fetch: (request) =>
      send(new Request(request, { signal: AbortSignal.timeout(options.timeoutMs) })).catch((error: unknown) => {
        throw failure(error, `${request.method} ${request.url}`, request.url);
      }),
  });
  client.use({
    async onRequest({ request }) {
      const token = await options.token();
      if (token) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  });
  return client;
}

/** Why a call failed: an answer other than 2xx (status ≥ 100), or no answer at all (status 0). */
export class ApiError extends Error {
  readonly problem: Partial<Problem> | undefined;
  readonly retryAfterMs: number | undefined;
  readonly code: string | undefined;
  /** status 0 only: the request timed out, or the API could not be reached */
  readonly failure: 'timeout' | 'unreachable' | undefined;
  /** status 0 only, when known: the URL that got no answer */
  readonly url: string | undefined;
  private readonly retryOverride: boolean | undefined;

  constructor(
    message: string,
    /** HTTP status; 0 = no answer (connection refused, timeout, DNS) */
    readonly status: number,
    details: { problem?: Partial<Problem>; retryAfterMs?: number; code?: string; failure?: 'timeout' | 'unreachable'; url?: string; retryable?: boolean } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.problem = details.problem;
    this.retryAfterMs = details.retryAfterMs;
    this.code = details.code ?? details.problem?.code;
    this.failure = details.failure;
    this.url = details.url;
    this.retryOverride = details.retryable;
  }

  /** Worth retrying as is: no answer, 408, 429, 5xx — unless the error says otherwise. */
  get retryable(): boolean {
    return this.retryOverride ?? (this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500);
  }
}

/** A 2xx answer: its body and the response (status, headers); an ApiError for any other (see the
 *  module contract). */
export async function expectAnswer<T>(
  result: Promise<{ data?: T; error?: unknown; response: Response }>,
  what: string,
  now: () => number = Date.now,
): Promise<{ data: T; response: Response }> {
  let settled: { data?: T; error?: unknown; response: Response };
  try {
    settled = await result;
  } catch (error) {
    throw failure(error, what);
  }
  const { data, error, response } = settled;
  if (response.ok) return { data: data as T, response };
  throw answerError(response, error, what, now);
}

/** The body of a 2xx answer; an ApiError for any other. */
export async function expectOk<T>(result: Promise<{ data?: T; error?: unknown; response: Response }>, what: string, now: () => number = Date.now): Promise<T> {
  return (await expectAnswer(result, what, now)).data;
}

/** An ApiError for a non-2xx answer whose body (parsed by openapi-fetch, or text) is `body`. */
export function answerError(response: Response, body: unknown, what: string, now: () => number = Date.now): ApiError {
  const problem = asProblem(body);
  const detail = problemDetail(body);
  const fields = (problem?.errors ?? []).map((e) => `\n  ${e.pointer || '/'}: ${e.message}`).join('');
  return new ApiError(`${what}: ${response.status}${problem?.code ? ` ${problem.code}` : ''}${detail ? `: ${detail}` : ''}${fields}`, response.status, {
    ...(problem ? { problem } : {}),
    ...withRetryAfter(parseRetryAfter(response.headers.get('retry-after'), now())),
  });
}

/** A problem body's detail (or title), else the first 500 characters of a text body; '' for none. */
export function problemDetail(body: unknown): string {
  const problem = asProblem(body);
  const detail = problem?.detail ?? problem?.title ?? (typeof body === 'string' ? body : '');
  return detail.slice(0, 500);
}

/** An ApiError (status 0) for a request that got no answer: timeout or unreachable. */
export function failure(error: unknown, what: string, url?: string): ApiError {
  if (error instanceof ApiError) return error;
  const at = url === undefined ? {} : { url };
  const name = (error as { name?: string } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return new ApiError(`${what}: no answer in time`, 0, { failure: 'timeout', ...at });
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error).message;
  return new ApiError(`${what}: unreachable${reason ? ` (${reason})` : ''}`, 0, { failure: 'unreachable', ...at });
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

const withRetryAfter = (ms: number | undefined) => (ms === undefined ? {} : { retryAfterMs: ms });

function asProblem(body: unknown): Partial<Problem> | undefined {
  if (typeof body === 'string') {
    try {
      return asProblem(JSON.parse(body));
    } catch {
      return undefined;
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  return body as Partial<Problem>;
}
