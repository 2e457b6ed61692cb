/**
 * The fleet's encryption compliance report (GET /encryptioncompliance) checked against an independent
 * computation over a generated fleet of ≥ 200 clusters (seeded PRNG; the seed is in the suite's name, and
 * FLEETNET_TEST_SEED replays another). The expectations below are the documented rules written again from
 * the contract comments (core/encryption/encryption-compliance.ts, cluster-encryption-state.ts,
 * compliance-report.ts, effective-encryption.ts) — nothing of core/encryption or functions/src is imported
 * to compute them.
 *
 * The fleet: managed clusters seeded in the fake ARM (clones of a fixture with networkDataplane
 * cilium/azure/absent, ACNS enabled true/false/absent, transit encryption WireGuard/None/absent), clusters
 * without armResourceId, clusters whose managed cluster is deleted before the inventory run (404, never
 * read), clusters registered after the run (not read yet); random env/tier/canary/nodeenc labels; some with
 * a remediation opt-in; one EncryptionSettings with a default and ordered overrides; some clusters with
 * nodes reporting evidence (tunnel, no tunnel, unreadable). One inventory run, then the report; last, a
 * second run after deleting managed clusters already read (404 with their last facts kept).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterFromFixture, managedClusterId, startFakeArm, type FakeArm } from '../helpers/fake-arm.js';
import { encryptionBody, nodeBody } from '../helpers/fixtures.js';
import { createRandom } from '../helpers/flow-fixtures.js';

const SEED = Number(process.env.FLEETNET_TEST_SEED ?? 0x5eed14);
const CLUSTERS = 214; // + 2 fixed corners
const CONCURRENCY = 8;
const SUB_LISTED = '00000000-0000-0000-0000-0000000000e1';
const SUB_UNLISTED = '00000000-0000-0000-0000-0000000000e2';
const BASE_FIXTURE = 'AdvancedNetworkingTransitEncryption.json';
const TRANSIT = 'networkProfile.advancedNetworking.security.transitEncryption.type';
const ACNS = 'networkProfile.advancedNetworking.enabled';

type Kind = 'read' | 'noArm' | 'deleted' | 'late';
type Evidence = 'tunnel' | 'noTunnel' | 'error';
interface Facts {
  networkDataplane?: string;
  advancedNetworkingEnabled?: boolean;
  transitEncryption?: string;
}
interface Config {
  enabled?: boolean;
  type?: 'wireguard' | 'ipsec';
  nodeEncryption?: boolean;
  strictMode?: { egress?: { enabled?: boolean; cidr?: string }; ingress?: { enabled?: boolean } };
}
interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}
interface GeneratedCluster {
  id: string;
  kind: Kind;
  armId?: string;
  /** what ARM holds for it (kind read, deleted, late) */
  facts?: Facts;
  labels: Record<string, string>;
  remediation?: { enabled: boolean; allowEnablingAdvancedNetworking: boolean };
  nodes: Array<{ name: string; evidence: Evidence }>;
}
interface Difference {
  field: string;
  desired: string | boolean;
  actual: string | boolean | null;
}
interface Expected {
  state: 'Compliant' | 'Drifted' | 'Unsupported' | 'Unknown';
  differences: Difference[];
  reasons: number;
  remediationEnabled: boolean;
  hasObservedAt: boolean;
  nodeEvidence: { nodesReporting: number; nodesWithTunnel: number; nodesWithoutTunnel: number; nodesUnreadable: number; mismatch: string; nodesDisagreeing?: string[] };
}

const SETTINGS = {
  default: { enabled: true, type: 'wireguard' },
  overrides: [
    { name: 'dev-off', clusterSelector: { matchLabels: { env: 'dev' } }, settings: { enabled: false } },
    { name: 'pci-ipsec', clusterSelector: { matchLabels: { tier: 'pci' } }, settings: { type: 'ipsec' } },
    { name: 'edge-strict', clusterSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge', 'pci'] }] }, settings: { strictMode: { ingress: { enabled: true } } } },
    { name: 'node-encryption', clusterSelector: { matchExpressions: [{ key: 'nodeenc', operator: 'Exists' }] }, settings: { nodeEncryption: true } },
    // re-enables what dev-off turned off: order matters
    { name: 'canary-on', clusterSelector: { matchExpressions: [{ key: 'canary', operator: 'Exists' }, { key: 'env', operator: 'NotIn', values: ['prod'] }] }, settings: { enabled: true } },
  ] as Array<{ name: string; clusterSelector: Selector; settings: Config }>,
};

// ---- the rules, written again from the contract comments ----

function selects(selector: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
    if (e.operator === 'In' && !(has && e.values!.includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && e.values!.includes(labels[e.key]!)) return false;
  }
  return true;
}

/** default, then each matching override in order (objects merge key by key); strictMode only with wireguard. */
function effectiveOf(labels: Record<string, string>): Config {
  let enabled = SETTINGS.default.enabled;
  let type = SETTINGS.default.type as Config['type'];
  let nodeEncryption: boolean | undefined;
  let strictIngress: boolean | undefined;
  let strictEgress: boolean | undefined;
  for (const o of SETTINGS.overrides) {
    if (!selects(o.clusterSelector, labels)) continue;
    if (o.settings.enabled !== undefined) enabled = o.settings.enabled;
    if (o.settings.type !== undefined) type = o.settings.type;
    if (o.settings.nodeEncryption !== undefined) nodeEncryption = o.settings.nodeEncryption;
    if (o.settings.strictMode?.ingress?.enabled !== undefined) strictIngress = o.settings.strictMode.ingress.enabled;
    if (o.settings.strictMode?.egress?.enabled !== undefined) strictEgress = o.settings.strictMode.egress.enabled;
  }
  const config: Config = { enabled, ...(type ? { type } : {}), ...(nodeEncryption !== undefined ? { nodeEncryption } : {}) };
  if (type === 'wireguard' && (strictIngress !== undefined || strictEgress !== undefined)) {
    config.strictMode = { ...(strictIngress !== undefined ? { ingress: { enabled: strictIngress } } : {}), ...(strictEgress !== undefined ? { egress: { enabled: strictEgress } } : {}) };
  }
  return config;
}

const isWireGuard = (f: Facts) => (f.transitEncryption ?? 'None').toLowerCase() === 'wireguard';

/** `gone`: ARM answered 404 at the last read, after an earlier read found it (its facts are kept, not evidence). */
function expectedOf(c: GeneratedCluster, gone = false): Expected {
  // facts exist only for a managed cluster inventory read (and found)
  const facts = c.kind === 'read' && !gone ? c.facts! : undefined;
  const tunnel = c.nodes.filter((n) => n.evidence === 'tunnel').map((n) => n.name);
  const noTunnel = c.nodes.filter((n) => n.evidence === 'noTunnel').map((n) => n.name);
  const unreadable = c.nodes.filter((n) => n.evidence === 'error').length;
  let mismatch = 'None';
  let disagreeing: string[] = [];
  if (tunnel.length + noTunnel.length === 0) mismatch = 'NoEvidence';
  else if (facts && isWireGuard(facts) && noTunnel.length > 0) [mismatch, disagreeing] = ['ArmWireGuardNodesWithoutTunnel', noTunnel];
  else if (facts && !isWireGuard(facts) && tunnel.length > 0) [mismatch, disagreeing] = ['NodesTunnelArmWithoutWireGuard', tunnel];
  const nodeEvidence: Expected['nodeEvidence'] = { nodesReporting: c.nodes.length, nodesWithTunnel: tunnel.length, nodesWithoutTunnel: noTunnel.length, nodesUnreadable: unreadable, mismatch };
  if (disagreeing.length > 0) nodeEvidence.nodesDisagreeing = [...disagreeing].sort().slice(0, 20);
  const base = { remediationEnabled: c.remediation?.enabled === true, hasObservedAt: c.kind === 'read', nodeEvidence };
  if (!facts) return { ...base, state: 'Unknown', differences: [], reasons: 1 };

  const desired = effectiveOf(c.labels);
  if (desired.enabled !== true) {
    if (!isWireGuard(facts)) return { ...base, state: 'Compliant', differences: [], reasons: 0 };
    return { ...base, state: 'Drifted', differences: [{ field: TRANSIT, desired: 'None', actual: facts.transitEncryption ?? null }], reasons: 0 };
  }
  let reasons = 0;
  if ((desired.type ?? 'wireguard') === 'ipsec') reasons++;
  if (desired.nodeEncryption === true) reasons++;
  if (desired.strictMode?.ingress?.enabled === true || desired.strictMode?.egress?.enabled === true) reasons++;
  if ((facts.networkDataplane ?? 'azure').toLowerCase() !== 'cilium') reasons++;
  const acnsOn = facts.advancedNetworkingEnabled === true;
  if (!acnsOn && c.remediation?.allowEnablingAdvancedNetworking !== true) reasons++;
  if (reasons > 0) return { ...base, state: 'Unsupported', differences: [], reasons };
  const differences: Difference[] = [];
  if (!acnsOn) differences.push({ field: ACNS, desired: true, actual: facts.advancedNetworkingEnabled ?? null });
  if (!isWireGuard(facts)) differences.push({ field: TRANSIT, desired: 'WireGuard', actual: facts.transitEncryption ?? null });
  return { ...base, state: differences.length === 0 ? 'Compliant' : 'Drifted', differences, reasons: 0 };
}

// ---- the generated fleet ----

function generateFleet(seed: number): GeneratedCluster[] {
  const random = createRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const fleet: GeneratedCluster[] = [];
  for (let i = 0; i < CLUSTERS; i++) {
    const id = `gen-${String(i).padStart(3, '0')}`;
    const r = random();
    const kind: Kind = r < 0.08 ? 'noArm' : r < 0.15 ? 'deleted' : r < 0.22 ? 'late' : 'read';
    const labels: Record<string, string> = {};
    const env = pick(['prod', 'prod', 'dev', 'staging', undefined]);
    if (env) labels.env = env;
    const tier = pick(['web', 'web', 'pci', 'edge', undefined]);
    if (tier) labels.tier = tier;
    if (random() < 0.12) labels.canary = 'true';
    if (random() < 0.1) labels.nodeenc = '';
    const c: GeneratedCluster = { id, kind, labels, nodes: [] };
    if (kind !== 'noArm') {
      c.armId = managedClusterId(random() < 0.85 ? SUB_LISTED : SUB_UNLISTED, pick(['rg-a', 'rg-b']), `aks-${id}`);
      const facts: Facts = {};
      const dataplane = pick(['cilium', 'cilium', 'cilium', 'azure', undefined]);
      if (dataplane) facts.networkDataplane = dataplane;
      const acns = pick([true, true, false, undefined]);
      if (acns !== undefined) facts.advancedNetworkingEnabled = acns;
      const transit = pick(['WireGuard', 'WireGuard', 'None', undefined]);
      if (transit) facts.transitEncryption = transit;
      c.facts = facts;
    }
    const rem = random();
    if (rem < 0.12) c.remediation = { enabled: true, allowEnablingAdvancedNetworking: true };
    else if (rem < 0.17) c.remediation = { enabled: true, allowEnablingAdvancedNetworking: false };
    if (random() < 0.3) {
      const count = 1 + Math.floor(random() * 4);
      for (let n = 0; n < count; n++) c.nodes.push({ name: `node-${n}`, evidence: pick(['tunnel', 'tunnel', 'noTunnel', 'error'] as const) });
    }
    fleet.push(c);
  }
  // corners a seed may miss: both differences of a drift (ACNS false or absent, opted in), with nodes
  const optedIn = { enabled: true, allowEnablingAdvancedNetworking: true };
  fleet.push(
    { id: 'corner-acns-off', kind: 'read', armId: managedClusterId(SUB_LISTED, 'rg-a', 'aks-corner-acns-off'), facts: { networkDataplane: 'cilium', advancedNetworkingEnabled: false, transitEncryption: 'None' }, labels: { env: 'prod' }, remediation: optedIn, nodes: [{ name: 'node-0', evidence: 'tunnel' }] },
    { id: 'corner-acns-absent', kind: 'read', armId: managedClusterId(SUB_UNLISTED, 'rg-a', 'aks-corner-acns-absent'), facts: { networkDataplane: 'Cilium' }, labels: {}, remediation: optedIn, nodes: [] },
  );
  return fleet;
}

/** ARM's body for the generated facts: a clone of the fixture with the three fields set or removed. */
function armBody(c: GeneratedCluster) {
  const [, sub, , rg, , , , name] = c.armId!.split('/').filter(Boolean);
  const body = clusterFromFixture(BASE_FIXTURE, { subscriptionId: sub!, resourceGroup: rg!, name: name! });
  const network = (body.properties as { networkProfile: Record<string, unknown> }).networkProfile;
  const f = c.facts!;
  if (f.networkDataplane === undefined) delete network.networkDataplane;
  else network.networkDataplane = f.networkDataplane;
  if (f.advancedNetworkingEnabled === undefined && f.transitEncryption === undefined) delete network.advancedNetworking;
  else {
    network.advancedNetworking = {
      ...(f.advancedNetworkingEnabled !== undefined ? { enabled: f.advancedNetworkingEnabled } : {}),
      observability: { enabled: false },
      security: { enabled: f.advancedNetworkingEnabled === true, ...(f.transitEncryption !== undefined ? { transitEncryption: { type: f.transitEncryption } } : {}) },
    };
  }
  return body;
}

async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

const fleet = generateFleet(SEED);
const expected = new Map(fleet.map((c) => [c.id, expectedOf(c)]));
const countOf = (state: Expected['state']) => [...expected.values()].filter((e) => e.state === state).length;

let arm: FakeArm;
let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let run: { startedAt: string; finishedAt: string; clusters: { notFound: string[]; withoutArmId: string[]; updated: string[] } };

async function register(c: GeneratedCluster): Promise<void> {
  const spec = {
    ...(c.armId ? { armResourceId: c.armId } : {}),
    ...(c.nodes.length > 0 ? { agentIdentities: [`agent-${c.id}`] } : {}),
    ...(c.remediation ? { encryptionRemediation: c.remediation } : {}),
  };
  const put = await client.call('PUT', `/clusters/${c.id}`, { token: api.tokens.admin, body: { apiVersion: 'fleetnet.io/v1', kind: 'Cluster', metadata: { name: c.id, labels: c.labels }, spec } });
  if (put.status !== 201) throw new Error(`PUT /clusters/${c.id}: ${put.status} ${put.text}`);
  if (c.nodes.length === 0) return;
  const agent = await api.agentToken(`agent-${c.id}`);
  for (const n of c.nodes) {
    const node = await client.call('PUT', `/clusters/${c.id}/nodes/${n.name}`, { token: agent, body: nodeBody(n.name) });
    if (node.status !== 201) throw new Error(`PUT node ${c.id}/${n.name}: ${node.status} ${node.text}`);
    const encryption = {
      observedAt: new Date().toISOString(),
      source: 'ip -j -d link show type wireguard',
      wireguardInterfaces: n.evidence === 'tunnel' ? [{ name: 'cilium_wg0', up: true, listenPort: 51871, peers: 2, peersWithHandshake: 2 }] : [],
      ...(n.evidence === 'error' ? { error: 'ip: exit status 1' } : {}),
    };
    const status = await client.call('PUT', `/clusters/${c.id}/nodes/${n.name}/status`, { token: agent, body: { observedRevision: 0, encryption } });
    if (status.status !== 200) throw new Error(`PUT node status ${c.id}/${n.name}: ${status.status} ${status.text}`);
  }
}

beforeAll(async () => {
  arm = await startFakeArm();
  arm.seed(...fleet.filter((c) => c.facts).map(armBody));
  api = await startTestApi({ FLEETNET_ARM_SUBSCRIPTIONS: SUB_LISTED }, {}, { arm: { endpoint: arm.endpoint, credential: arm.credential, clientOptions: { tlsOptions: arm.tlsOptions } } });
  client = createContractClient(api.baseUrl);
  const settings = await client.call('PUT', '/encryptionsettings', { token: api.tokens.admin, body: encryptionBody(SETTINGS) });
  if (settings.status !== 201) throw new Error(`PUT /encryptionsettings: ${settings.status} ${settings.text}`);
  await inBatches(fleet.filter((c) => c.kind !== 'late'), register);
  for (const c of fleet.filter((c) => c.kind === 'deleted')) arm.deleteCluster(c.armId!);
  const result = await client.call('POST', '/inventoryruns', { token: api.tokens.admin });
  if (result.status !== 200) throw new Error(`POST /inventoryruns: ${result.status} ${result.text}`);
  run = result.body;
  await inBatches(fleet.filter((c) => c.kind === 'late'), register);
}, 120_000);
afterAll(async () => {
  await api?.close();
  await arm?.close();
});

/** `token` null: no Authorization header. */
const report = async (query = '', token: string | null = api.tokens.reader) => client.call('GET', `/encryptioncompliance${query}`, token ? { token } : {});
type Report = { counts: Record<string, number>; nodeEvidenceMismatches: number; clusters: Entry[]; settingsGeneration: number | null; completeness: { clustersRegistered: number; clustersWithInventory: number; oldestObservation: string | null } };
type Entry = { clusterId: string; state: string; differences: Difference[]; reasons: string[]; observedAt?: string; remediationEnabled?: boolean; nodeEvidence: Expected['nodeEvidence'] };
const ids = (kind: Kind) => fleet.filter((c) => c.kind === kind).map((c) => c.id).sort();
const describeCluster = (c: GeneratedCluster) => JSON.stringify({ id: c.id, kind: c.kind, facts: c.facts, labels: c.labels, remediation: c.remediation, nodes: c.nodes.map((n) => n.evidence) });

/** Each cluster's entry against its expectation: the clusters that disagree, in words (inputs, want, got). */
function disagreementsWith(body: Report, want: Map<string, Expected>): string[] {
  const disagreements: string[] = [];
  for (const c of fleet) {
    const expectation = want.get(c.id)!;
    const got = body.clusters.find((e) => e.clusterId === c.id)!;
    const gotView = { state: got.state, differences: got.differences, reasons: got.reasons.length, remediationEnabled: got.remediationEnabled === true, hasObservedAt: got.observedAt !== undefined, nodeEvidence: got.nodeEvidence };
    if (JSON.stringify(sortKeys(gotView)) !== JSON.stringify(sortKeys(expectation))) {
      disagreements.push(`seed ${SEED}: ${describeCluster(c)}\n  want ${JSON.stringify(expectation)}\n  got  ${JSON.stringify({ ...gotView, reasons: got.reasons })}`);
    }
  }
  return disagreements;
}
const sortKeys = (value: unknown): unknown =>
  Array.isArray(value) ? value.map(sortKeys) : value !== null && typeof value === 'object' ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sortKeys(v)])) : value;

describe(`encryption compliance report over ${fleet.length} generated clusters (seed ${SEED}; FLEETNET_TEST_SEED to replay)`, () => {
  it('the generated fleet covers every state, mismatch and kind of cluster', () => {
    for (const state of ['Compliant', 'Drifted', 'Unsupported', 'Unknown'] as const) expect(countOf(state), state).toBeGreaterThan(0);
    for (const kind of ['read', 'noArm', 'deleted', 'late'] as const) expect(ids(kind).length, kind).toBeGreaterThan(0);
    const mismatches = new Set([...expected.values()].map((e) => e.nodeEvidence.mismatch));
    expect([...mismatches].sort()).toEqual(['ArmWireGuardNodesWithoutTunnel', 'NoEvidence', 'None', 'NodesTunnelArmWithoutWireGuard'].sort());
    expect([...expected.values()].some((e) => e.differences.length === 2)).toBe(true);
    expect(fleet.some((c) => c.kind === 'read' && c.remediation?.allowEnablingAdvancedNetworking && c.facts?.advancedNetworkingEnabled !== true && expected.get(c.id)!.state === 'Drifted')).toBe(true);
  });

  it('the inventory run read, missed and skipped the clusters it should have', () => {
    expect([...run.clusters.notFound].sort()).toEqual(ids('deleted'));
    expect([...run.clusters.withoutArmId].sort()).toEqual(ids('noArm'));
    expect([...run.clusters.updated].sort()).toEqual(ids('read'));
  });

  it('counts, each cluster and completeness match the independent computation', async () => {
    const r = await report();
    expect(r.status).toBe(200);
    const body = r.body as Report;
    expect(body.settingsGeneration).toBe(1);
    expect(body.counts).toEqual({ Compliant: countOf('Compliant'), Drifted: countOf('Drifted'), Unsupported: countOf('Unsupported'), Unknown: countOf('Unknown'), total: fleet.length });
    const mismatching = [...expected.values()].filter((e) => e.nodeEvidence.mismatch === 'ArmWireGuardNodesWithoutTunnel' || e.nodeEvidence.mismatch === 'NodesTunnelArmWithoutWireGuard').length;
    expect(body.nodeEvidenceMismatches).toBe(mismatching);
    expect(body.clusters.map((e) => e.clusterId)).toEqual(fleet.map((c) => c.id).sort());

    expect(disagreementsWith(body, expected)).toEqual([]);

    const observed = body.clusters.flatMap((e) => (e.observedAt ? [e.observedAt] : []));
    expect(body.completeness.clustersRegistered).toBe(fleet.length);
    expect(body.completeness.clustersWithInventory).toBe(ids('read').length);
    const oldest = observed.reduce((a, b) => (Date.parse(b) < Date.parse(a) ? b : a));
    expect(body.completeness.oldestObservation).toBe(oldest);
    expect(Date.parse(oldest)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
    expect(Date.parse(oldest)).toBeLessThanOrEqual(Date.parse(run.finishedAt));
  });

  it('?state=Drifted lists exactly the Drifted clusters; the counts still cover the fleet', async () => {
    const [all, drifted] = await Promise.all([report(), report('?state=Drifted')]);
    expect(drifted.status).toBe(200);
    expect(drifted.body.clusters.map((e: Entry) => e.clusterId)).toEqual(fleet.filter((c) => expected.get(c.id)!.state === 'Drifted').map((c) => c.id).sort());
    expect(drifted.body.counts).toEqual(all.body.counts);
    expect(drifted.body.nodeEvidenceMismatches).toBe(all.body.nodeEvidenceMismatches);
    expect(drifted.body.completeness).toEqual(all.body.completeness);
    const unknown = await report('?state=Unknown');
    expect(unknown.body.clusters.map((e: Entry) => e.clusterId)).toEqual([...ids('noArm'), ...ids('deleted'), ...ids('late')].sort());
  });

  it('nodes silent longer than silentAfterSeconds are not evidence', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const r = await report('?silentAfterSeconds=1');
    expect(r.status).toBe(200);
    expect(r.body.nodeEvidenceMismatches).toBe(0);
    expect(r.body.clusters.every((e: Entry) => e.nodeEvidence.mismatch === 'NoEvidence' && e.nodeEvidence.nodesReporting === 0)).toBe(true);
    expect(r.body.counts).toEqual((await report()).body.counts);
  });

  it('GET /clusters/{id}/encryption agrees with the report for a sample of clusters', async () => {
    const sample = fleet.filter((_, i) => i % 17 === 0);
    for (const c of sample) {
      const e = await client.call('GET', `/clusters/${c.id}/encryption`, { token: api.tokens.reader });
      expect(e.status).toBe(200);
      const want = expected.get(c.id)!;
      expect({ state: e.body.compliance.state, differences: e.body.compliance.differences, nodeEvidence: e.body.nodeEvidence }, describeCluster(c)).toEqual({ state: want.state, differences: want.differences, nodeEvidence: want.nodeEvidence });
      if (c.kind === 'read') expect(e.body.actual).toEqual({ observedAt: expect.any(String), armResourceFound: true, ...c.facts });
      else expect(e.body.actual).toBeNull();
    }
  });

  // last: it changes the fleet
  it('a managed cluster deleted after it was read: Unknown, its last facts kept (completeness) but no evidence for nodes', async () => {
    const gone = fleet.filter((c) => c.kind === 'read' && (expected.get(c.id)!.nodeEvidence.mismatch !== 'NoEvidence' || c.id.endsWith('0')));
    expect(gone.some((c) => ['ArmWireGuardNodesWithoutTunnel', 'NodesTunnelArmWithoutWireGuard'].includes(expected.get(c.id)!.nodeEvidence.mismatch))).toBe(true);
    for (const c of gone) arm.deleteCluster(c.armId!);
    const second = await client.call('POST', '/inventoryruns', { token: api.tokens.admin });
    expect([...second.body.clusters.notFound].sort()).toEqual([...ids('deleted'), ...gone.map((c) => c.id)].sort());
    // the second run also reads the clusters registered after the first
    const now = new Map(fleet.map((c) => [c.id, expectedOf(c.kind === 'late' ? { ...c, kind: 'read' } : c, gone.includes(c))]));
    const body = (await report()).body as Report;
    expect(disagreementsWith(body, now)).toEqual([]);
    const count = (state: Expected['state']) => [...now.values()].filter((e) => e.state === state).length;
    expect(body.counts).toEqual({ Compliant: count('Compliant'), Drifted: count('Drifted'), Unsupported: count('Unsupported'), Unknown: count('Unknown'), total: fleet.length });
    expect(body.nodeEvidenceMismatches).toBe([...now.values()].filter((e) => e.nodeEvidence.mismatch.startsWith('Arm') || e.nodeEvidence.mismatch.startsWith('Nodes')).length);
    // the kept facts still count as inventory, and are the oldest observation (from the first run)
    expect(body.completeness.clustersWithInventory).toBe(ids('read').length + ids('late').length);
    expect(Date.parse(body.completeness.oldestObservation!)).toBeLessThanOrEqual(Date.parse(run.finishedAt));
    const one = (await client.call('GET', `/clusters/${gone[0]!.id}/encryption`, { token: api.tokens.reader })).body;
    expect(one.actual).toEqual({ observedAt: expect.any(String), armResourceFound: false, ...gone[0]!.facts });
    expect(one.compliance.reasons[0]).toContain('404');
  });

  it('rejects an invalid state (400, /query/state); a reader may read it, nobody without a token', async () => {
    const bad = await report('?state=Broken');
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/query/state');
    expect((await report('', api.tokens.admin)).status).toBe(200);
    expect((await report('', null)).status).toBe(401);
  });
});
