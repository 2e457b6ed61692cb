/**
 * Policy replay under store throttling: the real API with a fault proxy before the embedded store (as
 * explain-store-faults.test.ts). Throttled beyond the SDK's budget, starting a replay (the policy reads of
 * its checks, or the operation's create) and reading one answer 503 ServiceUnavailable with Retry-After
 * and store nothing; then the same request succeeds. A replay whose flow reads are throttled while it runs
 * ends Failed with the ServiceUnavailable problem (it does not stay Running).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient, type ApiResponse } from '../helpers/contract-client.js';
import { startThrottlableTestApi, type TestApi } from '../helpers/api-harness.js';
import { cosmosMatch, type CosmosFaultProxy, type CosmosRequestMatcher } from '../helpers/cosmos-fault-proxy.js';
import { clusterBody, policyBody } from '../helpers/fixtures.js';
import { batch, summary } from '../helpers/flow-fixtures.js';

let api: TestApi;
let proxy: CosmosFaultProxy;
let client: ReturnType<typeof createContractClient>;

beforeAll(async () => {
  api = await startThrottlableTestApi();
  proxy = api.cosmosFaults!;
  client = createContractClient(api.baseUrl);
  const admin = api.tokens.admin;
  expect((await client.call('PUT', '/clusters/c-rf', { token: admin, body: clusterBody('c-rf', {}, ['agent-rf']) })).status).toBe(201);
  expect((await client.call('PUT', '/networkpolicies/web', { token: admin, body: policyBody('web', { targets: { clusterIds: ['c-rf'] } }) })).status).toBe(201);
  const agent = await api.agentToken('agent-rf');
  const flows = batch([summary()], 0, new Date(Date.now() - 60_000).toISOString());
  expect((await client.call('POST', '/clusters/c-rf/nodes/n1/flows', { token: agent, body: flows })).status).toBe(200);
  await api.services.desiredState.settled();
});
afterEach(() => proxy.clear());
afterAll(async () => api?.close());

const start = (): Promise<ApiResponse> => client.call('POST', '/policyreplays', { token: api.tokens.reader, body: { modes: [{ name: 'web', mode: 'audit' }], since: '1h' } });
const operationCount = async () => (await api.cosmos.containers.operations.items.query('SELECT VALUE COUNT(1) FROM c').fetchAll()).resources[0] as number;

async function done(id: string): Promise<ApiResponse> {
  for (let i = 0; i < 100; i++) {
    const r = await client.call('GET', `/policyreplays/${id}`, { token: api.tokens.reader });
    if (r.status === 200 && (r.body.status === 'Succeeded' || r.body.status === 'Failed')) return r;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('replay did not finish');
}

function expectUnavailable(r: ApiResponse): void {
  expect(r.status).toBe(503);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body.code).toBe('ServiceUnavailable');
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('policy replays under store throttling', () => {
  it.each<[string, CosmosRequestMatcher | undefined]>([
    ['every store request', undefined],
    ['the policy reads of the checks', cosmosMatch.docsOf('resources')],
    ['the operation\'s create', cosmosMatch.creates('operations')],
  ])('startPolicyReplay throttled beyond the budget (%s): 503 + Retry-After, nothing stored, then 202', async (_name, match) => {
    await api.services.policyReplays.settled();
    const before = await operationCount();
    proxy.inject({ kind: 'throttle', retryAfterMs: 10 }, match ? { match } : {});
    expectUnavailable(await start());
    proxy.clear();
    expect(await operationCount()).toBe(before);
    const after = await start();
    expect(after.status).toBe(202);
    expect((await done(after.body.id)).body.status).toBe('Succeeded');
  });

  it('getPolicyReplay throttled beyond the budget: 503 + Retry-After, then 200', async () => {
    const started = await start();
    const finished = await done(started.body.id);
    proxy.inject({ kind: 'throttle', retryAfterMs: 10 }, { match: cosmosMatch.docsOf('operations') });
    expectUnavailable(await client.call('GET', `/policyreplays/${started.body.id}`, { token: api.tokens.reader }));
    proxy.clear();
    const again = await client.call('GET', `/policyreplays/${started.body.id}`, { token: api.tokens.reader });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(finished.body);
  });

  it('flow history throttled while the replay runs: Failed with the ServiceUnavailable problem', async () => {
    proxy.inject({ kind: 'throttle', retryAfterMs: 10 }, { match: cosmosMatch.docsOf('flowCoverage') });
    const started = await start();
    expect(started.status).toBe(202);
    await api.services.policyReplays.settled();
    proxy.clear();
    const r = await done(started.body.id);
    expect(r.body).toMatchObject({ status: 'Failed', error: { code: 'ServiceUnavailable', status: 503 } });
    expect(r.body.result).toBeUndefined();
  });
});
