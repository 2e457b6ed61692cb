import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
afterAll(async () => api?.close());

const poll = (etag?: string, token = agentA, cluster = 'prod-east') =>
  client.call('GET', `/clusters/${cluster}/nodes/node-1/desiredstate`, { token, headers: etag ? { 'if-none-match': etag } : {} });

describe('desired state', () => {
  it('200 with a strong ETag, then 304 for the same ETag at the cost of one point read', async () => {
    const first = await poll();
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(first.body).toMatchObject({ kind: 'DesiredState', clusterId: 'prod-east', policies: [], encryption: { settings: { enabled: false } } });

    const before = api.cosmos.requestCount()!;
    const second = await poll(etag);
    const cost = api.cosmos.requestCount()! - before;
    expect(second.status).toBe(304);
    expect(second.text).toBe('');
    expect(second.headers.get('etag')).toBe(etag);
    expect(cost).toBe(1);
  });

  it('changes (200, new ETag, next revision) after a write that affects the cluster', async () => {
    const before = await poll();
    const put = await client.call('PUT', '/networkpolicies/prod-only', {
      token: api.tokens.admin,
      body: policyBody('prod-only', { targets: { clusterSelector: { matchLabels: { env: 'prod' } } } }),
    });
    expect(put.status).toBe(201);
    const after = await poll(before.headers.get('etag')!);
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    expect(after.body.revision).toBe(before.body.revision + 1);
    expect(after.body.policies.map((p: { name: string }) => p.name)).toEqual(['prod-only']);
    expect(after.body.policies[0]).toMatchObject({ generation: 1, mode: 'enforce' });
    expect(after.body.policies[0].spec.targets).toBeUndefined();
  });

  it('stays 304 after writes that do not affect the cluster', async () => {
    const current = await poll();
    const etag = current.headers.get('etag')!;
    await client.call('PUT', '/networkpolicies/dev-only', {
      token: api.tokens.admin,
      body: policyBody('dev-only', { targets: { clusterIds: ['dev-west'] } }),
    });
    await client.call('PUT', '/networkpolicies/prod-only', {
      token: api.tokens.admin,
      body: policyBody('prod-only', { targets: { clusterSelector: { matchLabels: { env: 'prod' } } } }, { relabelled: 'yes' }),
    });
    expect((await poll(etag)).status).toBe(304);
    const dev = await poll(undefined, await api.agentToken('agent-b'), 'dev-west');
    expect(dev.body.policies.map((p: { name: string }) => p.name)).toEqual(['dev-only']);
  });

  it('follows encryption settings and cluster label changes', async () => {
    const current = await poll();
    await client.call('PUT', '/encryptionsettings', {
      token: api.tokens.admin,
      body: encryptionBody({
        default: { enabled: true, type: 'wireguard' },
        overrides: [{ name: 'dev-off', clusterSelector: { matchLabels: { env: 'dev' } }, settings: { enabled: false } }],
      }),
    });
    const afterEncryption = await poll(current.headers.get('etag')!);
    expect(afterEncryption.status).toBe(200);
    expect(afterEncryption.body.encryption.settings).toMatchObject({ enabled: true, type: 'wireguard' });

    await client.call('PUT', '/clusters/prod-east', { token: api.tokens.admin, body: clusterBody('prod-east', { env: 'dev', region: 'east' }, ['agent-a']) });
    const afterRelabel = await poll(afterEncryption.headers.get('etag')!);
    expect(afterRelabel.status).toBe(200);
    expect(afterRelabel.body.policies).toEqual([]);
    expect(afterRelabel.body.encryption.settings.enabled).toBe(false);
    expect(afterRelabel.body.encryption.appliedOverrides).toEqual(['dev-off']);
  });

  it('is deterministic: equal content gives the same ETag', async () => {
    const a = await poll();
    const b = await poll();
    expect(a.headers.get('etag')).toBe(b.headers.get('etag'));
    expect(a.text).toBe(b.text);
  });
});
