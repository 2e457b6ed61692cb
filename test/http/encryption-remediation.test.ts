/**
 * Guarded encryption remediation over ARM's protocol: the real @azure/arm-containerservice client against
 * test/helpers/fake-arm.ts (AKS example bodies of ../shared/fixtures/arm). The dry run's PUT is byte for byte
 * the one ARM then receives, with If-Match on the eTag; ARM's Azure-AsyncOperation is polled behind our 202 +
 * Operation-Location to Succeeded (facts refreshed, compliance Compliant, a revision says who) and to Failed;
 * a stale eTag (ARM 412) is our 412 with nothing recorded; clusters not opted in, compliant, unsupported,
 * gone in ARM, or a fleet with the switch off are refused with nothing sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { encryptionBody } from '../helpers/fixtures.js';
import { clusterFromFixture, managedClusterId, startFakeArm, type ArmRequest, type FakeArm } from '../helpers/fake-arm.js';

const SUB = '00000000-0000-0000-0000-0000000000aa';
const WG = 'AdvancedNetworkingTransitEncryption.json';
const CILIUM = 'ManagedClustersCreate_NodeAutoProvisioning.json';
const KUBENET = 'ManagedClustersCreate_Update.json';
const OPTED_IN = { enabled: true, allowEnablingAdvancedNetworking: true };

let arm: FakeArm;
let api: TestApi;
let client: ReturnType<typeof createContractClient>;

const armId = (name: string) => managedClusterId(SUB, 'rg1', name);
const armOptions = () => ({ endpoint: arm.endpoint, credential: arm.credential, clientOptions: { tlsOptions: arm.tlsOptions }, pollIntervalMs: 20 });
const clusterBody = (name: string, fixtureName: string, remediation?: object) => ({
  apiVersion: 'fleetnet.io/v1',
  kind: 'Cluster',
  metadata: { name, labels: { env: 'prod' } },
  spec: { armResourceId: armId(fixtureName), ...(remediation ? { encryptionRemediation: remediation } : {}) },
});
const writes = (name: string): ArmRequest[] => arm.requests.filter((r) => r.method !== 'GET' && r.path.toLowerCase().endsWith(`/managedclusters/${name}`));
const remediate = (cluster: string, options: { dryRun?: boolean; body?: object; token?: string } = {}) =>
  client.call('POST', `/clusters/${cluster}/encryption/remediations${options.dryRun ? '?dryRun=true' : ''}`, { token: options.token ?? api.tokens.admin, ...(options.body ? { body: options.body } : {}) });

beforeAll(async () => {
  arm = await startFakeArm({ pollsBeforeDone: 2 });
  arm.seed(
    clusterFromFixture(CILIUM, { subscriptionId: SUB, resourceGroup: 'rg1', name: 'aks-drift' }),
    clusterFromFixture(CILIUM, { subscriptionId: SUB, resourceGroup: 'rg1', name: 'aks-fails' }),
    clusterFromFixture(CILIUM, { subscriptionId: SUB, resourceGroup: 'rg1', name: 'aks-stale' }),
    clusterFromFixture(CILIUM, { subscriptionId: SUB, resourceGroup: 'rg1', name: 'aks-drift-2' }),
    clusterFromFixture(CILIUM, { subscriptionId: SUB, resourceGroup: 'rg1', name: 'aks-no-opt-in' }),
    clusterFromFixture(CILIUM, { subscriptionId: SUB, resourceGroup: 'rg1', name: 'aks-acns-not-allowed' }),
    clusterFromFixture(WG, { subscriptionId: SUB, resourceGroup: 'rg1', name: 'aks-compliant' }),
    clusterFromFixture(KUBENET, { subscriptionId: SUB, resourceGroup: 'rg1', name: 'aks-kubenet' }),
    clusterFromFixture(CILIUM, { subscriptionId: SUB, resourceGroup: 'rg1', name: 'aks-deleted' }),
  );
  api = await startTestApi({ FLEETNET_ENCRYPTION_REMEDIATION: 'enabled', FLEETNET_ARM_SUBSCRIPTIONS: SUB }, {}, { arm: armOptions() });
  client = createContractClient(api.baseUrl);
  const admin = api.tokens.admin;
  expect((await client.call('PUT', '/encryptionsettings', { token: admin, body: encryptionBody({ default: { enabled: true, type: 'wireguard' } }) })).status).toBe(201);
  for (const [name, fixtureName, remediation] of [
    ['c-drift', 'aks-drift', OPTED_IN],
    ['c-fails', 'aks-fails', OPTED_IN],
    ['c-stale', 'aks-stale', OPTED_IN],
    ['c-drift-2', 'aks-drift-2', OPTED_IN],
    ['c-no-opt-in', 'aks-no-opt-in', undefined],
    ['c-acns-not-allowed', 'aks-acns-not-allowed', { enabled: true }],
    ['c-compliant', 'aks-compliant', OPTED_IN],
    ['c-kubenet', 'aks-kubenet', OPTED_IN],
    ['c-deleted', 'aks-deleted', OPTED_IN],
  ] as const) {
    expect((await client.call('PUT', `/clusters/${name}`, { token: admin, body: clusterBody(name, fixtureName, remediation) })).status).toBe(201);
  }
  await client.call('POST', '/inventoryruns', { token: admin });
}, 60_000);
afterAll(async () => {
  await api?.close();
  await arm?.close();
});

/** Polls the operation (as a client would, after Retry-After) until it is no longer Running. */
const pollToEnd = async (location: string): Promise<Record<string, any>> => {
  const path = new URL(location).pathname.replace(/^\/api/, '');
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    const response = await client.call('GET', path, { token: api.tokens.admin });
    expect(response.status).toBe(200);
    if (response.body.status !== 'Running') return response.body;
    expect(response.headers.get('retry-after')).toBe('2');
  }
  throw new Error(`operation ${path} still Running after 20 s`);
};

describe('encryption remediation', () => {
  it('dry run: the exact PUT it would send, its consequences, and nothing sent', async () => {
    const before = arm.requests.length;
    const response = await remediate('c-drift', { dryRun: true });
    expect(response.status).toBe(200);
    const plan = response.body;
    expect(plan.compliance).toEqual({
      state: 'Drifted',
      reasons: [],
      differences: [
        { field: 'networkProfile.advancedNetworking.enabled', desired: true, actual: null },
        { field: 'networkProfile.advancedNetworking.security.transitEncryption.type', desired: 'WireGuard', actual: null },
      ],
    });
    expect(plan.change).toMatchObject({ method: 'PUT', path: armId('aks-drift'), apiVersion: '2026-04-01', ifMatch: arm.cluster(armId('aks-drift'))!.eTag });
    expect(plan.change.body.properties.networkProfile.advancedNetworking).toEqual({ enabled: true, security: { transitEncryption: { type: 'WireGuard' } } });
    expect(plan.change.body.properties.networkProfile.networkDataplane).toBe('cilium'); // the rest as read
    expect(plan.consequences.join(' ')).toMatch(/Advanced Container Networking Services is turned on/);
    expect(plan.consequences.join(' ')).toMatch(/cilium_wg0/);
    expect(arm.requests.slice(before).every((r) => r.method === 'GET')).toBe(true);
    expect(writes('aks-drift')).toHaveLength(0);
  });

  it('applies exactly the dry run: If-Match on the eTag, 202, ARM polled to Succeeded, facts refreshed, a revision says who', async () => {
    const plan = (await remediate('c-drift', { dryRun: true })).body;
    const response = await remediate('c-drift', { body: { armEtag: plan.change.ifMatch } });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ status: 'Running', clusterId: 'c-drift', actor: 'oid:admin-1', arm: { status: 'InProgress' } });
    expect(response.body.arm.asyncOperation).toMatch(/\/operations\//);
    const [sent] = writes('aks-drift');
    expect(sent!.method).toBe('PUT');
    expect(sent!.headers['if-match']).toBe(plan.change.ifMatch);
    expect(sent!.body).toEqual(plan.change.body); // the dry run is the change sent
    expect(sent!.query['api-version']).toBe(plan.change.apiVersion);

    const done = await pollToEnd(response.headers.get('operation-location')!);
    const now = arm.cluster(armId('aks-drift'))!;
    expect(done).toMatchObject({ status: 'Succeeded', arm: { status: 'Succeeded', provisioningState: 'Succeeded', etag: now.eTag } });
    expect(now.eTag).not.toBe(plan.change.ifMatch);
    const encryption = (await client.call('GET', '/clusters/c-drift/encryption', { token: api.tokens.reader })).body;
    expect(encryption.compliance.state).toBe('Compliant');
    expect(encryption.actual).toMatchObject({ transitEncryption: 'WireGuard', advancedNetworkingEnabled: true });
    const history = (await client.call('GET', '/clusters/c-drift/encryption/revisions', { token: api.tokens.reader })).body;
    expect(history.items).toHaveLength(1);
    expect(history.items[0]).toMatchObject({ resourceKind: 'ClusterEncryption', resourceName: 'c-drift', generation: 1, operation: 'remediate', actor: 'oid:admin-1', spec: { operationId: response.body.id, ifMatch: plan.change.ifMatch } });
    // remediating again: nothing to do, nothing sent
    const again = await remediate('c-drift', { dryRun: true });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('NothingToRemediate');
    expect(writes('aks-drift')).toHaveLength(1);
  });

  it("ARM's operation failing is the operation's Failed, with ARM's words", async () => {
    arm.failNextOperation('NetworkProfileUpdateFailed', 'could not reconfigure the nodes');
    const plan = (await remediate('c-fails', { dryRun: true })).body;
    const response = await remediate('c-fails', { body: { armEtag: plan.change.ifMatch } });
    expect(response.status).toBe(202);
    const done = await pollToEnd(response.headers.get('operation-location')!);
    expect(done.status).toBe('Failed');
    expect(done.arm.status).toBe('Failed');
    expect(done.error).toMatchObject({ code: 'ArmOperationFailed', status: 502 });
    expect(done.error.detail).toContain('NetworkProfileUpdateFailed');
    expect((await client.call('GET', '/clusters/c-fails/encryption', { token: api.tokens.reader })).body.compliance.state).toBe('Drifted');
    // the change was sent, so it is in the history (its operation says how it ended)
    expect((await client.call('GET', '/clusters/c-fails/encryption/revisions', { token: api.tokens.reader })).body.items).toHaveLength(1);
  });

  it('a managed cluster changed since the dry run is our 412, with nothing recorded: caught before sending, or by ARM on If-Match', async () => {
    const plan = (await remediate('c-stale', { dryRun: true })).body;
    const changed = arm.cluster(armId('aks-stale'))!;
    arm.seed({ ...changed, eTag: 'changed-by-someone-else' });
    // fleetnet's own fresh read sees the eTag moved: nothing is sent
    const early = await remediate('c-stale', { body: { armEtag: plan.change.ifMatch } });
    expect([early.status, early.body.code]).toEqual([412, 'ArmPreconditionFailed']);
    expect(writes('aks-stale')).toEqual([]);
    // the cluster changes between fleetnet's read and its PUT: ARM's If-Match refuses it
    const fresh = (await remediate('c-stale', { dryRun: true })).body;
    const original = arm.cluster(armId('aks-stale'))!;
    arm.throttle(1, 0, (request) => {
      // never throttles: a hook that changes the cluster in ARM just as fleetnet's PUT arrives
      if (request.method === 'PUT' && request.path.toLowerCase().endsWith('/aks-stale')) arm.seed({ ...original, eTag: 'changed-once-more' });
      return false;
    });
    const late = await remediate('c-stale', { body: { armEtag: fresh.change.ifMatch } });
    expect([late.status, late.body.code]).toEqual([412, 'ArmPreconditionFailed']);
    expect(arm.cluster(armId('aks-stale'))!.eTag).toBe('changed-once-more');
    expect((await client.call('GET', '/clusters/c-stale/encryption/revisions', { token: api.tokens.reader })).body.items).toEqual([]);
  });

  it('apply needs the eTag its dry run showed; a cluster that is not Succeeded, or a fleet without settings, is refused', async () => {
    const missing = await remediate('c-drift-2');
    expect([missing.status, missing.body.code, missing.body.errors?.[0]?.pointer]).toEqual([400, 'ValidationFailed', '/armEtag']);
    const updating = arm.cluster(armId('aks-drift-2'))!;
    arm.seed({ ...updating, properties: { ...updating.properties, provisioningState: 'Updating' } });
    const busy = await remediate('c-drift-2', { dryRun: true });
    expect([busy.status, busy.body.code]).toEqual([409, 'ArmConflict']);
    expect(busy.body.detail).toContain('Updating');
    expect(writes('aks-drift-2')).toEqual([]);
  });

  it('refuses, with nothing sent: not opted in, ACNS not allowed, compliant, unsupported, gone in ARM, unknown cluster, a reader', async () => {
    const refusals: Array<[string, number, string]> = [
      ['c-no-opt-in', 409, 'RemediationNotEnabled'],
      ['c-acns-not-allowed', 409, 'RemediationUnsupported'],
      ['c-compliant', 409, 'NothingToRemediate'],
      ['c-kubenet', 409, 'RemediationUnsupported'],
      ['no-such-cluster', 404, 'NotFound'],
    ];
    arm.deleteCluster(armId('aks-deleted'));
    refusals.push(['c-deleted', 404, 'NotFound']);
    for (const [cluster, status, code] of refusals) {
      const armEtag = arm.cluster(armId(`aks-${cluster.replace(/^c-/, '')}`))?.eTag ?? 'none';
      for (const dryRun of [true, false]) {
        const response = await remediate(cluster, dryRun ? { dryRun } : { body: { armEtag } });
        expect([cluster, dryRun, response.status, response.body.code]).toEqual([cluster, dryRun, status, code]);
      }
    }
    expect((await remediate('c-kubenet', { dryRun: true })).body.detail).toMatch(/networkDataplane is azure/);
    expect((await remediate('c-drift', { token: api.tokens.reader })).status).toBe(403);
    for (const name of ['aks-no-opt-in', 'aks-acns-not-allowed', 'aks-compliant', 'aks-kubenet', 'aks-deleted']) expect(writes(name)).toEqual([]);
    expect((await client.call('GET', '/encryptionremediations/0000-0000', { token: api.tokens.admin })).status).toBe(404);
  });

  it('a fleet whose remediation switch is off, or that has no encryption settings, refuses every cluster', async () => {
    const off = await startTestApi({}, {}, { arm: armOptions() });
    try {
      const other = createContractClient(off.baseUrl);
      await other.call('PUT', '/clusters/c-drift', { token: off.tokens.admin, body: clusterBody('c-drift', 'aks-fails', OPTED_IN) });
      const response = await other.call('POST', '/clusters/c-drift/encryption/remediations?dryRun=true', { token: off.tokens.admin });
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ code: 'RemediationNotEnabled' });
      expect(response.body.detail).toContain('FLEETNET_ENCRYPTION_REMEDIATION');
    } finally {
      await off.close();
    }
    const unset = await startTestApi({ FLEETNET_ENCRYPTION_REMEDIATION: 'enabled' }, {}, { arm: armOptions() });
    try {
      const other = createContractClient(unset.baseUrl);
      await other.call('PUT', '/clusters/c-drift', { token: unset.tokens.admin, body: clusterBody('c-drift', 'aks-no-opt-in', OPTED_IN) });
      const response = await other.call('POST', '/clusters/c-drift/encryption/remediations?dryRun=true', { token: unset.tokens.admin });
      expect([response.status, response.body.code]).toEqual([409, 'RemediationUnsupported']);
      expect(response.body.detail).toContain('No EncryptionSettings');
    } finally {
      await unset.close();
    }
  });
});
