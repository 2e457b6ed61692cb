import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESIRED_STATE_MEDIA_TYPE } from '../../core/bundle/desired-state-format.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, encryptionBody, policyBody } from '../helpers/fixtures.js';

/**
 * A write costs the same number of store requests whatever the fleet's size: compiling desired state for
 * the affected clusters happens after the request (change feed), not inside it.
 */
let small: TestApi;
let large: TestApi;

async function fleet(clusters: number): Promise<TestApi> {
  const api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
  const client = createContractClient(api.baseUrl);
  const envs = ['prod', 'dev', 'staging'];
  const regions = ['east', 'west', 'north', 'south'];
  for (let start = 0; start < clusters; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, clusters - start) }, (_, k) => {
        const i = start + k;
        return client.call('PUT', `/clusters/c-${i}`, { token: api.tokens.admin, body: clusterBody(`c-${i}`, { env: envs[i % 3]!, region: regions[i % 4]! }, [`agent-${i}`]) });
      }),
    );
  }
  await api.services.desiredState.settled();
  return api;
}

/** Store requests made while `write` runs, with the compiler idle before and after (its work is not counted). */
async function requestsOf(api: TestApi, write: () => Promise<number>): Promise<{ requests: number; status: number }> {
  await api.services.desiredState.settled();
  const before = api.cosmos.requestCount()!;
  const status = await write();
  const requests = api.cosmos.requestCount()! - before;
  await api.services.desiredState.settled();
  return { requests, status };
}

beforeAll(async () => {
  small = await fleet(10);
  large = await fleet(500);
}, 120_000);
afterAll(async () => {
  await small?.close();
  await large?.close();
});

describe('write cost is independent of the number of clusters', () => {
  const writes: [string, (api: TestApi, round: number) => Promise<number>][] = [
    ['create a policy targeting every cluster', async (api, round) => (await put(api, `/networkpolicies/everywhere-${round}`, policyBody(`everywhere-${round}`))).status],
    ['replace it with a new spec', async (api, round) => (await put(api, `/networkpolicies/everywhere-${round}`, policyBody(`everywhere-${round}`, { description: 'changed' }))).status],
    ['delete it', async (api, round) => (await createContractClient(api.baseUrl).call('DELETE', `/networkpolicies/everywhere-${round}`, { token: api.tokens.admin })).status],
    ['change the encryption settings', async (api, round) => (await put(api, '/encryptionsettings', encryptionBody({ default: { enabled: round % 2 === 0, type: 'wireguard' } }))).status],
  ];

  it.each(writes)('%s: the same store requests at 10 and at 500 clusters', async (_name, write) => {
    for (const round of [1, 2]) {
      const atTen = await requestsOf(small, () => write(small, round));
      const atFiveHundred = await requestsOf(large, () => write(large, round));
      expect(atTen.status).toBeLessThan(300);
      expect(atFiveHundred.status).toBe(atTen.status);
      expect(atFiveHundred.requests).toBe(atTen.requests);
    }
  });

  it('the compiled desired state of every one of the 500 clusters reflects a write made in one O(1) request', async () => {
    const { status } = await requestsOf(large, async () => (await put(large, '/networkpolicies/fleet-wide', policyBody('fleet-wide'))).status);
    expect(status).toBe(201);
    const client = createContractClient(large.baseUrl);
    const missing: string[] = [];
    for (let start = 0; start < 500; start += 50) {
      const polls = await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          client.call('GET', `/clusters/c-${start + k}/nodes/n/desiredstate`, { token: large.tokens.reader, headers: { accept: DESIRED_STATE_MEDIA_TYPE } }),
        ),
      );
      polls.forEach((poll, k) => {
        if (!poll.body.policies.some((p: { name: string }) => p.name === 'fleet-wide')) missing.push(`c-${start + k}`);
      });
    }
    expect(missing).toEqual([]);
    // Label groups, not clusters, carry the manifests: 3 envs × 4 regions.
    expect((await large.services.store.manifests.all()).length).toBe(12);
  });
});

function put(api: TestApi, path: string, body: unknown) {
  return createContractClient(api.baseUrl).call('PUT', path, { token: api.tokens.admin, body });
}
