/**
 * Nothing half-written under store faults (issue 9 item 4): a write's resource document is its commit
 * point. A fault before it → 503 and nothing stored; a fault after it (the revision) → 503, and the
 * change-feed compiler records the missing revision, so once it has run the resource and its history
 * agree — never a resource without its revision, never a revision without its resource.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { cosmosMatch, type CosmosFault, type CosmosFaultProxy, type CosmosRequestInfo, type CosmosRequestMatcher } from '../helpers/cosmos-fault-proxy.js';
import { clusterBody, policyBody } from '../helpers/fixtures.js';

let api: TestApi;
let proxy: CosmosFaultProxy;
let client: ReturnType<typeof createContractClient>;

beforeAll(async () => {
  api = await startTestApi(
    { FLEETNET_COSMOS_MAX_THROTTLE_RETRIES: '2', FLEETNET_COSMOS_MAX_THROTTLE_WAIT_SECONDS: '1', FLEETNET_COSMOS_REQUEST_TIMEOUT_MS: '1000' },
    {},
    { cosmosFaults: true },
  );
  proxy = api.cosmosFaults!;
  client = createContractClient(api.baseUrl);
  await client.call('PUT', '/clusters/faulty', { token: api.tokens.admin, body: clusterBody('faulty', { env: 'prod' }) });
});
afterEach(() => proxy.clear());
afterAll(async () => api?.close());

const THROTTLED: CosmosFault = { kind: 'throttle', retryAfterMs: 50 };
const UNAVAILABLE: CosmosFault = { kind: 'unavailable' };
/** Enough faults to exhaust the SDK's retries (2) for the request, then the store recovers. */
const ONE_REQUEST = 3;
/**
 * Until cleared: the request and the compiler (which runs as soon as the resource is committed and records
 * the same revision) both fail, so the request's 503 does not depend on which of them asks first.
 */
const UNTIL_CLEARED = undefined;

/** Writes of resource documents (create = POST …/docs, replace = PUT …/docs/{id}), not queries or reads. */
const resourceCreates = cosmosMatch.creates('resources') as (request: CosmosRequestInfo) => boolean;
const resourceWrites: CosmosRequestMatcher = (r) => (r.method === 'PUT' && /\/colls\/resources\/docs\//.test(r.path)) || resourceCreates(r);
const revisionCreates = cosmosMatch.creates('revisions');

async function state(name: string) {
  const resource = await client.call('GET', `/networkpolicies/${name}`, { token: api.tokens.reader });
  const history = await client.call('GET', `/networkpolicies/${name}/revisions`, { token: api.tokens.reader });
  return {
    status: resource.status,
    generation: resource.body?.metadata?.generation as number | undefined,
    spec: resource.body?.spec,
    revisions: (history.body?.items ?? []) as { generation: number; operation: string; spec?: unknown }[],
  };
}

describe.each([
  ['throttled beyond the retry budget (429)', THROTTLED],
  ['unavailable (503)', UNAVAILABLE],
])('store %s', (_label, fault) => {
  const name = `commit-${fault.kind}`;

  it('before the commit point (the resource write): 503 + Retry-After, nothing stored, no revision', async () => {
    proxy.inject(fault, { count: ONE_REQUEST, match: resourceWrites });
    const put = await client.call('PUT', `/networkpolicies/${name}`, { token: api.tokens.admin, body: policyBody(name) });
    expect(put.status).toBe(503);
    expect(Number(put.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(put.body.code).toBe('ServiceUnavailable');
    proxy.clear();
    await api.services.desiredState.settled();
    const after = await state(name);
    expect(after.status).toBe(404);
    expect(after.revisions).toEqual([]);
  });

  it('after the commit point (the revision): 503, then the revision is recorded from the change feed; the retried PUT is a no-op', async () => {
    proxy.inject(fault, { count: UNTIL_CLEARED, match: revisionCreates });
    const put = await client.call('PUT', `/networkpolicies/${name}`, { token: api.tokens.admin, body: policyBody(name) });
    expect(put.status).toBe(503);
    expect(Number(put.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    proxy.clear();
    await api.services.desiredState.settled(); // the compiler retries its batch until the store answers
    const after = await state(name);
    expect(after.status).toBe(200);
    expect(after.revisions.map((r) => [r.generation, r.operation])).toEqual([[1, 'create']]);
    expect(after.revisions[0]!.spec).toEqual(after.spec);

    const retried = await client.call('PUT', `/networkpolicies/${name}`, { token: api.tokens.admin, body: policyBody(name) });
    expect(retried.status).toBe(200);
    expect(retried.body.metadata.generation).toBe(1);
  });

  it('a DELETE whose revision write fails: 503, the tombstone commits it, the delete revision follows from the feed', async () => {
    proxy.inject(fault, { count: UNTIL_CLEARED, match: revisionCreates });
    const del = await client.call('DELETE', `/networkpolicies/${name}`, { token: api.tokens.admin });
    expect(del.status).toBe(503);
    proxy.clear();
    await api.services.desiredState.settled();
    const after = await state(name);
    expect(after.status).toBe(404);
    expect(after.revisions.map((r) => [r.generation, r.operation])).toEqual([
      [2, 'delete'],
      [1, 'create'],
    ]);
  });
});

describe('authorization under store faults', () => {
  it('an agent registering its node while the store is unavailable gets 503, not 403', async () => {
    await client.call('PUT', '/clusters/with-agent', { token: api.tokens.admin, body: clusterBody('with-agent', { env: 'prod' }, ['agent-w']) });
    const agent = await api.agentToken('agent-w');
    proxy.inject(UNAVAILABLE, { match: { method: 'GET', path: /\/colls\/resources\/docs\/with-agent$/ } });
    const node = { apiVersion: 'fleetnet.io/v1', kind: 'Node', metadata: { name: 'n1' }, spec: { agentVersion: '0.1.0', kernelVersion: '6.18.0', capabilities: { tcx: true, btf: true } } };
    const register = await client.call('PUT', '/clusters/with-agent/nodes/n1', { token: agent, body: node });
    expect(register.status).toBe(503);
    proxy.clear();
    expect((await client.call('PUT', '/clusters/with-agent/nodes/n1', { token: agent, body: node })).status).toBe(201);
  });
});
