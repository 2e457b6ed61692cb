/**
 * The agent's client of the fleetnet API: the node operations of openapi.yaml (registerNode,
 * putNodeStatus, getDesiredState, getBundledPolicy, ingestFlowSummaries), on the contract-typed client
 * (openapi/client.ts). `fetch` and the token come in through options. Every non-2xx (and non-304 for the
 * poll) is an ApiError carrying the status and Retry-After; a network failure is an ApiError with status
 * 0. Tokens never appear in errors or logs.
 *
 * Desired state is format fleetnet.io/v2 only (a manifest of policy references): the poll asks for it by
 * media type, and an API that does not serve it — a 406, or a 200 whose `apiVersion` is another format —
 * is an ApiError with code `UnsupportedDesiredStateFormat`, never a bundle.
 */
import { DESIRED_STATE_API_VERSION, DESIRED_STATE_MEDIA_TYPE } from '../../../core/bundle/desired-state-format.js';
import type { BundledPolicy, DesiredState, FlowIngestResult, FlowSummaryBatch, Node, NodeSpec, NodeStatus } from '../../../openapi/types.js';
import { ApiError, answerError, createFleetnetClient, expectOk, failure, problemDetail } from '../../../openapi/client.js';
import type { TokenProvider } from './token-provider.js';

export { ApiError } from '../../../openapi/client.js';

/** fetch over a Request (what the typed client sends); tests pass a fake API's. */
export type FetchLike = (request: Request) => Promise<Response>;

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
  const now = options.now ?? Date.now;
  const client = createFleetnetClient({
    baseUrl: options.baseUrl,
    token: options.token,
    timeoutMs: options.timeoutMs ?? 15_000,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const node = { clusterId: options.clusterId, nodeName: options.nodeName };
  const nodePath = `/clusters/${encodeURIComponent(options.clusterId)}/nodes/${encodeURIComponent(options.nodeName)}`;

  return {
    registerNode: (spec, labels) =>
      expectOk(
        client.PUT('/clusters/{clusterId}/nodes/{nodeName}', {
          params: { path: node },
          body: { apiVersion: 'fleetnet.io/v1', kind: 'Node', metadata: { name: options.nodeName, ...(labels ? { labels } : {}) }, spec },
        }),
        `PUT ${nodePath}`,
        now,
      ),
    putNodeStatus: (status) => expectOk(client.PUT('/clusters/{clusterId}/nodes/{nodeName}/status', { params: { path: node }, body: status }), `PUT ${nodePath}/status`, now),
    async getDesiredState(ifNoneMatch) {
      const what = `GET ${nodePath}/desiredstate`;
      let answer: { data?: string; error?: unknown; response: Response };
      try {
        // read as text: a 200 is checked (JSON, format, shape) before it is trusted
        answer = await client.GET('/clusters/{clusterId}/nodes/{nodeName}/desiredstate', {
          params: { path: node, header: { Accept: DESIRED_STATE_MEDIA_TYPE, ...(ifNoneMatch ? { 'If-None-Match': ifNoneMatch } : {}) } },
          parseAs: 'text',
        });
      } catch (e) {
        throw failure(e, what);
      }
      const r = answer.response;
      if (r.status === 304) return { status: 304, etag: r.headers.get('etag') ?? ifNoneMatch ?? '' };
      if (r.status === 406) {
        const detail = problemDetail(answer.error);
        throw new ApiError(
          `${what}: 406: the API does not serve desired-state format ${DESIRED_STATE_API_VERSION} (${DESIRED_STATE_MEDIA_TYPE}), which this agent requires; ` +
            `upgrade or downgrade the agent or the API so that they speak the same format. The previous bundle stays enforced.` +
            (detail ? ` Server said: ${detail}` : ''),
          406,
          { code: SyncErrorCode.UnsupportedDesiredStateFormat },
        );
      }
      if (!r.ok) throw answerError(r, answer.error, what, now);
      const etag = r.headers.get('etag');
      if (!etag) throw new ApiError(`${what}: 200 without an ETag`, 200);
      let body: unknown;
      try {
        body = JSON.parse(answer.data ?? '');
      } catch (e) {
        throw new ApiError(`${what}: 200 with a body that is not JSON (${(e as Error).message})`, 200, { code: SyncErrorCode.InvalidDesiredState });
      }
      const apiVersion = (body as { apiVersion?: unknown } | null)?.apiVersion;
      if (apiVersion !== DESIRED_STATE_API_VERSION) {
        throw new ApiError(
          `${what}: the API served desired-state format ${JSON.stringify(apiVersion ?? null)} but this agent requires ${DESIRED_STATE_API_VERSION} ` +
            `(a manifest of policy references): the API is of another release; upgrade or downgrade the agent or the API so that they speak the same format. ` +
            `Nothing from this response is enforced; the previous bundle stays enforced.`,
          200,
          { code: SyncErrorCode.UnsupportedDesiredStateFormat },
        );
      }
      const invalid = describeInvalidManifest(body);
      if (invalid) throw new ApiError(`${what}: 200 with an invalid ${DESIRED_STATE_API_VERSION} manifest: ${invalid}`, 200, { code: SyncErrorCode.InvalidDesiredState });
      return { status: 200, etag, manifest: body as DesiredState };
    },
    getBundledPolicy: (name, generation) =>
      expectOk(
        client.GET('/clusters/{clusterId}/nodes/{nodeName}/desiredstate/policies/{name}/{generation}', { params: { path: { ...node, name, generation } } }),
        `GET ${nodePath}/desiredstate/policies/${encodeURIComponent(name)}/${generation}`,
        now,
      ),
    postFlows: (batch) => expectOk(client.POST('/clusters/{clusterId}/nodes/{nodeName}/flows', { params: { path: node }, body: batch }), `POST ${nodePath}/flows`, now),
  };
}
