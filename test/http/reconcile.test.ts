import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESIRED_STATE_MEDIA_TYPE } from '../../core/bundle/desired-state-format.js';
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

const poll = (etag?: string) =>
  client.call('GET', '/clusters/heal-me/nodes/n/desiredstate', {
    token: api.tokens.admin,
    headers: { accept: DESIRED_STATE_MEDIA_TYPE, ...(etag ? { 'if-none-match': etag } : {}) },
  });

describe('desired-state reconciliation', () => {
  it('heals a manifest the change feed never compiled, and is a no-op otherwise', async () => {
    await client.call('PUT', '/clusters/heal-me', { token: api.tokens.admin, body: clusterBody('heal-me', { env: 'prod' }) });
    await api.services.desiredState.settled();
    const before = await poll();
    expect(before.status).toBe(200);
    // A change the compiler never saw: the document goes straight into the container, past the store's observer.
    const policy = policyBody('written-behind-the-back');
    await api.cosmos.containers.resources.items.create({ id: policy.metadata.name, kind: KIND.policy, body: { ...policy, metadata: { ...policy.metadata, generation: 1 } } });
    await api.services.desiredState.settled();
    expect((await poll(before.headers.get('etag')!)).status).toBe(304);

    expect(await reconcileDesiredState(api.services)).toEqual({ groups: 1, clusters: 1 });
    const healed = await poll(before.headers.get('etag')!);
    expect(healed.status).toBe(200);
    expect(healed.body.policies.map((p: { name: string }) => p.name)).toEqual(['written-behind-the-back']);

    const versions = async () => (await api.services.store.manifests.all()).map((entry) => entry.version);
    const stored = await versions();
    await reconcileDesiredState(api.services);
    expect(await versions()).toEqual(stored); // nothing rewritten
    expect((await poll(healed.headers.get('etag')!)).status).toBe(304);
  });
});
