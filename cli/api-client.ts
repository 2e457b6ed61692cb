/**
 * The CLI's access to the fleetnet API: the contract-typed client (openapi/client.ts) plus what a
 * command line needs around it.
 *
 * Contracts:
 * - Every request, its answer's body included, must finish within `timeoutMs` (default 30 s).
 * - `call(request)` returns a 2xx answer's body. A non-2xx answer throws the client's ApiError
 *   (status and problem details; exit-codes.ts maps the status to an exit code, describe-api-error.ts
 *   words it). No answer — unreachable, or past the timeout — is a CliError with EXIT.UNAVAILABLE saying
 *   what to check; so is a body that stops arriving.
 * - `text(body)` sends a string as written (YAML, NDJSON) with its content type.
 */
import { ApiError, createFleetnetClient, expectAnswer, type FleetnetClient } from '../openapi/client.js';
import { CliError, EXIT } from './exit-codes.js';

export { ApiError } from '../openapi/client.js';

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface ApiClientOptions {
  baseUrl: string;
  token: () => Promise<string | undefined>;
  fetch?: typeof fetch;
  /** Per request, answer body included; default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface ApiClient {
  /** The typed client: `api.GET('/clusters/{clusterId}', { params: { path: { clusterId } } })`. */
  api: FleetnetClient;
  /** The body of a 2xx answer (see the module contract). */
  call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T>;
  /** The same, with the answer (status, headers). */
  answer<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<{ data: T; response: Response }>;
}

/** Request options that send `body` as written with `contentType` (openapi-fetch would JSON-encode it). */
export function text(contentType: string): { bodySerializer: (body: unknown) => string; headers: Record<string, string> } {
  return { bodySerializer: (body) => body as string, headers: { 'content-type': contentType } };
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const api = createFleetnetClient({ baseUrl, token: options.token, timeoutMs, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const answer = async <T>(request: Promise<{ data?: T; error?: unknown; response: Response }>) => {
    try {
      return await expectAnswer(request, baseUrl);
    } catch (error) {
      // no answer, or its body stopped: in the CLI's words
      throw error instanceof ApiError && error.status === 0 ? unavailable(error, baseUrl, timeoutMs) : error;
    }
  };
  return { api, answer, call: async (request) => (await answer(request)).data };
}

function unavailable(error: ApiError, baseUrl: string, timeoutMs: number): CliError {
  const url = error.url ?? baseUrl;
  if (error.failure === 'timeout') {
    return new CliError(`no answer from ${url} within ${timeoutMs / 1000} s (--timeout <seconds> or FLEETNET_TIMEOUT to wait longer)`, EXIT.UNAVAILABLE);
  }
  const reason = /\(([^)]*)\)$/.exec(error.message)?.[1];
  return new CliError(`cannot reach ${url}${reason ? ` (${reason})` : ''}; is the API running (npm start) and --api-url / FLEETNET_API_URL right?`, EXIT.UNAVAILABLE);
}
