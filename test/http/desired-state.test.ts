import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledPolicyHash } from '../../core/bundle/bundled-policy.js';
import { DESIRED_STATE_MEDIA_TYPE } from '../../core/bundle/desired-state-format.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, encryptionBody, policyBody } from '../helpers/fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let agentA: string;

// Cache off: every poll reads Cosmos, so the test sees the storage cost of each answer.
beforeAll(async () => {
  api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
  client = createContractClient(api.baseUrl);
  agentA = await api.agentToken('agent-a');
  const admin = api.tokens.admin;
  await client.call('PUT', '/clusters/prod-east', { token: admin, body: clusterBody('prod-east', { env: 'prod', region: 'east' }, ['agent-a']) });
  await client.call('PUT', '/clusters/dev-west', { token: admin, body: clusterBody('dev-west', { env: 'dev', region: 'west' }, ['agent-b']) });
  await client.call('PUT', '/clusters/prod-east-2', { token: admin, body: clusterBody('prod-east-2', { env: 'prod', region: 'east' }, ['agent-c']) });
  await compiled();
});
afterAll(async () => api?.close());

/** Desired state is compiled after the write returns (change feed; in-process driver here). */
const compiled = () => api.services.desiredState.settled();

const poll = (etag?: string, token = agentA, cluster = 'prod-east') =>
  client.call('GET', `/clusters/${cluster}/nodes/node-1/desiredstate`, {
    token,
    headers: { accept: DESIRED_STATE_MEDIA_TYPE, ...(etag ? { 'if-none-match': etag } : {}) },
  });

const policyNames = (body: { policies: { name: string }[] }) => body.policies.map((p) => p.name);

describe('desired state (manifest format fleetnet.io/v2)', () => {
  it('200 with a strong ETag, then 304 for the same ETag at the cost of one point read', async () => {
    const first = await poll();
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe(DESIRED_STATE_MEDIA_TYPE);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(first.body).toMatchObject({ apiVersion: 'fleetnet.io/v2', kind: 'DesiredState', clusterId: 'prod-east', policies: [], encryption: { clusterId: 'prod-east', settings: { enabled: false } } });

    const before = api.cosmos.requestCount()!;
    const second = await poll(etag);
    const cost = api.cosmos.requestCount()! - before;
    expect(second.status).toBe(304);
    expect(second.text).toBe('');
    expect(second.headers.get('etag')).toBe(etag);
    expect(cost).toBe(1);
  });

  it('answers 406 to a client that does not ask for the manifest format (an agent of another release)', async () => {
    for (const accept of [undefined, 'application/json', '*/*']) {
      const response = await client.call('GET', '/clusters/prod-east/nodes/node-1/desiredstate', { token: agentA, headers: accept ? { accept } : {} });
      expect(response.status).toBe(406);
      expect(response.body).toMatchObject({ code: 'NotAcceptable', errors: [{ pointer: '/header/accept' }] });
      expect(response.body.detail).toContain(DESIRED_STATE_MEDIA_TYPE);
    }
  });

  it('changes (200, new ETag, next revision) once a write that affects the cluster is compiled; lists references, not bodies', async () => {
    const before = await poll();
    const put = await client.call('PUT', '/networkpolicies/prod-only', {
      token: api.tokens.admin,
      body: policyBody('prod-only', { targets: { clusterSelector: { matchLabels: { env: 'prod' } } } }),
    });
    expect(put.status).toBe(201);
    await compiled();
    const after = await poll(before.headers.get('etag')!);
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    expect(after.body.revision).toBe(before.body.revision + 1);
    expect(policyNames(after.body)).toEqual(['prod-only']);
    expect(after.body.policies[0]).toEqual({ name: 'prod-only', generation: 1, mode: 'enforce', contentHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('serves the referenced body (immutable, hash-checked, targets removed) only to agents of a cluster whose manifest lists it', async () => {
    const manifest = (await poll()).body;
    const reference = manifest.policies[0];
    const path = `/clusters/prod-east/nodes/node-1/desiredstate/policies/prod-only/${reference.generation}`;
    const body = await client.call('GET', path, { token: agentA });
    expect(body.status).toBe(200);
    expect(body.headers.get('etag')).toBe(`"${reference.contentHash}"`);
    expect(body.headers.get('cache-control')).toContain('immutable');
    expect(bundledPolicyHash(body.body)).toBe(reference.contentHash);
    expect(body.body.spec.targets).toBeUndefined();

    expect((await client.call('GET', '/clusters/prod-east/nodes/node-1/desiredstate/policies/prod-only/99', { token: agentA })).status).toBe(404);
    // dev-west's manifest does not list prod-only: its agent cannot read it through its cluster, nor through prod-east.
    const agentB = await api.agentToken('agent-b');
    expect((await client.call('GET', `/clusters/dev-west/nodes/n/desiredstate/policies/prod-only/${reference.generation}`, { token: agentB })).status).toBe(404);
    expect((await client.call('GET', path, { token: agentB })).status).toBe(403);
  });

  it('stays 304 after writes that do not affect the cluster; a policy naming one cluster by id reaches only that member of its group', async () => {
    const current = await poll();
    const etag = current.headers.get('etag')!;
    const agentC = await api.agentToken('agent-c');
    const sibling = await poll(undefined, agentC, 'prod-east-2');
    await client.call('PUT', '/networkpolicies/dev-only', { token: api.tokens.admin, body: policyBody('dev-only', { targets: { clusterIds: ['dev-west'] } }) });
    await client.call('PUT', '/networkpolicies/prod-only', {
      token: api.tokens.admin,
      body: policyBody('prod-only', { targets: { clusterSelector: { matchLabels: { env: 'prod' } } } }, { relabelled: 'yes' }),
    });
    await client.call('PUT', '/networkpolicies/east-2-only', { token: api.tokens.admin, body: policyBody('east-2-only', { targets: { clusterIds: ['prod-east-2'] } }) });
    await compiled();
    expect((await poll(etag)).status).toBe(304);
    const dev = await poll(undefined, await api.agentToken('agent-b'), 'dev-west');
    expect(policyNames(dev.body)).toEqual(['dev-only']);
    const east2 = await poll(sibling.headers.get('etag')!, agentC, 'prod-east-2');
    expect(east2.status).toBe(200);
    expect(policyNames(east2.body)).toEqual(['east-2-only', 'prod-only']);
  });

  it('follows encryption settings, cluster label changes (the cluster moves to another group) and deletes', async () => {
    const current = await poll();
    await client.call('PUT', '/encryptionsettings', {
      token: api.tokens.admin,
      body: encryptionBody({
        default: { enabled: true, type: 'wireguard' },
        overrides: [{ name: 'dev-off', clusterSelector: { matchLabels: { env: 'dev' } }, settings: { enabled: false } }],
      }),
    });
    await compiled();
    const afterEncryption = await poll(current.headers.get('etag')!);
    expect(afterEncryption.status).toBe(200);
    expect(afterEncryption.body.encryption.settings).toMatchObject({ enabled: true, type: 'wireguard' });

    await client.call('PUT', '/clusters/prod-east', { token: api.tokens.admin, body: clusterBody('prod-east', { env: 'dev', region: 'east' }, ['agent-a']) });
    await compiled();
    const afterRelabel = await poll(afterEncryption.headers.get('etag')!);
    expect(afterRelabel.status).toBe(200);
    expect(afterRelabel.body.policies).toEqual([]);
    expect(afterRelabel.body.encryption.settings.enabled).toBe(false);
    expect(afterRelabel.body.encryption.appliedOverrides).toEqual(['dev-off']);

    await client.call('DELETE', '/networkpolicies/dev-only', { token: api.tokens.admin });
    await compiled();
    const dev = await poll(undefined, await api.agentToken('agent-b'), 'dev-west');
    expect(dev.body.policies).toEqual([]);

    // A deleted cluster's agents lose its desired state, even through a manifest ETag they still hold.
    const held = (await poll()).headers.get('etag')!;
    await client.call('DELETE', '/clusters/prod-east', { token: api.tokens.admin });
    await compiled();
    expect((await poll(held)).status).toBe(403);
    await client.call('PUT', '/clusters/prod-east', { token: api.tokens.admin, body: clusterBody('prod-east', { env: 'prod', region: 'east' }, ['agent-a']) });
    await compiled();
  });

  it('is deterministic: equal content gives the same ETag', async () => {
    const a = await poll();
    const b = await poll();
    expect(a.headers.get('etag')).toBe(b.headers.get('etag'));
    expect(a.text).toBe(b.text);
  });

  it('answers a cluster the compiler has not placed yet with 404 + Retry-After, never an empty manifest', async () => {
    await api.services.desiredState.close(); // stop the in-process compiler: nothing gets compiled any more
    await client.call('PUT', '/clusters/brand-new', { token: api.tokens.admin, body: clusterBody('brand-new', { env: 'new' }, ['agent-n']) });
    const pending = await poll(undefined, await api.agentToken('agent-n'), 'brand-new');
    expect(pending.status).toBe(404);
    expect(pending.headers.get('retry-after')).toBe('1');
    expect(pending.body).toMatchObject({ code: 'DesiredStatePending' });
    expect(pending.body.detail).toContain('being compiled');
    expect((await poll(undefined, await api.agentToken('someone-else'), 'brand-new')).status).toBe(403);
  });
});

describe('desired state with the read cache on (the default, 1 s)', () => {
  it('the instance whose compiler stored a manifest serves it at once, without waiting out its cache window', async () => {
    const cached = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '60000' });
    try {
      const c = createContractClient(cached.baseUrl);
      await c.call('PUT', '/clusters/cached', { token: cached.tokens.admin, body: clusterBody('cached', { env: 'prod' }, ['agent-cached']) });
      await cached.services.desiredState.settled();
      const token = await cached.agentToken('agent-cached');
      const get = (etag?: string) =>
        c.call('GET', '/clusters/cached/nodes/n/desiredstate', { token, headers: { accept: DESIRED_STATE_MEDIA_TYPE, ...(etag ? { 'if-none-match': etag } : {}) } });
      const before = await get();
      expect((await get(before.headers.get('etag')!)).status).toBe(304); // now cached for a minute
      await c.call('PUT', '/networkpolicies/fresh', { token: cached.tokens.admin, body: policyBody('fresh') });
      await cached.services.desiredState.settled();
      const after = await get(before.headers.get('etag')!);
      expect(after.status).toBe(200);
      expect(policyNames(after.body)).toEqual(['fresh']);
    } finally {
      await cached.close();
    }
  });
});
