/**
 * Test double of the API's node endpoints as an injected `fetch` (the api client's `fetch` option): a
 * desired-state manifest (fleetnet.io/v2, ETag, 304 on If-None-Match, 406 for another Accept), policy
 * bodies served only while the current manifest lists them (404 otherwise), node registration and
 * status. Every request is recorded. Knobs let a test serve another format, a 406 or a wrong body.
 * Used by unit tests only.
 */
import { bundledPolicyHash } from '../../../core/bundle/bundled-policy.js';
import { DESIRED_STATE_API_VERSION, DESIRED_STATE_MEDIA_TYPE } from '../../../core/bundle/desired-state-format.js';
import type { BundledPolicy, DesiredState, NodeStatus } from '../../../openapi/types.js';
import type { FetchLike } from './api-client.js';

export const FAKE_BASE_URL = 'http://api.test/api';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  status: number;
}

export class FakeDesiredStateApi {
  readonly requests: RecordedRequest[] = [];
  readonly statuses: NodeStatus[] = [];
  revision = 0;
  etag = '';
  manifest!: DesiredState;
  /** bodies by `name/generation`, served while the manifest lists them */
  readonly bodies = new Map<string, BundledPolicy>();
  /** what the poll answers: the v2 manifest, a v1 bundle (an older API), 406 (an API without v2), or
   *  404 DesiredStatePending (a cluster registered so recently that it is not compiled yet) */
  format: 'v2' | 'v1' | '406' | 'pending' = 'v2';
  /** replaces the body served for `name/generation` (to serve a wrong one) */
  readonly tamper = new Map<string, BundledPolicy>();
  /** policy-body requests in flight now, and the most seen at once */
  inFlight = 0;
  maxInFlight = 0;
  /** delay of each policy-body answer, ms */
  bodyDelayMs = 0;
  /** called after each poll was answered (e.g. to move the manifest on before the bodies are fetched) */
  afterPoll: (() => void) | undefined;

  constructor(
    readonly clusterId = 'c1',
    readonly nodeName = 'n1',
  ) {
    this.publish([]);
  }

  /** A new manifest listing `policies` (bodies kept for the fetches); ETag and revision move. */
  publish(policies: readonly BundledPolicy[]): void {
    this.revision += 1;
    this.etag = `"m${this.revision}"`;
    this.bodies.clear();
    for (const p of policies) this.bodies.set(`${p.name}/${p.generation}`, p);
    this.manifest = {
      apiVersion: DESIRED_STATE_API_VERSION,
      kind: 'DesiredState',
      clusterId: this.clusterId,
      revision: this.revision,
      policies: policies.map((p) => ({ name: p.name, generation: p.generation, mode: p.mode, contentHash: bundledPolicyHash(p) })),
      encryption: { clusterId: this.clusterId, settings: { enabled: false }, appliedOverrides: [], settingsGeneration: null } as unknown as DesiredState['encryption'],
    };
  }

  /** policy-body requests since `from` (index into `requests`), as `name/generation` */
  bodyFetches(from = 0): string[] {
    return this.requests.slice(from).flatMap((r) => {
      const m = /\/desiredstate\/policies\/([^/]+)\/(\d+)$/.exec(r.path);
      return m ? [`${decodeURIComponent(m[1]!)}/${m[2]}`] : [];
    });
  }

  polls(from = 0): RecordedRequest[] {
    return this.requests.slice(from).filter((r) => r.path.endsWith('/desiredstate'));
  }

  readonly fetch: FetchLike = async (request) => {
    const url = new URL(request.url);
    const path = url.pathname.slice(new URL(FAKE_BASE_URL).pathname.length);
    const headers = Object.fromEntries([...request.headers].map(([k, v]) => [k.toLowerCase(), v]));
    const method = request.method;
    const answer = await this.route(method, path, headers, request.body === null ? undefined : await request.text());
    this.requests.push({ method, path, headers, status: answer.status });
    return answer;
  };

  private async route(method: string, path: string, headers: Record<string, string>, body: unknown): Promise<Response> {
    const node = `/clusters/${this.clusterId}/nodes/${this.nodeName}`;
    if (method === 'PUT' && path === node) return json(200, { apiVersion: 'fleetnet.io/v1', kind: 'Node', metadata: { name: this.nodeName }, spec: JSON.parse(String(body)).spec });
    if (method === 'PUT' && path === `${node}/status`) {
      this.statuses.push(JSON.parse(String(body)) as NodeStatus);
      return json(200, { apiVersion: 'fleetnet.io/v1', kind: 'Node', metadata: { name: this.nodeName }, spec: {} });
    }
    if (method === 'GET' && path === `${node}/desiredstate`) {
      const answer = this.poll(headers);
      this.afterPoll?.();
      return answer;
    }
    const m = new RegExp(`^${node}/desiredstate/policies/([^/]+)/(\\d+)$`).exec(path);
    if (method === 'GET' && m) {
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      try {
        if (this.bodyDelayMs > 0) await new Promise((r) => setTimeout(r, this.bodyDelayMs));
        const key = `${decodeURIComponent(m[1]!)}/${m[2]}`;
        const served = this.tamper.get(key) ?? this.bodies.get(key);
        if (!served) return problem(404, 'NotFound', `policy ${key} is not in the cluster's desired state`);
        return json(200, served, { etag: `"${bundledPolicyHash(served)}"` });
      } finally {
        this.inFlight -= 1;
      }
    }
    return problem(404, 'NotFound', `no route ${method} ${path}`);
  }

  private poll(headers: Record<string, string>): Response {
    if (this.format === '406' || !(headers.accept ?? '').includes(DESIRED_STATE_MEDIA_TYPE)) {
      return problem(406, 'NotAcceptable', 'This API serves desired state only as application/vnd.fleetnet.desiredstate.v1+json.');
    }
    if (this.format === 'pending') {
      const pending = problem(404, 'DesiredStatePending', 'The desired state of cluster "c1" is being compiled; retry in 1 s.');
      pending.headers.set('retry-after', '1');
      return pending;
    }
    if (headers['if-none-match'] === this.etag) return new Response(null, { status: 304, headers: { etag: this.etag } });
    if (this.format === 'v1') {
      const bundle = { ...this.manifest, apiVersion: 'fleetnet.io/v1', policies: [...this.bodies.values()] };
      return json(200, bundle, { etag: this.etag });
    }
    return json(200, this.manifest, { etag: this.etag, 'content-type': DESIRED_STATE_MEDIA_TYPE });
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

function problem(status: number, code: string, detail: string): Response {
  return new Response(JSON.stringify({ type: 'about:blank', title: code, status, code, detail }), { status, headers: { 'content-type': 'application/problem+json' } });
}

/** A small valid policy body. */
export function bundled(name: string, generation = 1, port = '80', mode: BundledPolicy['mode'] = 'enforce'): BundledPolicy {
  return {
    name,
    generation,
    mode,
    spec: {
      mode,
      endpointSelector: { matchLabels: { app: name } },
      ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port, protocol: 'TCP' }] }] }],
    } as BundledPolicy['spec'],
  };
}
