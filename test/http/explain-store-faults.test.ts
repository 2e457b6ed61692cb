/**
 * Explain under store throttling: the real API with a fault proxy before the embedded store (as
 * store-faults.test.ts). Throttled beyond the SDK's budget — the desired state, the nodes, or the flow
 * history a pod side reads — the client gets 503 ServiceUnavailable with Retry-After, never a 500; then
 * the same request succeeds.
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
  expect((await client.call('PUT', '/clusters/c-faults', { token: admin, body: clusterBody('c-faults', {}, ['agent-f']) })).status).toBe(201);
  expect((await client.call('PUT', '/networkpolicies/web', { token: admin, body: policyBody('web') })).status).toBe(201);
  const agent = await api.agentToken('agent-f');
  const flows = batch([summary({ source: { identity: 3001, namespace: 'shop', pod_name: 'web-1', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop'] } })], 0, new Date(Date.now() - 60_000).toISOString());
  expect((await client.call('POST', '/clusters/c-faults/nodes/n1/flows', { token: agent, body: flows })).status).toBe(200);
  await api.services.desiredState.settled();
});
afterEach(() => proxy.clear());
afterAll(async () => api?.close());

const explain = (): Promise<ApiResponse> =>
  client.call('POST', '/clusters/c-faults/explain', { token: api.tokens.reader, body: { source: { workload: { namespace: 'shop', labels: { app: 'api' } } }, destination: { pod: 'shop/web-1' }, port: 80 } });

describe('explainFlow under store throttling', () => {
  it.each<[string, CosmosRequestMatcher | undefined]>([
    ['every store request', undefined],
    ['the nodes', cosmosMatch.queries('nodes')],
    ['the flow history', cosmosMatch.queries('flows')],
  ])('throttled beyond the budget (%s): 503 + Retry-After, then 200', async (_name, match) => {
    expect((await explain()).status).toBe(200);
    proxy.inject({ kind: 'throttle', retryAfterMs: 10 }, match ? { match } : {});
    const throttled = await explain();
    expect(throttled.status).toBe(503);
    expect(throttled.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(throttled.body.code).toBe('ServiceUnavailable');
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    proxy.clear();
    const after = await explain();
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ verdict: 'forwarded', destination: { resolvedFrom: 'pod-history', pod: 'shop/web-1' } });
  });
});
