/**
 * A small HTTP client for the fleetnet API: bearer token, JSON in and out, problem+json as errors.
 *
 * Contracts:
 * - Every request, its answer's body included, must finish within `timeoutMs` (default 30 s); past it
 *   the request is aborted and a CliError with EXIT.UNAVAILABLE is thrown (also when reading the body).
 * - An unreachable API is a CliError with EXIT.UNAVAILABLE; a non-2xx answer is an ApiCallError
 *   carrying the status and the problem details (exit-codes.ts maps the status to an exit code).
 */
import { CliError, EXIT } from './exit-codes.js';

export interface ApiProblem {
  code?: string;
  detail?: string;
  errors?: Array<{ pointer: string; message: string }>;
  /** Import answers (400) list the outcome of every document. */
  documents?: Array<{ document: number; outcome: string; reason?: string; policy?: { metadata: { name: string } }; errors?: Array<{ pointer: string; message: string }> }>;
}

export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ApiProblem | undefined,
  ) {
    const details = problem?.errors?.map((e) => `  ${e.pointer || '/'}: ${e.message}`).join('\n');
    super(`${status} ${problem?.code ?? ''}: ${problem?.detail ?? 'request failed'}${details ? `\n${details}` : ''}`);
    this.name = 'ApiCallError';
  }
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface ApiClientOptions {
  baseUrl: string;
  token: () => Promise<string | undefined>;
  fetch?: typeof fetch;
  /** Per request, answer body included; default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

export class ApiClient {
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  constructor(private readonly options: ApiClientOptions) {
    this.fetch = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Sends a request; returns the response when 2xx, throws ApiCallError otherwise. The caller reads the
   * body through `readBody` (or json/text below) so that a stalled body also hits the timeout.
   */
  async raw(method: string, path: string, body?: { text: string; contentType: string }, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const token = await this.options.token();
    const headers: Record<string, string> = { ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body) headers['content-type'] = body.contentType;
    const url = `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const response = await this.fetch(url, { method, headers, body: body?.text, signal }).catch((error: unknown) => {
      throw this.describeFailure(error, url);
    });
    if (!response.ok) {
      const text = await response.text().catch((error: unknown) => {
        throw this.describeFailure(error, url);
      });
      let problem: ApiProblem | undefined;
      try {
        problem = JSON.parse(text) as ApiProblem;
      } catch {
        problem = { detail: text.slice(0, 200) };
      }
      throw new ApiCallError(response.status, problem);
    }
    return withGuardedBody(response, (error) => this.describeFailure(error, url));
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.raw(method, path, body === undefined ? undefined : { text: JSON.stringify(body), contentType: 'application/json' });
    return (await response.json()) as T;
  }

  private describeFailure(error: unknown, url: string): Error {
    const name = (error as { name?: string } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new CliError(`no answer from ${url} within ${this.timeoutMs / 1000} s (--timeout <seconds> or FLEETNET_TIMEOUT to wait longer)`, EXIT.UNAVAILABLE);
    }
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return new CliError(`cannot reach ${url}${cause ? ` (${cause})` : ''}; is the API running (npm start) and --api-url / FLEETNET_API_URL right?`, EXIT.UNAVAILABLE);
  }
}

/** The response with text()/json() rethrowing body failures (timeouts, resets) as CliErrors. */
function withGuardedBody(response: Response, describe: (error: unknown) => Error): Response {
  const text = response.text.bind(response);
  const json = response.json.bind(response);
  const guard = <T>(read: () => Promise<T>) => () => read().catch((error: unknown) => {
    throw describe(error);
  });
  return Object.assign(response, { text: guard(text), json: guard(json) });
}
