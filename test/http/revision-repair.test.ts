/**
 * The resource document is the commit point of a write; its revision is recorded right after. When a
 * request dies in between (simulated here by writing the document through the store, as the request
 * would, and nothing else), the change-feed compiler records the missing revision — and a delete's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkPolicy } from '../../openapi/types.js';
import { KIND } from '../../functions/src/domain/fleet-store.js';
import { tombstoneOf } from '../../functions/src/domain/tombstone.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { policyBody } from '../helpers/fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
});
afterAll(async () => api?.close());

const history = async (name: string) =>
  (await client.call('GET', `/networkpolicies/${name}/revisions`, { token: api.tokens.reader })).body.items.map((r: { generation: number; operation: string; actor: string }) => `${r.generation}:${r.operation}:${r.actor}`);

describe('revisions of writes that died after their commit point', () => {
  it('a stored version without its revision gets one from the change feed (create, replace, delete), and the next PUT continues the history', async () => {
    const policies = api.services.store.policies;
    const stamp = (generation: number, actor: string) => ({ generation, createdAt: '2026-11-30T06:00:00.000Z', createdBy: 'alice', updatedAt: '2026-11-30T06:00:00.000Z', updatedBy: actor });
    const body = policyBody('died-after-commit');
    const created = await policies.create(KIND.policy, 'died-after-commit', { ...body, metadata: { ...body.metadata, ...stamp(1, 'alice') } } as NetworkPolicy);
    await api.services.desiredState.settled();
    expect(await history('died-after-commit')).toEqual(['1:create:alice']);

    const changed = { ...body, spec: { ...body.spec, description: 'second' }, metadata: { ...body.metadata, ...stamp(2, 'bob') } } as NetworkPolicy;
    const replaced = await policies.replace(KIND.policy, 'died-after-commit', changed, created.version);
    await api.services.desiredState.settled();
    expect(await history('died-after-commit')).toEqual(['2:replace:bob', '1:create:alice']);
    const second = await client.call('GET', '/networkpolicies/died-after-commit/revisions/2', { token: api.tokens.reader });
    expect(second.body.spec.description).toBe('second');

    await policies.tombstone(KIND.policy, 'died-after-commit', tombstoneOf(changed, 'carol', new Date('2026-11-30T06:01:00Z')), replaced.version);
    await api.services.desiredState.settled();
    expect(await history('died-after-commit')).toEqual(['3:delete:carol', '2:replace:bob', '1:create:alice']);
    expect((await client.call('GET', '/networkpolicies/died-after-commit', { token: api.tokens.reader })).status).toBe(404);

    const again = await client.call('PUT', '/networkpolicies/died-after-commit', { token: api.tokens.admin, body });
    expect(again.status).toBe(201);
    expect(again.body.metadata.generation).toBe(4);
    await api.services.desiredState.settled();
    expect((await history('died-after-commit'))[0]).toBe('4:create:oid:admin-1');
  });

  it('a deleted resource is absent from reads and lists, refuses If-Match, and its name can be created again with If-None-Match: *', async () => {
    await client.call('PUT', '/networkpolicies/short-lived', { token: api.tokens.admin, body: policyBody('short-lived') });
    expect((await client.call('DELETE', '/networkpolicies/short-lived', { token: api.tokens.admin })).status).toBe(204);
    expect((await client.call('DELETE', '/networkpolicies/short-lived', { token: api.tokens.admin })).status).toBe(404);
    const list = await client.call('GET', '/networkpolicies?maxPageSize=500', { token: api.tokens.reader });
    expect(list.body.items.map((p: { metadata: { name: string } }) => p.metadata.name)).not.toContain('short-lived');
    expect((await client.call('PUT', '/networkpolicies/short-lived', { token: api.tokens.admin, body: policyBody('short-lived'), headers: { 'If-Match': '"anything"' } })).status).toBe(412);
    const created = await client.call('PUT', '/networkpolicies/short-lived', { token: api.tokens.admin, body: policyBody('short-lived'), headers: { 'If-None-Match': '*' } });
    expect(created.status).toBe(201);
    expect(created.body.metadata.generation).toBe(3);
  });
});
