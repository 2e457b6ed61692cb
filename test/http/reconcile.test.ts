import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileDesiredState } from '../../functions/src/domain/reconcile-desired-state.js';
import { KIND } from '../../functions/src/domain/fleet-store.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, policyBody } from '../helpers/fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;

beforeAll(async () => {
  api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
  client = createContractClient(api.baseUrl);
});
afterAll(async () => api?.close());

describe('desired-state reconciliation', () => {
  it('heals a bundle left stale by a write that died before recompiling, and is a no-op otherwise', async () => {
    await client.call('PUT', '/clusters/heal-me', { token: api.tokens.admin, body: clusterBody('heal-me', { env: 'prod' }) });
    const before = await client.call('GET', '/clusters/heal-me/nodes/n/desiredstate', { token: api.tokens.admin });
    // Simulate the crash: store a policy directly, without the recompilation a PUT would do.
    const policy = policyBody('written-behind-the-back');
    await api.services.store.policies.create(KIND.policy, policy.metadata.name, { ...policy, metadata: { ...policy.metadata, generation: 1 } } as never);
    const stale = await client.call('GET', '/clusters/heal-me/nodes/n/desiredstate', { token: api.tokens.admin });
    expect(stale.body.policies).toEqual([]);

    expect(await reconcileDesiredState(api.services)).toBe(1);
    const healed = await client.call('GET', '/clusters/heal-me/nodes/n/desiredstate', { token: api.tokens.admin, headers: { 'if-none-match': before.headers.get('etag')! } });
    expect(healed.status).toBe(200);
    expect(healed.body.policies.map((p: { name: string }) => p.name)).toEqual(['written-behind-the-back']);

    await reconcileDesiredState(api.services);
    const again = await client.call('GET', '/clusters/heal-me/nodes/n/desiredstate', { token: api.tokens.admin, headers: { 'if-none-match': healed.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });
});
