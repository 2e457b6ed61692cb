/**
 * Throttling and store faults (issue 9 item 4): the real API over the real SDK, with a fault proxy between
 * the SDK and the embedded Cosmos server (test/helpers/cosmos-fault-proxy.ts). A burst of 429s within the
 * SDK's retry budget is absorbed; beyond it — and for store 503s, timeouts and dropped connections — the
 * client gets 503 ServiceUnavailable (problem+json) with Retry-After, never a 500; afterwards the same
 * requests succeed. Small budgets keep the suite fast: 3 throttle retries within 2 s, 1 s request timeout.
 */
import { ErrorResponse, RestError, TimeoutError } from '@azure/cosmos';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { classifyStoreError, type StoreFault } from '../../functions/src/store/store-unavailable.js';
import { createContractClient, type ApiResponse, type CallOptions } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { cosmosMatch, type CosmosFaultProxy, type CosmosRequestInfo, type CosmosRequestMatcher, type RecordedCosmosRequest } from '../helpers/cosmos-fault-proxy.js';
import { clusterBody, policyBody } from '../helpers/fixtures.js';
import { batch, createRandom, generateSummaries } from '../helpers/flow-fixtures.js';

const MAX_RETRIES = 3;
const REQUEST_TIMEOUT_MS = 1000;

let api: TestApi;
let proxy: CosmosFaultProxy;
let client: ReturnType<typeof createContractClient>;
let agent: string;
let sequence = 0;
let policies = 0;

beforeAll(async () => {
  api = await startTestApi(
    {
      FLEETNET_DESIRED_STATE_CACHE_MS: '0', // every poll reads the store
      FLEETNET_COSMOS_MAX_THROTTLE_RETRIES: String(MAX_RETRIES),
      FLEETNET_COSMOS_MAX_THROTTLE_WAIT_SECONDS: '2',
      FLEETNET_COSMOS_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    },
    {},
    { cosmosFaults: true },
  );
  proxy = api.cosmosFaults!;
  client = createContractClient(api.baseUrl);
  agent = await api.agentToken('agent-a');
  expect((await client.call('PUT', '/clusters/cluster-a', { token: api.tokens.admin, body: clusterBody('cluster-a', { env: 'prod' }, ['agent-a']) })).status).toBe(201);
  expect((await client.call('PUT', '/networkpolicies/existing', { token: api.tokens.admin, body: policyBody('existing') })).status).toBe(201);
  expect((await ingest()).status).toBe(200); // so flow queries read chunks
});
afterEach(() => proxy.clear());
afterAll(async () => api?.close());

const DESIRED_STATE_ACCEPT = 'application/vnd.fleetnet.desiredstate.v2+json, application/json';

type Call = [method: string, path: string, options: CallOptions];

/** The operations of the brief, each a fresh request (new policy name, new batch) that can be sent again. */
const operations: Record<string, () => Call> = {
  'GET policy': () => ['GET', '/networkpolicies/existing', { token: api.tokens.reader }],
  'list policies': () => ['GET', '/networkpolicies', { token: api.tokens.reader }],
  'PUT policy': () => ['PUT', `/networkpolicies/p-${++policies}`, { token: api.tokens.admin, body: policyBody(`p-${policies}`) }],
  'desired-state poll': () => ['GET', '/clusters/cluster-a/nodes/node-1/desiredstate', { token: agent, headers: { accept: DESIRED_STATE_ACCEPT } }],
  'flow ingest': () => ingestCall(),
  'flow query': () => ['POST', '/flows/query', { token: api.tokens.reader, body: { whitelist: [{ cluster: ['cluster-a'] }], since: '1h' } }],
};
const send = ([method, path, options]: Call): Promise<ApiResponse> => client.call(method, path, options);
const run = (name: string): Promise<ApiResponse> => send(operations[name]!());
const succeeded = (response: ApiResponse) => [200, 201].includes(response.status);

/** A new batch of 1200 summaries (three stored chunks). */
function ingestCall(): Call {
  const body = batch(generateSummaries(1200, createRandom(++sequence)), sequence, new Date(Date.now() - 60_000).toISOString());
  return ['POST', '/clusters/cluster-a/nodes/node-1/flows', { token: agent, body }];
}
const ingest = () => send(ingestCall());

async function timed(call: () => Promise<ApiResponse>): Promise<{ response: ApiResponse; ms: number }> {
  const started = Date.now();
  const response = await call();
  return { response, ms: Date.now() - started };
}

/** 503 ServiceUnavailable as problem+json with Retry-After (the contract client has checked it against the spec). */
function expectServiceUnavailable(response: ApiResponse, retryAfter?: number): void {
  expect(response.status, response.text).toBe(503);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status: 503, code: 'ServiceUnavailable' });
  const header = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(header) && header >= 1).toBe(true);
  if (retryAfter !== undefined) expect(header).toBe(retryAfter);
  // Nothing about the store leaks: no URLs, hosts, Cosmos paths or activity ids.
  expect(response.body.detail).toMatch(/retry/i);
  expect(JSON.stringify({ ...response.body, type: undefined })).not.toMatch(/https?:|127\.0\.0\.1|\/dbs\/|\/colls\/|fault-proxy|injected/i);
}

/** What identifies one SDK request across its retries: method, path and the query / query-plan / bulk markers. */
const signature = (r: RecordedCosmosRequest) =>
  [r.method, r.path, r.headers['x-ms-documentdb-isquery'], r.headers['x-ms-cosmos-is-query-plan-request'], r.headers['x-ms-cosmos-is-batch-request']].join(' ');

/**
 * Attempts the proxy saw of the first faulted request (same signature), from `since` on. Bulk requests are
 * skipped: the SDK does not retry a bulk request as a whole (flow-store.ts then writes chunk by chunk).
 */
function attemptsOfFirstFaulted(since: number, outcome: RecordedCosmosRequest['outcome']): RecordedCosmosRequest[] {
  const seen = proxy.requests.slice(since);
  const first = seen.find((r) => r.outcome === outcome && r.headers['x-ms-cosmos-is-batch-request'] === undefined);
  return first ? seen.filter((r) => signature(r) === signature(first)) : [];
}

/** Every throttled request of `since` on was sent again, at least `waitMs` later, and then went through. */
function expectEachThrottledRetried(since: number, waitMs: number): void {
  const seen = proxy.requests.slice(since);
  const throttled = seen.filter((r) => r.outcome === 'throttle');
  expect(throttled.length).toBeGreaterThan(0);
  for (const request of throttled) {
    const retry = seen.find((r) => r.at >= request.at && r !== request && signature(r) === signature(request) && seen.indexOf(r) > seen.indexOf(request));
    expect(retry, `retry of ${signature(request)}`).toBeDefined();
    expect(retry!.at - request.at).toBeGreaterThanOrEqual(waitMs);
  }
  const last = new Map(seen.map((r) => [signature(r), r]));
  for (const request of throttled) expect(last.get(signature(request))!.outcome).toBe('forwarded');
}

describe('429 bursts within the SDK retry budget are absorbed', () => {
  it.each(Object.keys(operations))('%s: two 429s on its first store request, then success', async (name) => {
    const since = proxy.requests.length;
    const rule = proxy.inject({ kind: 'throttle', retryAfterMs: 20 }, { count: 2 });
    const response = await run(name);
    expect(succeeded(response), `${response.status} ${response.text}`).toBe(true);
    expect(rule.hits).toBe(2);
    // The SDK sent each throttled request again after its Retry-After (20 ms), until it went through (a
    // throttle may also hit background work, e.g. the in-process desired-state compiler: wait for its retry).
    await vi.waitFor(() => expectEachThrottledRetried(since, 15), { timeout: 3000, interval: 50 });
  });

  it('PUT policy: the document write itself throttled twice is retried by the SDK (201)', async () => {
    const since = proxy.requests.length;
    proxy.inject({ kind: 'throttle', retryAfterMs: 20 }, { count: 2, match: cosmosMatch.creates('resources') });
    const response = await run('PUT policy');
    expect(response.status).toBe(201);
    expect(attemptsOfFirstFaulted(since, 'throttle').map((r) => r.outcome)).toEqual(['throttle', 'throttle', 'forwarded']);
  });

  it('flow ingest: a throttled bulk write falls back to single creates, which the SDK retries (200, all accepted)', async () => {
    const since = proxy.requests.length;
    proxy.inject({ kind: 'throttle', retryAfterMs: 20 }, { count: 1, match: cosmosMatch.bulk('flows') });
    proxy.inject({ kind: 'throttle', retryAfterMs: 20 }, { count: 2, match: cosmosMatch.creates('flows') });
    const response = await ingest();
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ accepted: 1200, duplicates: 0 });
    const flowWrites = proxy.requests.slice(since).filter((r) => r.method === 'POST' && r.path.endsWith('/colls/flows/docs'));
    expect(flowWrites.filter((r) => r.outcome === 'throttle')).toHaveLength(3);
    expect(flowWrites.filter((r) => r.outcome === 'forwarded' && r.status === 201)).toHaveLength(3);
  });
});

describe('429s beyond the budget: 503 + Retry-After', () => {
  it.each(Object.keys(operations))('%s', async (name) => {
    const since = proxy.requests.length;
    proxy.inject({ kind: 'throttle', retryAfterMs: 10 });
    const { response, ms } = await timed(() => run(name));
    expectServiceUnavailable(response, 1);
    expect(attemptsOfFirstFaulted(since, 'throttle').length).toBeGreaterThanOrEqual(MAX_RETRIES + 1);
    expect(ms).toBeLessThan(3000);
  });

  const targeted: Array<[string, CosmosRequestMatcher]> = [
    ['PUT policy', cosmosMatch.creates('resources')],
    ['flow ingest', cosmosMatch.docsOf('flows')],
    ['flow query', cosmosMatch.queries('flows')],
  ];
  it.each(targeted)('%s, throttled only where it touches its main documents', async (name, match) => {
    const since = proxy.requests.length;
    proxy.inject({ kind: 'throttle', retryAfterMs: 10 }, { match });
    expectServiceUnavailable(await run(name), 1);
    expect(attemptsOfFirstFaulted(since, 'throttle').length).toBeGreaterThanOrEqual(MAX_RETRIES + 1);
  });

  it("honours the store's Retry-After: waits it out between tries, stops at the wait budget, passes it on rounded up", async () => {
    const since = proxy.requests.length;
    proxy.inject({ kind: 'throttle', retryAfterMs: 1200 });
    const { response, ms } = await timed(() => run('GET policy'));
    expectServiceUnavailable(response, 2);
    const attempts = attemptsOfFirstFaulted(since, 'throttle');
    // Budget 2 s: waits of 1.2 s after the 1st and 2nd 429 (1.2 s < 2 s), none after the 3rd (2.4 s ≥ 2 s).
    expect(attempts).toHaveLength(3);
    for (let i = 1; i < attempts.length; i++) expect(attempts[i]!.at - attempts[i - 1]!.at).toBeGreaterThanOrEqual(1100);
    expect(ms).toBeGreaterThanOrEqual(2300);
  });
});

describe('store 503s, timeouts and dropped connections: 503 + Retry-After', () => {
  it.each(Object.keys(operations))('%s: store answers 503', async (name) => {
    proxy.inject({ kind: 'unavailable' });
    expectServiceUnavailable(await run(name), 1);
  });

  it("a store 503 with x-ms-retry-after-ms passes that on (rounded up to seconds)", async () => {
    proxy.inject({ kind: 'unavailable', retryAfterMs: 3500 });
    expectServiceUnavailable(await run('PUT policy'), 4);
  });

  it.each(['GET policy', 'PUT policy', 'desired-state poll', 'flow query'])('%s: the store does not answer → 503 within the request timeout', async (name) => {
    proxy.inject({ kind: 'hang' });
    const { response, ms } = await timed(() => run(name));
    expectServiceUnavailable(response, 1);
    expect(ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1500);
  });

  it('flow ingest: the store does not answer → 503 within two request timeouts (bulk, then single creates)', async () => {
    proxy.inject({ kind: 'hang' }, { match: cosmosMatch.docsOf('flows') });
    const { response, ms } = await timed(ingest);
    expectServiceUnavailable(response, 1);
    expect(ms).toBeLessThan(2 * REQUEST_TIMEOUT_MS + 1500);
  });

  it('a store answering after the request timeout is a 503 too', async () => {
    proxy.inject({ kind: 'delay', ms: REQUEST_TIMEOUT_MS + 500 }, { count: 1 });
    const { response, ms } = await timed(() => run('GET policy'));
    expectServiceUnavailable(response, 1);
    expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1500);
  });

  it('a write whose connection is dropped → 503', async () => {
    proxy.inject({ kind: 'reset' }, { match: cosmosMatch.creates('resources') });
    expectServiceUnavailable(await run('PUT policy'), 1);
  });

  it('a read whose connection is dropped once is retried by the SDK (200)', async () => {
    const rule = proxy.inject({ kind: 'reset' }, { count: 1 });
    const response = await run('GET policy');
    expect(response.status).toBe(200);
    expect(rule.hits).toBe(1);
  });
});

describe('after the faults stop', () => {
  it.each(Object.keys(operations))('%s: the same request succeeds', async (name) => {
    const call = operations[name]!();
    proxy.inject({ kind: 'throttle', retryAfterMs: 10 });
    expectServiceUnavailable(await send(call), 1);
    proxy.clear();
    const response = await send(call);
    expect(succeeded(response), `${response.status} ${response.text}`).toBe(true);
  });

  it('a flow batch that got 503 mid-write, sent again, is stored exactly once', async () => {
    const call = ingestCall();
    const { batchId } = call[2].body as { batchId: string };
    // The bulk write fails as a whole; of the single creates, chunk 0 goes through and chunks 1 and 2 stay throttled.
    const createsOfLaterChunks = cosmosMatch.creates('flows') as (r: CosmosRequestInfo) => boolean;
    proxy.inject({ kind: 'throttle', retryAfterMs: 10 }, { count: 1, match: cosmosMatch.bulk('flows') });
    proxy.inject({ kind: 'throttle', retryAfterMs: 10 }, { match: (r) => createsOfLaterChunks(r) && !r.body.includes(`"id":"${batchId}.0"`) });
    expectServiceUnavailable(await send(call), 1);
    proxy.clear();
    const again = await send(call);
    expect(again.status).toBe(200);
    expect(again.body.accepted + again.body.duplicates).toBe(1200);
    expect(again.body.duplicates).toBeGreaterThan(0); // chunk 0, stored by the first delivery
    expect(again.body.accepted).toBeGreaterThan(0);
    const third = await send(call);
    expect(third.body).toMatchObject({ accepted: 0, duplicates: 1200 });
  });

  it('what was stored before the faults is intact', async () => {
    const policy = await run('GET policy');
    expect(policy.body.metadata).toMatchObject({ name: 'existing', generation: 1 });
  });
});

describe('classifyStoreError (what the SDK throws → fault and Retry-After)', () => {
  const cosmosError = (code: number, extra: Partial<ErrorResponse> = {}) => Object.assign(new ErrorResponse(`status ${code}`), { code, ...extra });
  const cases: Array<{ given: string; error: unknown; want: [StoreFault, number] | undefined }> = [
    { given: '429 with retryAfterInMs 250', error: cosmosError(429, { retryAfterInMs: 250 }), want: ['throttled', 1] },
    { given: '429 with retryAfterInMs 2500', error: cosmosError(429, { retryAfterInMs: 2500 }), want: ['throttled', 3] },
    { given: '429 with only the x-ms-retry-after-ms header', error: cosmosError(429, { headers: { 'x-ms-retry-after-ms': '4100' } }), want: ['throttled', 5] },
    { given: '429 naming no delay', error: cosmosError(429), want: ['throttled', 1] },
    { given: '429 asking for 10 minutes', error: cosmosError(429, { retryAfterInMs: 600_000 }), want: ['throttled', 60] },
    { given: '503', error: cosmosError(503), want: ['unavailable', 1] },
    { given: '503 with x-ms-retry-after-ms', error: cosmosError(503, { headers: { 'x-ms-retry-after-ms': '1500' } }), want: ['unavailable', 2] },
    { given: '449 retry with', error: cosmosError(449), want: ['unavailable', 1] },
    { given: '408', error: cosmosError(408), want: ['timeout', 1] },
    { given: 'the SDK TimeoutError', error: new TimeoutError('Timeout Error! Request took more than 5000 ms'), want: ['timeout', 1] },
    { given: 'connection reset', error: new RestError('socket hang up', { code: 'ECONNRESET' }), want: ['connection', 1] },
    { given: 'request not sent', error: new RestError('send failed', { code: 'REQUEST_SEND_ERROR' }), want: ['connection', 1] },
    { given: 'refused, as the cause of a wrapper', error: new Error('wrapped', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }), want: ['connection', 1] },
    { given: '404', error: cosmosError(404), want: undefined },
    { given: '409', error: cosmosError(409), want: undefined },
    { given: '400', error: cosmosError(400), want: undefined },
    { given: 'a plain Error', error: new Error('bug'), want: undefined },
    { given: 'a string', error: '429', want: undefined },
  ];
  it.each(cases)('$given', ({ error, want }) => {
    const fault = classifyStoreError(error);
    expect(fault && [fault.fault, fault.retryAfterSeconds]).toEqual(want);
  });
});
