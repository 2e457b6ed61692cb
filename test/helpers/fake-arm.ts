/**
 * A local fake of Azure Resource Manager for AKS managed clusters, spoken to by the real
 * `@azure/arm-containerservice` client over HTTPS (local-https.ts: a self-signed certificate made at start,
 * trusted by the client through `tlsOptions.ca`; nothing disables TLS verification).
 *
 * Protocol (ARM's, as AKS does; paths and resource ids match case-insensitively; any api-version is
 * accepted and kept in the request log):
 *   GET  /subscriptions/S/providers/Microsoft.ContainerService/managedClusters            → 200 {value, nextLink?}
 *   GET  /subscriptions/S/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters
 *        pages of `pageSize`; nextLink = absolute https URL of the fake with api-version and `$skipToken`
 *        (an offset); the last page has no nextLink.
 *   GET  …/managedClusters/NAME   → 200 body + `ETag` header; 404 {error:{code:"ResourceNotFound"}}
 *   PUT  …/managedClusters/NAME   → If-Match present and ≠ stored eTag (or no cluster) → 412 PreconditionFailed,
 *        nothing changes; If-None-Match: * on an existing cluster → 412; else 201 (new, "Creating") or
 *        200 ("Updating") with `Azure-AsyncOperation` and `Retry-After: 0`.
 *   PATCH …/managedClusters/NAME  {tags} → same treatment (200, "Updating").
 *   DELETE …/managedClusters/NAME → 202 + `Azure-AsyncOperation`; the cluster goes on success.
 *   GET  /subscriptions/S/providers/Microsoft.ContainerService/locations/L/operations/ID
 *        → {name, status:"InProgress", startTime} for `pollsBeforeDone` polls, then "Succeeded" (the
 *        cluster becomes the written body, provisioningState "Succeeded", a new eTag) or, when scripted
 *        with `failNextOperation`, {status:"Failed", error:{code,message}} (provisioningState "Failed",
 *        properties as before the write).
 * Every request is logged before any check. Order of checks: bearer token (401 InvalidAuthenticationToken),
 * scripted throttling (429 TooManyRequests + Retry-After), scripted subscription failure, routing.
 *
 * `Retry-After: 0` on writes and polls: @azure/core-lro ignores a zero value, so the caller's
 * `updateIntervalInMs` sets the poll pace (default 2000 ms — tests pass a small one).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import { ContainerServiceClient, type ContainerServiceClientOptionalParams } from '@azure/arm-containerservice';
import { startLocalHttpsServer } from './local-https.js';
import { UPSTREAM_FIXTURES } from './upstream-fixtures.js';

/** A managed cluster as ARM puts it on the wire (the fixtures' response bodies). */
export interface ArmManagedCluster {
  id: string;
  name: string;
  type?: string;
  location: string;
  eTag?: string;
  tags?: Record<string, string>;
  properties?: { provisioningState?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** One ARM example file: `{parameters, responses: {"200": {body}, …}}`. */
export interface ArmExample {
  parameters: Record<string, unknown>;
  responses: Record<string, { body?: unknown; headers?: Record<string, string> }>;
}

export interface ArmRequest {
  method: string;
  /** path as sent (case preserved), without the query */
  path: string;
  query: Record<string, string>;
  /** lower-cased header names (authorization, if-match, if-none-match, …) */
  headers: Record<string, string | undefined>;
  /** parsed JSON body, or undefined */
  body: unknown;
}

export interface ArmErrorSpec {
  status: number;
  code: string;
  message?: string;
}

export interface FakeArmOptions {
  /** items per list page (default 100) */
  pageSize?: number;
  /** InProgress answers before an operation finishes (default 1) */
  pollsBeforeDone?: number;
  /** the bearer token the fake accepts and `credential` returns (default a fixed string) */
  token?: string;
}

/** What a ContainerServiceClient needs to talk to the fake. */
export interface ArmConnection {
  endpoint: string;
  tlsOptions: { ca: string };
  credential: TokenCredential;
}

export interface FakeArm extends ArmConnection {
  /** https://127.0.0.1:PORT */
  url: string;
  /** the self-signed certificate (PEM) the server presents; also `tlsOptions.ca` */
  ca: string;
  pageSize: number;
  pollsBeforeDone: number;
  requests: ArmRequest[];
  /** client options: endpoint + tlsOptions, merged with `extra` (e.g. retryOptions) */
  armClientOptions(extra?: ContainerServiceClientOptionalParams): ContainerServiceClientOptionalParams;
  /** a real ContainerServiceClient pointed at the fake */
  client(subscriptionId: string, extra?: ContainerServiceClientOptionalParams): ContainerServiceClient;
  /** store (or replace) clusters as given; a missing eTag is assigned */
  seed(...clusters: ArmManagedCluster[]): void;
  /** the stored cluster (a copy), case-insensitive id */
  cluster(id: string): ArmManagedCluster | undefined;
  /** drop a cluster at once (GET → 404, not listed); false if it was not there */
  deleteCluster(id: string): boolean;
  /** the next `n` requests matching `match` (default: all) get 429 TooManyRequests with Retry-After */
  throttle(n: number, retryAfterSeconds: number, match?: (req: ArmRequest) => boolean): void;
  /** every request under the subscription fails (default 403 AuthorizationFailed) until cleared */
  failSubscription(subscriptionId: string, error?: Partial<ArmErrorSpec>): void;
  clearSubscriptionFailure(subscriptionId: string): void;
  /** the next write (PUT/PATCH/DELETE) accepted ends in status Failed with this error */
  failNextOperation(code: string, message: string): void;
  /** frees the port and removes the temp certificate files */
  close(): Promise<void>;
}

export const ARM_FIXTURES = resolve(UPSTREAM_FIXTURES, 'arm');
export const DEFAULT_ARM_TOKEN = 'fake-arm-token';

/** Reads an ARM example file from the shared fixtures (read-only). */
export function readArmFixture(file: string): ArmExample {
  return JSON.parse(readFileSync(resolve(ARM_FIXTURES, file), 'utf8')) as ArmExample;
}

/** The resource id ARM gives a managed cluster. */
export function managedClusterId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${name}`;
}

/**
 * A deep copy of a fixture's 200 managed-cluster body, renamed to subscription/resourceGroup/name, with
 * the given eTag (default a fresh one) and tags (default the fixture's).
 */
export function clusterFromFixture(
  file: string,
  at: { subscriptionId: string; resourceGroup: string; name: string; eTag?: string; tags?: Record<string, string> },
): ArmManagedCluster {
  const body = structuredClone(readArmFixture(file).responses['200']?.body) as ArmManagedCluster | undefined;
  if (!body || typeof body !== 'object' || !('properties' in body)) throw new Error(`${file}: no managed-cluster 200 body`);
  body.id = managedClusterId(at.subscriptionId, at.resourceGroup, at.name);
  body.name = at.name;
  body.eTag = at.eTag ?? newETag();
  if (at.tags) body.tags = { ...at.tags };
  return body;
}

/** A TokenCredential whose getToken always returns `token` (valid for an hour from each call). */
export function staticTokenCredential(token: string = DEFAULT_ARM_TOKEN): TokenCredential {
  return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
}

const newETag = () => randomUUID();
/** `"x"`, `W/"x"` and `x` compare equal. */
const bareETag = (t: string) => t.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

interface Operation {
  id: string;
  key: string;
  kind: 'write' | 'delete';
  /** the cluster to store on success (write) */
  next?: ArmManagedCluster;
  /** the cluster before the write (restored, with provisioningState Failed, on failure); undefined when new */
  before?: ArmManagedCluster;
  pollsLeft: number;
  failure?: { code: string; message: string };
  startTime: string;
  endTime?: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
}

const PROVIDER = 'microsoft.containerservice';

export async function startFakeArm(options: FakeArmOptions = {}): Promise<FakeArm> {
  const token = options.token ?? DEFAULT_ARM_TOKEN;
  const clusters = new Map<string, ArmManagedCluster>(); // lower-cased id → cluster
  const operations = new Map<string, Operation>();
  const throttles: { left: number; retryAfter: number; match: (r: ArmRequest) => boolean }[] = [];
  const subscriptionFailures = new Map<string, ArmErrorSpec>();
  let nextFailure: { code: string; message: string } | undefined;

  const store = (c: ArmManagedCluster) => clusters.set(c.id.toLowerCase(), structuredClone(c));

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }), 'x-ms-request-id': randomUUID(), ...headers });
    res.end(text);
  };
  const fail = (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) =>
    send(res, status, { error: { code, message } }, headers);

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const url = new URL(req.url ?? '/', fake.url);
    let body: unknown;
    let badJson = false;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        badJson = true;
      }
    }
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    const logged: ArmRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body };
    fake.requests.push(logged);

    if (headers.authorization !== `Bearer ${token}`) {
      fail(res, 401, 'InvalidAuthenticationToken', 'The access token is invalid.');
      return;
    }
    const throttle = throttles.find((t) => t.left > 0 && t.match(logged));
    if (throttle) {
      throttle.left--;
      fail(res, 429, 'TooManyRequests', 'The request is being throttled.', { 'retry-after': String(throttle.retryAfter) });
      return;
    }
    const seg = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    const lower = seg.map((s) => s.toLowerCase());
    if (lower[0] !== 'subscriptions' || seg[1] === undefined) {
      fail(res, 404, 'InvalidResourceType', `No route for ${url.pathname}.`);
      return;
    }
    const sub = seg[1];
    const subFailure = subscriptionFailures.get(sub.toLowerCase());
    if (subFailure) {
      fail(res, subFailure.status, subFailure.code, subFailure.message ?? `Request for subscription '${sub}' failed.`);
      return;
    }
    if (badJson) {
      fail(res, 400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.');
      return;
    }
    const apiVersion = url.searchParams.get('api-version') ?? '';
    const method = logged.method.toUpperCase();
    const rest = lower.slice(2);

    // /subscriptions/S/providers/P/locations/L/operations/ID
    if (method === 'GET' && rest.length === 6 && rest[0] === 'providers' && rest[1] === PROVIDER && rest[2] === 'locations' && rest[4] === 'operations') {
      pollOperation(res, seg[7]!);
      return;
    }
    // /subscriptions/S/providers/P/managedClusters
    if (method === 'GET' && rest.length === 3 && rest[0] === 'providers' && rest[1] === PROVIDER && rest[2] === 'managedclusters') {
      list(res, url, `/subscriptions/${sub}/`.toLowerCase(), apiVersion);
      return;
    }
    // /subscriptions/S/resourceGroups/RG/providers/P/managedClusters[/NAME]
    if (rest[0] === 'resourcegroups' && rest.length >= 5 && rest[2] === 'providers' && rest[3] === PROVIDER && rest[4] === 'managedclusters') {
      const rg = seg[3]!;
      if (rest.length === 5 && method === 'GET') {
        list(res, url, `/subscriptions/${sub}/resourceGroups/${rg}/`.toLowerCase(), apiVersion);
        return;
      }
      if (rest.length === 6) {
        const name = seg[7]!;
        const id = managedClusterId(sub, rg, name);
        if (method === 'GET') return getCluster(res, id, rg, name);
        if (method === 'PUT') return putCluster(res, logged, id, sub, name, apiVersion);
        if (method === 'PATCH') return patchCluster(res, logged, id, sub, rg, name, apiVersion);
        if (method === 'DELETE') return deleteViaApi(res, logged, id, sub, apiVersion);
      }
    }
    fail(res, 404, 'InvalidResourceType', `The resource type could not be found for ${method} ${url.pathname}.`);
  };

  const notFound = (res: ServerResponse, rg: string, name: string) =>
    fail(res, 404, 'ResourceNotFound', `The Resource 'Microsoft.ContainerService/managedClusters/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);

  const list = (res: ServerResponse, url: URL, idPrefix: string, apiVersion: string) => {
    const all = [...clusters.entries()].filter(([k]) => k.startsWith(idPrefix)).map(([, c]) => c);
    const skip = Math.max(0, Number.parseInt(url.searchParams.get('$skipToken') ?? '0', 10) || 0);
    const page = all.slice(skip, skip + fake.pageSize);
    const body: { value: ArmManagedCluster[]; nextLink?: string } = { value: page };
    if (skip + fake.pageSize < all.length) {
      const next = new URL(url.pathname, fake.url);
      next.searchParams.set('api-version', apiVersion);
      next.searchParams.set('$skipToken', String(skip + fake.pageSize));
      body.nextLink = next.toString();
    }
    send(res, 200, body);
  };

  const getCluster = (res: ServerResponse, id: string, rg: string, name: string) => {
    const c = clusters.get(id.toLowerCase());
    if (!c) return notFound(res, rg, name);
    send(res, 200, c, c.eTag ? { etag: c.eTag } : {});
  };

  /** 412 when If-Match / If-None-Match rule the write out; returns true if it answered. */
  const preconditionFailed = (res: ServerResponse, req: ArmRequest, existing: ArmManagedCluster | undefined): boolean => {
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    const stale =
      (ifMatch !== undefined && (!existing || (bareETag(ifMatch) !== '*' && bareETag(ifMatch) !== bareETag(existing.eTag ?? '')))) ||
      (ifNoneMatch !== undefined && existing !== undefined && (bareETag(ifNoneMatch) === '*' || bareETag(ifNoneMatch) === bareETag(existing.eTag ?? '')));
    if (stale) {
      fail(res, 412, 'PreconditionFailed', `Operation failed as the provided eTag ${ifMatch ?? ifNoneMatch} does not match the resource's eTag ${existing?.eTag ?? '(none)'}.`);
    }
    return stale;
  };

  const startOperation = (kind: Operation['kind'], key: string, before: ArmManagedCluster | undefined, next?: ArmManagedCluster): Operation => {
    const op: Operation = {
      id: randomUUID(),
      key,
      kind,
      ...(next ? { next } : {}),
      ...(before ? { before } : {}),
      pollsLeft: fake.pollsBeforeDone,
      ...(nextFailure ? { failure: nextFailure } : {}),
      startTime: new Date().toISOString(),
      status: 'InProgress',
    };
    nextFailure = undefined;
    operations.set(op.id, op);
    return op;
  };
  const asyncHeaders = (sub: string, location: string, op: Operation, apiVersion: string) => ({
    'azure-asyncoperation': `${fake.url}/subscriptions/${sub}/providers/Microsoft.ContainerService/locations/${encodeURIComponent(location)}/operations/${op.id}?api-version=${encodeURIComponent(apiVersion)}`,
    'retry-after': '0',
  });

  /** Answers a write: stores the in-flight view (`provisioningState`), starts the operation. */
  const acceptWrite = (res: ServerResponse, sub: string, existing: ArmManagedCluster | undefined, next: ArmManagedCluster, apiVersion: string) => {
    const key = next.id.toLowerCase();
    const state = existing ? 'Updating' : 'Creating';
    const op = startOperation('write', key, existing ? structuredClone(existing) : undefined, structuredClone(next));
    // while the operation runs, GET shows the old properties (or the new body for a create) in the transient state
    const inFlight = structuredClone(existing ?? next);
    inFlight.properties = { ...(inFlight.properties ?? {}), provisioningState: state };
    clusters.set(key, inFlight);
    const answer = structuredClone(next);
    answer.properties = { ...(answer.properties ?? {}), provisioningState: state };
    if (existing?.eTag) answer.eTag = existing.eTag;
    send(res, existing ? 200 : 201, answer, asyncHeaders(sub, next.location, op, apiVersion));
  };

  const putCluster = (res: ServerResponse, req: ArmRequest, id: string, sub: string, name: string, apiVersion: string) => {
    const existing = clusters.get(id.toLowerCase());
    if (preconditionFailed(res, req, existing)) return;
    const b = req.body as Partial<ArmManagedCluster> | undefined;
    if (!b || typeof b !== 'object' || typeof b.location !== 'string') {
      fail(res, 400, 'LocationRequired', 'The location property is required for this definition.');
      return;
    }
    const next: ArmManagedCluster = {
      ...structuredClone(b),
      id: existing?.id ?? id,
      name: existing?.name ?? name,
      type: 'Microsoft.ContainerService/managedClusters',
      location: b.location,
    };
    delete next.eTag;
    acceptWrite(res, sub, existing, next, apiVersion);
  };

  const patchCluster = (res: ServerResponse, req: ArmRequest, id: string, sub: string, rg: string, name: string, apiVersion: string) => {
    const existing = clusters.get(id.toLowerCase());
    if (!existing) return notFound(res, rg, name);
    if (preconditionFailed(res, req, existing)) return;
    const tags = (req.body as { tags?: Record<string, string> } | undefined)?.tags;
    const next = structuredClone(existing);
    if (tags !== undefined) next.tags = { ...tags };
    delete next.eTag;
    acceptWrite(res, sub, existing, next, apiVersion);
  };

  const deleteViaApi = (res: ServerResponse, req: ArmRequest, id: string, sub: string, apiVersion: string) => {
    const existing = clusters.get(id.toLowerCase());
    if (!existing) return send(res, 204);
    if (preconditionFailed(res, req, existing)) return;
    const op = startOperation('delete', id.toLowerCase(), structuredClone(existing));
    clusters.set(op.key, { ...existing, properties: { ...(existing.properties ?? {}), provisioningState: 'Deleting' } });
    send(res, 202, undefined, asyncHeaders(sub, existing.location, op, apiVersion));
  };

  const pollOperation = (res: ServerResponse, opId: string) => {
    const op = operations.get(opId.toLowerCase()) ?? operations.get(opId);
    if (!op) {
      fail(res, 404, 'NotFound', `Operation ${opId} not found.`);
      return;
    }
    if (op.status === 'InProgress') {
      if (op.pollsLeft > 0) op.pollsLeft--;
      else finish(op);
    }
    send(res, 200, {
      id: `${op.id}`,
      name: op.id,
      status: op.status,
      startTime: op.startTime,
      ...(op.endTime ? { endTime: op.endTime } : {}),
      ...(op.status === 'Failed' && op.failure ? { error: op.failure } : {}),
    }, { 'retry-after': '0' });
  };

  const finish = (op: Operation) => {
    op.endTime = new Date().toISOString();
    if (op.failure) {
      op.status = 'Failed';
      const base = structuredClone(op.before ?? op.next!);
      base.properties = { ...(base.properties ?? {}), provisioningState: 'Failed' };
      base.eTag = op.before?.eTag ?? newETag();
      clusters.set(op.key, base);
      return;
    }
    op.status = 'Succeeded';
    if (op.kind === 'delete') {
      clusters.delete(op.key);
      return;
    }
    const done = structuredClone(op.next!);
    done.properties = { ...(done.properties ?? {}), provisioningState: 'Succeeded' };
    done.eTag = newETag();
    clusters.set(op.key, done);
  };

  const server = await startLocalHttpsServer('fake-arm', handle);
  const endpoint = server.url;
  const credential = staticTokenCredential(token);
  const tlsOptions = { ca: server.ca };

  const fake: FakeArm = {
    url: endpoint,
    endpoint,
    ca: server.ca,
    tlsOptions,
    credential,
    pageSize: options.pageSize ?? 100,
    pollsBeforeDone: options.pollsBeforeDone ?? 1,
    requests: [],
    armClientOptions: (extra = {}) => ({ ...extra, endpoint, tlsOptions }),
    client: (subscriptionId, extra) => new ContainerServiceClient(credential, subscriptionId, fake.armClientOptions(extra)),
    seed: (...cs) => {
      for (const c of cs) store({ ...c, eTag: c.eTag ?? newETag() });
    },
    cluster: (id) => {
      const c = clusters.get(id.toLowerCase());
      return c ? structuredClone(c) : undefined;
    },
    deleteCluster: (id) => clusters.delete(id.toLowerCase()),
    throttle: (n, retryAfterSeconds, match = () => true) => {
      throttles.push({ left: n, retryAfter: retryAfterSeconds, match });
    },
    failSubscription: (subscriptionId, error = {}) => {
      subscriptionFailures.set(subscriptionId.toLowerCase(), {
        status: error.status ?? 403,
        code: error.code ?? 'AuthorizationFailed',
        message:
          error.message ??
          `The client does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/read' over scope '/subscriptions/${subscriptionId}' or the scope is invalid.`,
      });
    },
    clearSubscriptionFailure: (subscriptionId) => {
      subscriptionFailures.delete(subscriptionId.toLowerCase());
    },
    failNextOperation: (code, message) => {
      nextFailure = { code, message };
    },
    close: () => server.close(),
  };
  return fake;
}
