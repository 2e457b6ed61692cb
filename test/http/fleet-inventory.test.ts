/**
 * Fleet inventory over ARM's protocol: the real @azure/arm-containerservice client (endpoint, credential and
 * TLS trust overridden, nothing else) against test/helpers/fake-arm.ts loaded with the AKS examples of
 * ../shared/fixtures/arm. A run lists a subscription over three pages (after a 429 + Retry-After), reads a
 * cluster of an unlisted subscription by GET, reports a subscription ARM refuses without failing the others,
 * marks a cluster ARM answers 404 for (facts kept, ArmResourceFound False) and one whose id changed; the
 * clusters are then read with their facts, conditions and compliance; discovery registers what no cluster
 * names, labels from tags. Only Fleet.Admin runs it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterFromFixture, managedClusterId, startFakeArm, type FakeArm } from '../helpers/fake-arm.js';
import { encryptionBody } from '../helpers/fixtures.js';

const SUB_A = '00000000-0000-0000-0000-00000000000a';
const SUB_B = '00000000-0000-0000-0000-00000000000b';
const SUB_C = '00000000-0000-0000-0000-00000000000c';
const WG = 'AdvancedNetworkingTransitEncryption.json';
const CILIUM = 'ManagedClustersCreate_NodeAutoProvisioning.json';
const KUBENET = 'ManagedClustersCreate_Update.json';

let arm: FakeArm;
let api: TestApi;
let client: ReturnType<typeof createContractClient>;

const cluster = (name: string, armResourceId?: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'fleetnet.io/v1',
  kind: 'Cluster',
  metadata: { name, labels },
  spec: armResourceId ? { armResourceId } : {},
});

beforeAll(async () => {
  arm = await startFakeArm({ pageSize: 3 });
  arm.seed(
    clusterFromFixture(WG, { subscriptionId: SUB_A, resourceGroup: 'rg1', name: 'aks-wg' }),
    clusterFromFixture(CILIUM, { subscriptionId: SUB_A, resourceGroup: 'rg1', name: 'aks-cilium' }),
    clusterFromFixture(KUBENET, { subscriptionId: SUB_A, resourceGroup: 'rg2', name: 'aks-kubenet' }),
    ...[1, 2, 3, 4, 5].map((i) => clusterFromFixture(CILIUM, { subscriptionId: SUB_A, resourceGroup: 'rg3', name: `unregistered-${i}` })),
    clusterFromFixture(WG, { subscriptionId: SUB_B, resourceGroup: 'rgb', name: 'aks-other-sub' }),
    clusterFromFixture(WG, { subscriptionId: SUB_C, resourceGroup: 'rgc', name: 'aks-refused' }),
  );
  arm.failSubscription(SUB_C); // 403 AuthorizationFailed for everything under it
  api = await startTestApi(
    { FLEETNET_ARM_SUBSCRIPTIONS: ` ${SUB_A}, ${SUB_C} ` },
    {},
    { arm: { endpoint: arm.endpoint, credential: arm.credential, clientOptions: { tlsOptions: arm.tlsOptions } } },
  );
  client = createContractClient(api.baseUrl);
  const admin = api.tokens.admin;
  const put = async (body: ReturnType<typeof cluster>) => expect((await client.call('PUT', `/clusters/${body.metadata.name}`, { token: admin, body })).status).toBe(201);
  await put(cluster('c-wg', managedClusterId(SUB_A, 'rg1', 'aks-wg')));
  // ids compare case-insensitively, as ARM's do (Resource Graph gives them all lower case)
  await put(cluster('c-cilium', managedClusterId(SUB_A, 'RG1', 'AKS-CILIUM').toLowerCase()));
  await put(cluster('c-kubenet', managedClusterId(SUB_A, 'rg2', 'aks-kubenet')));
  await put(cluster('c-other-sub', managedClusterId(SUB_B, 'rgb', 'aks-other-sub')));
  await put(cluster('c-gone', managedClusterId(SUB_A, 'rg1', 'never-existed')));
  await put(cluster('c-refused', managedClusterId(SUB_C, 'rgc', 'aks-refused')));
  await put(cluster('c-no-arm'));
}, 60_000);
afterAll(async () => {
  await api?.close();
  await arm?.close();
});

const run = (token = api.tokens.admin) => client.call('POST', '/inventoryruns', { token });
const getCluster = async (id: string) => (await client.call('GET', `/clusters/${id}`, { token: api.tokens.reader })).body;
const condition = (c: { status?: { conditions?: Array<{ type: string; message?: string }> } }, type: string) => c.status?.conditions?.find((x) => x.type === type);

describe('fleet inventory', () => {
  it('refuses a reader: only Fleet.Admin runs it', async () => {
    expect((await run(api.tokens.reader)).status).toBe(403);
    expect(arm.requests).toHaveLength(0);
  });

  it('lists over pages after a 429, reads the rest by GET, reports the refused subscription and the deleted cluster', async () => {
    arm.throttle(1, 1, (r) => r.method === 'GET' && r.path.toLowerCase().endsWith(`/subscriptions/${SUB_A}/providers/microsoft.containerservice/managedclusters`));
    const response = await run();
    expect(response.status).toBe(200);
    const result = response.body;
    const a = result.subscriptions.find((s: { subscriptionId: string }) => s.subscriptionId === SUB_A);
    expect(a).toEqual({ subscriptionId: SUB_A, managedClusters: 8, pages: 3 });
    const c = result.subscriptions.find((s: { subscriptionId: string }) => s.subscriptionId === SUB_C);
    expect(c).toMatchObject({ subscriptionId: SUB_C, managedClusters: 0, pages: 0, error: { status: 403, code: 'AuthorizationFailed' } });
    expect(result.clusters).toMatchObject({
      registered: 7,
      updated: ['c-cilium', 'c-kubenet', 'c-other-sub', 'c-wg'],
      notFound: ['c-gone'],
      withoutArmId: ['c-no-arm'],
      discovered: [],
    });
    expect(result.clusters.failed).toEqual([{ clusterId: 'c-refused', error: expect.objectContaining({ status: 403, code: 'AuthorizationFailed' }) }]);
    const listCalls = arm.requests.filter((r) => r.method === 'GET' && r.path.toLowerCase().includes(`/subscriptions/${SUB_A}/providers/`));
    expect(listCalls).toHaveLength(4); // one 429, then three pages
    // nothing but reads was sent
    expect(arm.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('fills Cluster.status with ARM facts and conditions', async () => {
    const wg = await getCluster('c-wg');
    const stored = arm.cluster(managedClusterId(SUB_A, 'rg1', 'aks-wg'))!;
    expect(wg.status.inventory).toMatchObject({
      armResourceId: managedClusterId(SUB_A, 'rg1', 'aks-wg'),
      etag: stored.eTag,
      location: 'location1',
      kubernetesVersion: '1.9.6',
      provisioningState: 'Succeeded',
      network: { networkPlugin: 'azure', networkDataplane: 'cilium', advancedNetworking: { enabled: true, observabilityEnabled: false, securityEnabled: true, transitEncryption: 'WireGuard' } },
      nodePools: [{ name: 'nodepool1', count: 3, osType: 'Linux', mode: 'System', nodeImageVersion: 'AKSUbuntu:1604:2020.03.11' }],
    });
    expect(Date.parse(wg.status.inventory.observedAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(condition(wg, 'ArmResourceFound')).toMatchObject({ status: 'True', reason: 'Found' });
    expect((await getCluster('c-cilium')).status.inventory.network).toEqual({ networkPlugin: 'azure', networkPluginMode: 'overlay', networkDataplane: 'cilium' }); // the example sends no networkPolicy
    expect((await getCluster('c-kubenet')).status.inventory.network.networkPlugin).toBe('kubenet');
    expect((await getCluster('c-other-sub')).status.inventory.armResourceId).toContain(SUB_B);

    const gone = await getCluster('c-gone');
    expect(gone.status.inventory).toBeUndefined(); // never read: nothing to keep
    expect(condition(gone, 'ArmResourceFound')).toMatchObject({ status: 'False', reason: 'NotFound' });
    const refused = await getCluster('c-refused');
    expect(condition(refused, 'ArmResourceFound')).toMatchObject({ status: 'Unknown', reason: 'ReadFailed' });
    expect(condition(refused, 'ArmResourceFound')?.message).toContain('AuthorizationFailed');
    expect(condition(await getCluster('c-no-arm'), 'ArmResourceFound')).toBeUndefined();
  });

  it('reads clusters with their encryption compliance, and a PUT keeps the status', async () => {
    // without EncryptionSettings fleetnet has no desired encryption: Unknown, whatever ARM says
    expect(condition(await getCluster('c-wg'), 'EncryptionCompliant')).toMatchObject({ status: 'Unknown', reason: 'Unknown', message: expect.stringContaining('no EncryptionSettings') });
    // encryption desired off
    expect((await client.call('PUT', '/encryptionsettings', { token: api.tokens.admin, body: encryptionBody({ default: { enabled: false } }) })).status).toBe(201);
    expect(condition(await getCluster('c-wg'), 'EncryptionCompliant')).toMatchObject({ status: 'False', reason: 'Drifted' });
    expect(condition(await getCluster('c-cilium'), 'EncryptionCompliant')).toMatchObject({ status: 'True', reason: 'Compliant' });
    expect(condition(await getCluster('c-no-arm'), 'EncryptionCompliant')).toMatchObject({ status: 'Unknown', reason: 'Unknown' });
    const put = await client.call('PUT', '/clusters/c-wg', { token: api.tokens.admin, body: cluster('c-wg', managedClusterId(SUB_A, 'rg1', 'aks-wg'), { env: 'prod' }) });
    expect(put.status).toBe(200);
    expect(put.body.status.inventory.network.advancedNetworking.transitEncryption).toBe('WireGuard');
  });

  it('keeps the last facts of a managed cluster deleted in ARM, marked, and never acts on them', async () => {
    arm.deleteCluster(managedClusterId(SUB_A, 'rg1', 'aks-wg'));
    const result = (await run()).body;
    expect(result.clusters.notFound).toEqual(['c-gone', 'c-wg']);
    const wg = await getCluster('c-wg');
    expect(wg.status.inventory.network.advancedNetworking.transitEncryption).toBe('WireGuard');
    expect(condition(wg, 'ArmResourceFound')).toMatchObject({ status: 'False', reason: 'NotFound' });
    const encryption = (await client.call('GET', '/clusters/c-wg/encryption', { token: api.tokens.reader })).body;
    expect(encryption.actual).toMatchObject({ armResourceFound: false, transitEncryption: 'WireGuard' });
    expect(encryption.compliance.state).toBe('Unknown');
    expect(encryption.compliance.reasons[0]).toContain('404');
  });

  it('drops facts of a resource id the cluster no longer names', async () => {
    await client.call('PUT', '/clusters/c-kubenet', { token: api.tokens.admin, body: cluster('c-kubenet', managedClusterId(SUB_A, 'rg1', 'aks-cilium')) });
    const before = (await client.call('GET', '/clusters/c-kubenet/encryption', { token: api.tokens.reader })).body;
    expect(before.actual).toBeNull(); // facts about the old id are not about this one
    expect(before.compliance.reasons[0]).toContain('has not read');
    await run();
    expect((await getCluster('c-kubenet')).status.inventory.network.networkDataplane).toBe('cilium');
  });

  it('writing statuses does not recompile desired state; a label change still does', async () => {
    const { desiredState } = api.services;
    await desiredState.settled();
    const compileAll = vi.spyOn(desiredState.compiler, 'compileAll');
    try {
      arm.seed({ ...arm.cluster(managedClusterId(SUB_A, 'rg1', 'aks-cilium'))!, eTag: 'moved-on' }); // a fact changes: its status is written
      const updated = (await run()).body.clusters.updated;
      expect(updated).toContain('c-cilium');
      await desiredState.settled();
      expect((await getCluster('c-cilium')).status.inventory.etag).toBe('moved-on');
      expect(compileAll).not.toHaveBeenCalled();
      await client.call('PUT', '/clusters/c-cilium', { token: api.tokens.admin, body: cluster('c-cilium', managedClusterId(SUB_A, 'rg1', 'aks-cilium'), { env: 'moved' }) });
      await desiredState.settled();
      expect(compileAll).toHaveBeenCalled();
    } finally {
      compileAll.mockRestore();
    }
  });

  it('discovers managed clusters no cluster names, when asked to (labels from ARM tags)', async () => {
    const discovering = await startTestApi(
      { FLEETNET_ARM_SUBSCRIPTIONS: SUB_A, FLEETNET_INVENTORY_DISCOVER: 'true' },
      {},
      { arm: { endpoint: arm.endpoint, credential: arm.credential, clientOptions: { tlsOptions: arm.tlsOptions } } },
    );
    try {
      const other = createContractClient(discovering.baseUrl);
      const result = (await other.call('POST', '/inventoryruns', { token: discovering.tokens.admin })).body;
      expect(result.clusters.discovered).toEqual(['aks-cilium', 'aks-kubenet', 'unregistered-1', 'unregistered-2', 'unregistered-3', 'unregistered-4', 'unregistered-5']);
      expect(result.clusters.updated).toEqual(result.clusters.discovered);
      const found = (await other.call('GET', '/clusters/unregistered-3', { token: discovering.tokens.reader })).body;
      // fixture tags {archv2: "", tier: "production"} are valid labels; location1 is the region
      expect(found.metadata.labels).toEqual({ archv2: '', tier: 'production', 'fleetnet.io/discovered': 'arm', 'topology.kubernetes.io/region': 'location1' });
      expect(found.spec).toEqual({ armResourceId: managedClusterId(SUB_A, 'rg3', 'unregistered-3') });
      expect(found.status.inventory.network.networkDataplane).toBe('cilium');
      // a second run registers nothing new
      expect((await other.call('POST', '/inventoryruns', { token: discovering.tokens.admin })).body.clusters.discovered).toEqual([]);
    } finally {
      await discovering.close();
    }
  });
});
