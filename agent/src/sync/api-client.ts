/**
 * The agent's client of the fleetnet API: the node operations of openapi.yaml (registerNode,
 * putNodeStatus, getDesiredState, getBundledPolicy, ingestFlowSummaries). `fetch` and the token come in
 * through options. Every non-2xx (and non-304 for the poll) is an ApiError carrying the status and
 * Retry-After; a network failure is an ApiError with status 0. Tokens never appear in errors or logs.
 *
 * Desired state is format fleetnet.io/v2 only (a manifest of policy references): the poll asks for it by
 * media type, and an API that does not serve it — a 406, or a 200 whose `apiVersion` is another format —
 * is an ApiError with code `UnsupportedDesiredStateFormat`, never a bundle.
 */
import { DESIRED_STATE_API_VERSION, DESIRED_STATE_MEDIA_TYPE } from '../../../core/bundle/desired-state-format.js';
import type { BundledPolicy, DesiredState, FlowIngestResult, FlowSummaryBatch, Node, NodeSpec, NodeStatus } from '../../../openapi/types.js';
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

  /** Worth retrying as is: no response, 408, 429, 5xx, and a policy body the manifest stopped listing
   *  while it was being resolved (the next poll brings the newer manifest). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500 || this.code === SyncErrorCode.PolicyGenerationGone;
  }
}

/** Stable `code`s of the errors the agent raises itself on the desired-state path (not the server's). */
export const SyncErrorCode = {
  /** the API does not serve desired-state format fleetnet.io/v2 (406, or a 200 in another format) */
  UnsupportedDesiredStateFormat: 'UnsupportedDesiredStateFormat',
  /** a 200 manifest that does not have the DesiredState v2 shape */
  InvalidDesiredState: 'InvalidDesiredState',
  /** a fetched policy body whose name, generation, mode or content hash is not what the manifest lists */
  PolicyContentMismatch: 'PolicyContentMismatch',
  /** 404 for a policy body: the cluster's current manifest no longer lists that generation */
  PolicyGenerationGone: 'PolicyGenerationGone',
} as const;

export type DesiredStateResult =
  | { status: 200; etag: string; manifest: DesiredState }
  | { status: 304; etag: string };

export interface ApiClient {
  registerNode(spec: NodeSpec, labels?: Record<string, string>): Promise<Node>;
  putNodeStatus(status: NodeStatus): Promise<Node>;
  /** The manifest (format fleetnet.io/v2, shape checked), or 304 for `ifNoneMatch`. */
  getDesiredState(ifNoneMatch?: string): Promise<DesiredStateResult>;
  /** One policy body a manifest lists, as served (checking it against the manifest is the caller's job). */
  getBundledPolicy(name: string, generation: number): Promise<BundledPolicy>;
  postFlows(batch: FlowSummaryBatch): Promise<FlowIngestResult>;
}

const CONTENT_HASH = /^[0-9a-f]{64}$/;

/** Why `body` is not a DesiredState v2 manifest, or undefined when it is one (shape only; apiVersion is
 *  checked before). */
export function describeInvalidManifest(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'the body is not an object';
  const m = body as Record<string, unknown>;
  if (m.kind !== 'DesiredState') return `kind is ${JSON.stringify(m.kind)}, not "DesiredState"`;
  if (typeof m.clusterId !== 'string') return 'clusterId is not a string';
  if (!Number.isInteger(m.revision) || (m.revision as number) < 1) return 'revision is not a positive integer';
  if (typeof m.encryption !== 'object' || m.encryption === null) return 'encryption is not an object';
  if (!Array.isArray(m.policies)) return 'policies is not an array';
  const names = new Set<string>();
  for (const [i, p] of (m.policies as unknown[]).entries()) {
    const r = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
    if (typeof r.name !== 'string' || r.name === '') return `policies/${i}/name is not a name`;
    if (!Number.isInteger(r.generation) || (r.generation as number) < 1) return `policies/${i}/generation is not a positive integer`;
    if (r.mode !== 'enforce' && r.mode !== 'audit') return `policies/${i}/mode is not enforce or audit`;
    if (typeof r.contentHash !== 'string' || !CONTENT_HASH.test(r.contentHash)) return `policies/${i}/contentHash is not a SHA-256 hex digest`;
    if (names.has(r.name)) return `policy ${r.name} is listed twice`;
    names.add(r.name);
  }
  return undefined;
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
    try {
      const c = (JSON.parse(text) as { code?: unknown } | null)?.code;
      if (typeof c === 'string') code = c;
    } catch {
      /* not problem+json */
    }
    throw new ApiError(`${method} ${path}: ${response.status} ${problemDetail(text)}`, response.status, parseRetryAfter(response.headers.get('retry-after'), now()), code);
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
      const r = await call('GET', path, undefined, { accept: DESIRED_STATE_MEDIA_TYPE, ...(ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {}) });
      if (r.status === 304) {
        await r.arrayBuffer().catch(() => undefined);
        return { status: 304, etag: r.headers.get('etag') ?? ifNoneMatch ?? '' };
      }
      if (r.status === 406) {
        const detail = await r.text().catch(() => '');
        throw new ApiError(
          `GET ${path}: 406: the API does not serve desired-state format ${DESIRED_STATE_API_VERSION} (${DESIRED_STATE_MEDIA_TYPE}), which this agent requires; ` +
            `upgrade or downgrade the agent or the API so that they speak the same format. The previous bundle stays enforced.` +
            (detail ? ` Server said: ${problemDetail(detail)}` : ''),
          406,
          parseRetryAfter(r.headers.get('retry-after'), now()),
          SyncErrorCode.UnsupportedDesiredStateFormat,
        );
      }
      if (!r.ok) return fail('GET', path, r);
      const etag = r.headers.get('etag');
      if (!etag) throw new ApiError(`GET ${path}: 200 without an ETag`, 200);
      let body: unknown;
      try {
        body = await r.json();
      } catch (e) {
        throw new ApiError(`GET ${path}: 200 with a body that is not JSON (${(e as Error).message})`, 200, undefined, SyncErrorCode.InvalidDesiredState);
      }
      const apiVersion = (body as { apiVersion?: unknown } | null)?.apiVersion;
      if (apiVersion !== DESIRED_STATE_API_VERSION) {
        throw new ApiError(
          `GET ${path}: the API served desired-state format ${JSON.stringify(apiVersion ?? null)} but this agent requires ${DESIRED_STATE_API_VERSION} ` +
            `(a manifest of policy references): the API is of another release; upgrade or downgrade the agent or the API so that they speak the same format. ` +
            `Nothing from this response is enforced; the previous bundle stays enforced.`,
          200,
          undefined,
          SyncErrorCode.UnsupportedDesiredStateFormat,
        );
      }
      const invalid = describeInvalidManifest(body);
      if (invalid) throw new ApiError(`GET ${path}: 200 with an invalid ${DESIRED_STATE_API_VERSION} manifest: ${invalid}`, 200, undefined, SyncErrorCode.InvalidDesiredState);
      return { status: 200, etag, manifest: body as DesiredState };
    },
    getBundledPolicy: (name, generation) =>
      json<BundledPolicy>('GET', `${nodePath}/desiredstate/policies/${encodeURIComponent(name)}/${encodeURIComponent(String(generation))}`),
    postFlows: (batch) => json<FlowIngestResult>('POST', `${nodePath}/flows`, batch),
  };
}

/** A problem+json body's detail (or title), else the first 500 characters of the body. */
function problemDetail(text: string): string {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  const problem = (typeof p === 'object' && p !== null ? p : {}) as { detail?: unknown; title?: unknown };
  const detail = typeof problem.detail === 'string' ? problem.detail : typeof problem.title === 'string' ? problem.title : text;
  return detail.slice(0, 500);
}
