/**
 * The agent's client of the fleetnet API: the four node operations of openapi.yaml (registerNode,
 * putNodeStatus, getDesiredState, ingestFlowSummaries). `fetch` and the token come in through options.
 * Every non-2xx (and non-304 for the poll) is an ApiError carrying the status and Retry-After; a
 * network failure is an ApiError with status 0. Tokens never appear in errors or logs.
 */
import type { DesiredState, FlowIngestResult, FlowSummaryBatch, Node, NodeSpec, NodeStatus } from '../../../openapi/types.js';
import { parseRetryAfter } from './backoff.js';
import type { TokenProvider } from './token-provider.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** e.g. http://localhost:7071/api (no trailing slash needed) */
  baseUrl: string;
  clusterId: string;
  nodeName: string;
  token: TokenProvider;
  fetch?: FetchLike;
  /** per request, ms (default 15 s) */
  timeoutMs?: number;
  now?: () => number;
}

export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 = no response (connection refused, timeout, DNS) */
    readonly status: number,
    /** the server's Retry-After, ms from when the response arrived */
    readonly retryAfterMs?: number,
    /** problem+json `code` when the server sent one */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Worth retrying: no response, 408, 429, 5xx. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export type DesiredStateResult =
  | { status: 200; etag: string; bundle: DesiredState }
  | { status: 304; etag: string };

export interface ApiClient {
  registerNode(spec: NodeSpec, labels?: Record<string, string>): Promise<Node>;
  putNodeStatus(status: NodeStatus): Promise<Node>;
  getDesiredState(ifNoneMatch?: string): Promise<DesiredStateResult>;
  postFlows(batch: FlowSummaryBatch): Promise<FlowIngestResult>;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const base = options.baseUrl.replace(/\/+$/, '');
  const nodePath = `/clusters/${encodeURIComponent(options.clusterId)}/nodes/${encodeURIComponent(options.nodeName)}`;

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const token = await options.token();
    const init: RequestInit = {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    };
    let response: Response;
    try {
      response = await doFetch(base + path, init);
    } catch (e) {
      throw new ApiError(`${method} ${path}: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`, 0);
    }
    return response;
  }

  async function fail(method: string, path: string, response: Response): Promise<never> {
    const text = await response.text().catch(() => '');
    let code: string | undefined;
    let detail = text.slice(0, 500);
    try {
      const p = JSON.parse(text) as { code?: string; detail?: string; title?: string };
      code = p.code;
      detail = p.detail ?? p.title ?? detail;
    } catch {
      /* not problem+json */
    }
    throw new ApiError(`${method} ${path}: ${response.status} ${detail}`, response.status, parseRetryAfter(response.headers.get('retry-after'), now()), code);
  }

  async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await call(method, path, body);
    if (!r.ok) return fail(method, path, r);
    return (await r.json()) as T;
  }

  return {
    registerNode: (spec, labels) =>
      json<Node>('PUT', nodePath, {
        apiVersion: 'fleetnet.io/v1',
        kind: 'Node',
        metadata: { name: options.nodeName, ...(labels ? { labels } : {}) },
        spec,
      }),
    putNodeStatus: (status) => json<Node>('PUT', `${nodePath}/status`, status),
    async getDesiredState(ifNoneMatch) {
      const path = `${nodePath}/desiredstate`;
      const r = await call('GET', path, undefined, ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {});
      if (r.status === 304) {
        await r.arrayBuffer().catch(() => undefined);
        return { status: 304, etag: r.headers.get('etag') ?? ifNoneMatch ?? '' };
      }
      if (!r.ok) return fail('GET', path, r);
      const etag = r.headers.get('etag');
      if (!etag) throw new ApiError(`GET ${path}: 200 without an ETag`, 200);
      return { status: 200, etag, bundle: (await r.json()) as DesiredState };
    },
    postFlows: (batch) => json<FlowIngestResult>('POST', `${nodePath}/flows`, batch),
  };
}
