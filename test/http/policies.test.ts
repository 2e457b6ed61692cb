import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { policyBody } from '../helpers/fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let admin: string;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  admin = api.tokens.admin;
});
afterAll(async () => api?.close());

describe('NetworkPolicy CRUD', () => {
  it('creates (201), reads back what PUT accepted, replaces (200), deletes (204), then 404', async () => {
    const body = policyBody('crud-one');
    const created = await client.call('PUT', '/networkpolicies/crud-one', { token: admin, body });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe(`"${created.body.metadata.resourceVersion}"`);
    expect(created.body.metadata).toMatchObject({ name: 'crud-one', generation: 1, createdBy: 'oid:admin-1', updatedBy: 'oid:admin-1' });

    const read = await client.call('GET', '/networkpolicies/crud-one', { token: api.tokens.reader });
    expect(read.status).toBe(200);
    expect(read.body.spec).toEqual(body.spec);
    expect(read.body.metadata.labels).toEqual(body.metadata.labels);

    const replaced = await client.call('PUT', '/networkpolicies/crud-one', { token: admin, body: policyBody('crud-one', { mode: 'audit' }) });
    expect(replaced.status).toBe(200);
    expect(replaced.body.metadata.generation).toBe(2);
    expect(replaced.body.spec.mode).toBe('audit');

    expect((await client.call('DELETE', '/networkpolicies/crud-one', { token: admin })).status).toBe(204);
    expect((await client.call('GET', '/networkpolicies/crud-one', { token: admin })).status).toBe(404);
    expect((await client.call('DELETE', '/networkpolicies/crud-one', { token: admin })).status).toBe(404);
  });

  it('accepts its own GET output back unchanged (round trip)', async () => {
    await client.call('PUT', '/networkpolicies/round-trip', { token: admin, body: policyBody('round-trip') });
    const read = await client.call('GET', '/networkpolicies/round-trip', { token: admin });
    const again = await client.call('PUT', '/networkpolicies/round-trip', { token: admin, body: read.body });
    expect(again.status).toBe(200);
    expect(again.body.metadata.generation).toBe(1);
    expect(again.body.metadata.resourceVersion).toBe(read.body.metadata.resourceVersion);
  });
});

describe('idempotent PUT', () => {
  it('the same body twice gives the same resource, version and generation', async () => {
    const body = policyBody('idem');
    const first = await client.call('PUT', '/networkpolicies/idem', { token: admin, body });
    const second = await client.call('PUT', '/networkpolicies/idem', { token: admin, body });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
  });

  it('a label-only change writes a new version but keeps the generation', async () => {
    await client.call('PUT', '/networkpolicies/labels-only', { token: admin, body: policyBody('labels-only') });
    const changed = await client.call('PUT', '/networkpolicies/labels-only', { token: admin, body: policyBody('labels-only', {}, { team: 'other' }) });
    expect(changed.body.metadata.generation).toBe(1);
    expect(changed.body.metadata.labels).toEqual({ team: 'other' });
  });
});

describe('preconditions', () => {
  it('If-Match with a stale ETag is 412 and changes nothing; the current ETag succeeds', async () => {
    const created = await client.call('PUT', '/networkpolicies/guarded', { token: admin, body: policyBody('guarded') });
    const etag = created.headers.get('etag')!;
    const updated = await client.call('PUT', '/networkpolicies/guarded', { token: admin, body: policyBody('guarded', { mode: 'audit' }), headers: { 'if-match': etag } });
    expect(updated.status).toBe(200);
    const stale = await client.call('PUT', '/networkpolicies/guarded', { token: admin, body: policyBody('guarded', { mode: 'enforce' }), headers: { 'if-match': etag } });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('PreconditionFailed');
    const read = await client.call('GET', '/networkpolicies/guarded', { token: admin });
    expect(read.body.spec.mode).toBe('audit');
    const staleDelete = await client.call('DELETE', '/networkpolicies/guarded', { token: admin, headers: { 'if-match': etag } });
    expect(staleDelete.status).toBe(412);
    expect((await client.call('GET', '/networkpolicies/guarded', { token: admin })).status).toBe(200);
  });

  it('If-Match on a missing resource is 412', async () => {
    const response = await client.call('PUT', '/networkpolicies/never-was', { token: admin, body: policyBody('never-was'), headers: { 'if-match': '"abc"' } });
    expect(response.status).toBe(412);
    expect((await client.call('GET', '/networkpolicies/never-was', { token: admin })).status).toBe(404);
  });

  it('If-None-Match: * creates once, then 412', async () => {
    const first = await client.call('PUT', '/networkpolicies/create-only', { token: admin, body: policyBody('create-only'), headers: { 'if-none-match': '*' } });
    expect(first.status).toBe(201);
    const second = await client.call('PUT', '/networkpolicies/create-only', { token: admin, body: policyBody('create-only', { mode: 'audit' }), headers: { 'if-none-match': '*' } });
    expect(second.status).toBe(412);
    expect((await client.call('GET', '/networkpolicies/create-only', { token: admin })).body.spec.mode).toBeUndefined();
  });
});

describe('lists', () => {
  it('paginates across more than two pages with opaque nextLinks, in name order, without repeats', async () => {
    const names = Array.from({ length: 23 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
    for (const name of names) await client.call('PUT', `/networkpolicies/${name}`, { token: admin, body: policyBody(name, {}, { group: 'paging' }) });
    const seen: string[] = [];
    let path: string | null = '/networkpolicies?labelSelector=group%3Dpaging&maxPageSize=5';
    let pages = 0;
    while (path) {
      const page = await client.call('GET', path, { token: api.tokens.reader });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(5);
      seen.push(...page.body.items.map((item: { metadata: { name: string } }) => item.metadata.name));
      pages++;
      path = page.body.nextLink ? page.body.nextLink.slice(api.baseUrl.length) : null;
    }
    expect(pages).toBe(5);
    expect(seen).toEqual(names);
  });

  it('filters by label selector expressions', async () => {
    await client.call('PUT', '/networkpolicies/sel-a', { token: admin, body: policyBody('sel-a', {}, { tier: 'web', env: 'prod' }) });
    await client.call('PUT', '/networkpolicies/sel-b', { token: admin, body: policyBody('sel-b', {}, { tier: 'db', env: 'prod' }) });
    await client.call('PUT', '/networkpolicies/sel-c', { token: admin, body: policyBody('sel-c', {}, { tier: 'web', env: 'dev' }) });
    const names = async (selector: string) =>
      (await client.call('GET', `/networkpolicies?labelSelector=${encodeURIComponent(selector)}`, { token: admin })).body.items.map(
        (i: { metadata: { name: string } }) => i.metadata.name,
      );
    expect(await names('env=prod')).toEqual(['sel-a', 'sel-b']);
    expect(await names('tier in (web),env!=prod')).toEqual(['sel-c']);
    expect(await names('tier,!env')).toEqual([]);
  });

  it('rejects a forged continuation token and a bad page size with pointers', async () => {
    const forged = await client.call('GET', '/networkpolicies?continuationToken=not-ours', { token: admin });
    expect(forged.status).toBe(400);
    expect(forged.body.errors[0].pointer).toBe('/query/continuationToken');
    const size = await client.call('GET', '/networkpolicies?maxPageSize=0', { token: admin });
    expect(size.status).toBe(400);
    expect(size.body.errors[0].pointer).toBe('/query/maxPageSize');
  });
});

describe('revisions', () => {
  it('records create, replace and delete with actor and full spec; reads a policy as of a generation', async () => {
    await client.call('PUT', '/networkpolicies/hist', { token: admin, body: policyBody('hist') });
    await client.call('PUT', '/networkpolicies/hist', { token: admin, body: policyBody('hist') }); // no-op: no revision
    await client.call('PUT', '/networkpolicies/hist', { token: admin, body: policyBody('hist', { mode: 'audit' }) });
    await client.call('DELETE', '/networkpolicies/hist', { token: admin });
    const recreated = await client.call('PUT', '/networkpolicies/hist', { token: admin, body: policyBody('hist', { description: 'back' }) });
    expect(recreated.body.metadata.generation).toBe(4);

    const history = await client.call('GET', '/networkpolicies/hist/revisions', { token: api.tokens.reader });
    expect(history.status).toBe(200);
    expect(history.body.items.map((r: { generation: number; operation: string }) => [r.generation, r.operation])).toEqual([
      [4, 'create'],
      [3, 'delete'],
      [2, 'replace'],
      [1, 'create'],
    ]);
    expect(history.body.items[0].actor).toBe('oid:admin-1');

    const asOfOne = await client.call('GET', '/networkpolicies/hist/revisions/1', { token: admin });
    expect(asOfOne.body.spec).toEqual(policyBody('hist').spec);
    const asOfTwo = await client.call('GET', '/networkpolicies/hist/revisions/2', { token: admin });
    expect(asOfTwo.body.spec.mode).toBe('audit');

    const paged = await client.call('GET', '/networkpolicies/hist/revisions?maxPageSize=3', { token: admin });
    expect(paged.body.items).toHaveLength(3);
    const rest = await client.call('GET', paged.body.nextLink.slice(api.baseUrl.length), { token: admin });
    expect(rest.body.items.map((r: { generation: number }) => r.generation)).toEqual([1]);
    expect(rest.body.nextLink).toBeNull();

    expect((await client.call('GET', '/networkpolicies/hist/revisions/9', { token: admin })).status).toBe(404);
    expect((await client.call('GET', '/networkpolicies/nothing-here/revisions', { token: admin })).status).toBe(404);
  });
});
