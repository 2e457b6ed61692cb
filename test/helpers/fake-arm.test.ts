/**
 * The ARM fake driven by the real @azure/arm-containerservice client over HTTPS: paging, get/404, the
 * Azure-AsyncOperation LRO to Succeeded and Failed, If-Match preconditions, throttling, subscription
 * failures, auth and TLS trust. Only the endpoint, tlsOptions and credential are overridden.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RestError } from '@azure/core-rest-pipeline';
import { ContainerServiceClient, type ManagedCluster } from '@azure/arm-containerservice';
import { clusterFromFixture, managedClusterId, staticTokenCredential, startFakeArm, type ArmRequest, type FakeArm } from './fake-arm.js';

const SUB = '00000000-0000-0000-0000-000000000001';
const OTHER_SUB = '00000000-0000-0000-0000-000000000002';
const TRANSIT = 'AdvancedNetworkingTransitEncryption.json';
const FIXTURES = [TRANSIT, 'ManagedClustersCreate_Update.json', 'ManagedClustersCreate_DualStackNetworking.json', 'ManagedClustersCreate_NodeAutoProvisioning.json'];
/** poll pace for LROs (the SDK's default is 2000 ms; the fake answers Retry-After: 0, which core-lro ignores) */
const FAST = { updateIntervalInMs: 10 };

const isOperationPoll = (r: ArmRequest) => /\/operations\/[^/]+$/.test(r.path);
const isList = (r: ArmRequest) => r.method === 'GET' && /\/managedClusters$/i.test(r.path);

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('fake ARM with the real ContainerServiceClient', () => {
  let fake: FakeArm;
  let client: ContainerServiceClient;
  const id = managedClusterId(SUB, 'rg1', 'c1');

  beforeEach(async () => {
    fake = await startFakeArm({ pageSize: 3 });
    client = fake.client(SUB);
    fake.seed(clusterFromFixture(TRANSIT, { subscriptionId: SUB, resourceGroup: 'rg1', name: 'c1', eTag: 'etag-1' }));
  });
  afterEach(async () => {
    await fake.close();
  });

  it('lists a subscription over three pages and a resource group over two, following absolute nextLinks', async () => {
    for (let i = 2; i <= 7; i++) {
      const rg = i <= 4 ? 'rg1' : 'rg2';
      fake.seed(clusterFromFixture(FIXTURES[i % FIXTURES.length]!, { subscriptionId: SUB, resourceGroup: rg, name: `c${i}` }));
    }
    fake.seed(clusterFromFixture(TRANSIT, { subscriptionId: OTHER_SUB, resourceGroup: 'rg1', name: 'elsewhere' }));

    const names: string[] = [];
    for await (const c of client.managedClusters.list()) names.push(c.name!);
    expect(names).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    const pages = fake.requests.filter(isList);
    expect(pages.map((r) => r.query)).toEqual([
      { 'api-version': '2026-04-01' },
      { 'api-version': '2026-04-01', $skipToken: '3' },
      { 'api-version': '2026-04-01', $skipToken: '6' },
    ]);

    const inRg1: string[] = [];
    for await (const c of client.managedClusters.listByResourceGroup('rg1')) inRg1.push(c.name!);
    expect(inRg1).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(fake.requests.filter(isList)).toHaveLength(5);
  });

  it('gets a cluster with its deserialized fields and ETag, case-insensitively; 404 once deleted', async () => {
    let etagHeader: string | null = null;
    const c = await client.managedClusters.get('RG1', 'C1', { onResponse: (raw) => void (etagHeader = raw.headers.get('etag') ?? null) });
    expect(c.id).toBe(id);
    expect(c.eTag).toBe('etag-1');
    expect(etagHeader).toBe('etag-1');
    // the modular SDK flattens `properties` into the model
    expect(c.networkProfile?.advancedNetworking?.security?.transitEncryption?.type).toBe('WireGuard');
    expect(c.provisioningState).toBe('Succeeded');
    expect(c).not.toHaveProperty('properties');

    expect(fake.deleteCluster(id.toUpperCase())).toBe(true);
    const err = await rejection(client.managedClusters.get('rg1', 'c1'));
    expect(err).toBeInstanceOf(RestError);
    expect(err).toMatchObject({ name: 'RestError', statusCode: 404, code: 'ResourceNotFound', details: { error: { code: 'ResourceNotFound' } } });
    const left: ManagedCluster[] = [];
    for await (const x of client.managedClusters.list()) left.push(x);
    expect(left).toEqual([]);
  });

  it('createOrUpdate with ifMatch polls Azure-AsyncOperation to Succeeded; the final GET has the change and a new eTag', async () => {
    const before = await client.managedClusters.get('rg1', 'c1');
    fake.pollsBeforeDone = 2;
    const poller = client.managedClusters.createOrUpdate('rg1', 'c1', { ...before, kubernetesVersion: '1.31.2' }, { ifMatch: before.eTag!, ...FAST });
    const after = await poller.pollUntilDone();

    expect(after.kubernetesVersion).toBe('1.31.2');
    expect(after.provisioningState).toBe('Succeeded');
    expect(after.eTag).toBeDefined();
    expect(after.eTag).not.toBe('etag-1');
    expect(after.networkProfile?.advancedNetworking?.security?.transitEncryption?.type).toBe('WireGuard');

    const put = fake.requests.find((r) => r.method === 'PUT')!;
    expect(put.headers['if-match']).toBe('etag-1');
    expect(put.query['api-version']).toBe('2026-04-01');
    expect(put.body).toMatchObject({ location: 'location1', properties: { kubernetesVersion: '1.31.2' } });
    const afterPut = fake.requests.slice(fake.requests.indexOf(put) + 1);
    expect(afterPut.filter(isOperationPoll)).toHaveLength(3); // 2 × InProgress, then Succeeded
    expect(afterPut.at(-1)).toMatchObject({ method: 'GET', path: put.path }); // the final GET of the resource
    expect(fake.cluster(id)).toMatchObject({ eTag: after.eTag, properties: { kubernetesVersion: '1.31.2', provisioningState: 'Succeeded' } });
  });

  it('creates a new cluster (201 → Creating → Succeeded) and updates tags by PATCH', async () => {
    const template = await client.managedClusters.get('rg1', 'c1');
    const { id: _id, name: _name, eTag: _eTag, ...body } = template;
    const created = await client.managedClusters.createOrUpdate('rg2', 'fresh', body, FAST).pollUntilDone();
    expect(created).toMatchObject({ id: managedClusterId(SUB, 'rg2', 'fresh'), name: 'fresh', provisioningState: 'Succeeded' });

    const tagged = await client.managedClusters.updateTags('rg2', 'fresh', { tags: { env: 'test' } }, FAST).pollUntilDone();
    expect(tagged.tags).toEqual({ env: 'test' });
    expect(tagged.eTag).not.toBe(created.eTag);
    expect(fake.requests.filter((r) => r.method === 'PATCH').map((r) => r.body)).toEqual([{ tags: { env: 'test' } }]);
  });

  it('a scripted Failed operation rejects pollUntilDone with a plain Error; the cluster is Failed with its old properties', async () => {
    const before = await client.managedClusters.get('rg1', 'c1');
    fake.failNextOperation('ReconcileAddonsError', 'addon reconciliation failed');
    const err = await rejection(
      client.managedClusters.createOrUpdate('rg1', 'c1', { ...before, kubernetesVersion: '1.31.2' }, { ifMatch: before.eTag!, ...FAST }).pollUntilDone(),
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(RestError);
    expect((err as Error).message).toBe('The long-running operation has failed. ReconcileAddonsError. addon reconciliation failed');
    expect(err).not.toHaveProperty('statusCode');

    const now = await client.managedClusters.get('rg1', 'c1');
    expect(now.provisioningState).toBe('Failed');
    expect(now.kubernetesVersion).toBe(before.kubernetesVersion);
    expect(fake.requests.filter(isOperationPoll)).toHaveLength(2);
  });

  it('a stale If-Match is refused with 412 PreconditionFailed and changes nothing', async () => {
    const stored = fake.cluster(id);
    const before = await client.managedClusters.get('rg1', 'c1');
    const err = await rejection(
      client.managedClusters.createOrUpdate('rg1', 'c1', { ...before, kubernetesVersion: '1.31.2' }, { ifMatch: 'etag-0', ...FAST }).pollUntilDone(),
    );
    expect(err).toBeInstanceOf(RestError);
    expect(err).toMatchObject({ statusCode: 412, code: 'PreconditionFailed' });
    expect(fake.cluster(id)).toEqual(stored);
    expect(fake.requests.filter(isOperationPoll)).toEqual([]);
  });

  it('retries one 429 after Retry-After and succeeds', async () => {
    fake.throttle(1, 1, (r) => r.method === 'GET');
    const t0 = Date.now();
    const c = await client.managedClusters.get('rg1', 'c1');
    expect(c.name).toBe('c1');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(fake.requests).toHaveLength(2);
  });

  it('persistent 429: the default policy makes 4 attempts (maxRetries 3) then throws; retryOptions.maxRetries shortens it', async () => {
    fake.throttle(100, 1);
    const t0 = Date.now();
    const err = await rejection(client.managedClusters.get('rg1', 'c1'));
    const took = Date.now() - t0;
    expect(err).toMatchObject({ name: 'RestError', statusCode: 429, code: 'TooManyRequests' });
    expect(fake.requests).toHaveLength(4);
    expect(took).toBeGreaterThanOrEqual(2_900);
    expect(took).toBeLessThan(6_000);

    const impatient = fake.client(SUB, { retryOptions: { maxRetries: 0 } });
    const n = fake.requests.length;
    await expect(impatient.managedClusters.get('rg1', 'c1')).rejects.toMatchObject({ statusCode: 429 });
    expect(fake.requests.length - n).toBe(1);
  });

  it('fails every request under a scripted subscription with 403 AuthorizationFailed; others are unaffected', async () => {
    fake.seed(clusterFromFixture(TRANSIT, { subscriptionId: OTHER_SUB, resourceGroup: 'rg9', name: 'x' }));
    fake.failSubscription(SUB);
    const list = async () => {
      for await (const _ of client.managedClusters.list()) void _;
    };
    await expect(list()).rejects.toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    await expect(client.managedClusters.get('rg1', 'c1')).rejects.toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    expect((await fake.client(OTHER_SUB).managedClusters.get('rg9', 'x')).name).toBe('x');
    fake.clearSubscriptionFailure(SUB);
    expect((await client.managedClusters.get('rg1', 'c1')).name).toBe('c1');
  });

  it('answers 401 to a wrong bearer token, and the client refuses the certificate without tlsOptions.ca', async () => {
    const wrong = new ContainerServiceClient(staticTokenCredential('not-the-token'), SUB, fake.armClientOptions());
    await expect(wrong.managedClusters.get('rg1', 'c1')).rejects.toMatchObject({ statusCode: 401, code: 'InvalidAuthenticationToken' });
    expect(fake.requests.at(-1)?.headers.authorization).toBe('Bearer not-the-token');

    const untrusting = new ContainerServiceClient(fake.credential, SUB, { endpoint: fake.endpoint, retryOptions: { maxRetries: 0 } });
    const n = fake.requests.length;
    await expect(untrusting.managedClusters.get('rg1', 'c1')).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(fake.requests.length).toBe(n);
  });
});
