/**
 * Node.status.encryption end to end (no root): an AgentRuntime against the REAL local API reads this
 * machine's encryption evidence with the real reader (`ip -j -d link show type wireguard`, read-only)
 * and the API stores it on the node: no tunnel here (this kernel has no WireGuard). Then the evidence
 * changes — the parse of output captured from real hosts (agent/testdata/encryption-evidence/) stands in
 * for a tunnel this machine cannot have — and the change reaches the API without waiting for a poll.
 * The cluster's managed cluster (a local ARM, test/helpers/fake-arm.ts, loaded with AKS's transit-encryption
 * example) says WireGuard: the fleet report flags the node without a tunnel — still with the captured
 * host's `wg0` (a VPN is not Cilium's tunnel) —, then nothing once the node shows `cilium_wg0` (the same
 * captured link under Cilium's name), then the reverse once ARM says None.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeEncryptionEvidence } from '../../openapi/types.js';
import { AgentRuntime } from '../../agent/src/agent-runtime.js';
import { compileBundle } from '../../agent/src/compile/index.js';
import { combineEncryptionEvidence, readEncryptionEvidence } from '../../agent/src/encryption-evidence/read-encryption-evidence.js';
import { StaticEndpointSource } from '../../agent/src/identity/static-source.js';
import { createApiClient } from '../../agent/src/sync/api-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { createContractClient } from '../helpers/contract-client.js';
import { clusterBody, policyBody } from '../helpers/fixtures.js';
import { clusterFromFixture, managedClusterId, startFakeArm, type FakeArm } from '../helpers/fake-arm.js';

const CLUSTER = 'encev-east';
const NODE = 'encev-node';
const SUB = '00000000-0000-0000-0000-0000000000ee';
const ARM_ID = managedClusterId(SUB, 'rg-encev', 'aks-encev');
let arm: FakeArm;
let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let dir: string;
let runtime: AgentRuntime<typeof datapath>;
let read: () => Promise<NodeEncryptionEvidence> = () => readEncryptionEvidence();
const datapath = {
  readAndResetFlowRecords: () => [],
  readCounters: () => ({ lostPackets: 0, lostBytes: 0, lostFlows: 0 }),
  close: () => undefined,
};

beforeAll(async () => {
  arm = await startFakeArm();
  arm.seed(clusterFromFixture('AdvancedNetworkingTransitEncryption.json', { subscriptionId: SUB, resourceGroup: 'rg-encev', name: 'aks-encev' }));
  api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' }, {}, { arm: { endpoint: arm.endpoint, credential: arm.credential, clientOptions: { tlsOptions: arm.tlsOptions } } });
  client = createContractClient(api.baseUrl);
  const cluster = clusterBody(CLUSTER, { env: 'encev' }, ['agent-encev']);
  await client.call('PUT', `/clusters/${CLUSTER}`, { token: api.tokens.admin, body: { ...cluster, spec: { ...cluster.spec, armResourceId: ARM_ID } } });
  expect((await client.call('POST', '/inventoryruns', { token: api.tokens.admin })).body.clusters.updated).toEqual([CLUSTER]);
  await client.call('PUT', '/networkpolicies/encev-web', { token: api.tokens.admin, body: policyBody('encev-web', { targets: { clusterIds: [CLUSTER] } }) });
  dir = await mkdtemp(join(tmpdir(), 'fleetnet-encev-'));
  await writeFile(join(dir, 'endpoints.yaml'), 'endpoints:\n  - {podName: web-1, namespace: shop, ip: 10.211.1.2, labels: {app: web}, ifindex: 101}\n');
  const token = await api.agentToken('agent-encev');
  runtime = new AgentRuntime({
    client: createApiClient({ baseUrl: api.baseUrl, clusterId: CLUSTER, nodeName: NODE, token: async () => token }),
    datapath,
    source: new StaticEndpointSource({ path: join(dir, 'endpoints.yaml'), pollMs: 1000, onChange: () => runtime.endpointsChanged() }),
    compile: compileBundle,
    apply: () => undefined,
    clusterId: CLUSTER,
    nodeSpec: { agentVersion: 'test' },
    stateDir: join(dir, 'state'),
    pollIntervalMs: 60_000,
    flowIntervalMs: 60_000,
    encryptionEvidence: { read: () => read(), intervalMs: 60_000 },
  });
  await runtime.start();
});
afterAll(async () => {
  await runtime?.stop();
  await api?.close();
  await arm?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const evidenceInReport = async () => {
  const report = (await client.call('GET', '/encryptioncompliance', { token: api.tokens.reader })).body;
  return { mismatches: report.nodeEvidenceMismatches, ...report.clusters.find((c: { clusterId: string }) => c.clusterId === CLUSTER).nodeEvidence };
};
const nodeOf = async () => (await client.call('GET', `/clusters/${CLUSTER}/nodes/${NODE}`, { token: api.tokens.reader })).body;

async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what} did not reach the API in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Node.status.encryption through the API', () => {
  it('stores what the agent read on this machine: no WireGuard interface, no error, an observedAt', async () => {
    const node = await until(nodeOf, (n) => n?.status?.encryption !== undefined, 'the encryption evidence');
    expect(node.status.encryption).toEqual({ observedAt: expect.any(String), source: 'ip -j -d link show type wireguard', wireguardInterfaces: [] });
    expect(Number.isNaN(Date.parse(node.status.encryption.observedAt))).toBe(false);
    expect(node.status.encryption).toEqual(runtime.evidence!.latest());
    // ARM says WireGuard; this node shows no tunnel: the fleet report says so, naming it
    expect(await evidenceInReport()).toEqual({
      mismatches: 1,
      nodesReporting: 1,
      nodesWithTunnel: 0,
      nodesWithoutTunnel: 1,
      nodesUnreadable: 0,
      mismatch: 'ArmWireGuardNodesWithoutTunnel',
      nodesDisagreeing: [NODE],
    });
  });

  it('a change of evidence is reported at once (captured output standing in for a tunnel)', async () => {
    const testdata = new URL('../../agent/testdata/encryption-evidence/', import.meta.url);
    const ip = await readFile(new URL('netplan-ip-d-j-addr.json', testdata), 'utf8');
    const dump = await readFile(new URL('prometheus-wireguard-exporter-wg-show-all-dump.txt', testdata), 'utf8');
    read = async () => combineEncryptionEvidence({ ok: true, stdout: ip }, { ok: true, stdout: dump }, new Date((1555771458 + 60) * 1000)).evidence;
    await runtime.evidence!.readOnce(); // the interval is a minute and so is the poll: only the change reports
    const node = await until(nodeOf, (n) => n?.status?.encryption?.wireguardInterfaces?.length === 1, 'the changed evidence');
    expect(node.status.encryption).toEqual({
      observedAt: new Date((1555771458 + 60) * 1000).toISOString(),
      source: 'ip -j -d link show type wireguard; wg show all dump',
      wireguardInterfaces: [{ name: 'wg0', up: true, listenPort: 51820, peers: 5, peersWithHandshake: 1 }],
    });
    // that host's wg0 is not Cilium's interface: it says nothing about transit encryption
    expect(await evidenceInReport()).toMatchObject({ mismatches: 1, nodesWithTunnel: 0, mismatch: 'ArmWireGuardNodesWithoutTunnel' });
    // the same captured link under the name Cilium (and so AKS) gives it: a tunnel, ARM and node agree
    const asCilium = ip.replaceAll('"wg0"', '"cilium_wg0"');
    read = async () => combineEncryptionEvidence({ ok: true, stdout: asCilium }, { ok: true, stdout: dump.replaceAll('wg0\t', 'cilium_wg0\t') }, new Date((1555771458 + 60) * 1000)).evidence;
    await runtime.evidence!.readOnce();
    await until(nodeOf, (n) => n?.status?.encryption?.wireguardInterfaces?.[0]?.name === 'cilium_wg0', 'the renamed evidence');
    expect(await evidenceInReport()).toMatchObject({ mismatches: 0, nodesWithTunnel: 1, nodesWithoutTunnel: 0, mismatch: 'None' });
    // the reverse: ARM now says no transit encryption while the node shows a tunnel
    const managed = arm.cluster(ARM_ID)!;
    const properties = managed.properties as { networkProfile: { advancedNetworking: { security: { transitEncryption: { type: string } } } } };
    properties.networkProfile.advancedNetworking.security.transitEncryption.type = 'None';
    arm.seed({ ...managed, eTag: 'after-disable' });
    await client.call('POST', '/inventoryruns', { token: api.tokens.admin });
    expect(await evidenceInReport()).toEqual({
      mismatches: 1,
      nodesReporting: 1,
      nodesWithTunnel: 1,
      nodesWithoutTunnel: 0,
      nodesUnreadable: 0,
      mismatch: 'NodesTunnelArmWithoutWireGuard',
      nodesDisagreeing: [NODE],
    });
  });
});
