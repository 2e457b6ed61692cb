/**
 * One cluster's encryption, desired against actual (pure): its effective EncryptionConfig, the ARM facts
 * inventory stored in `Cluster.status`, and what its nodes report (`Node.status.encryption`).
 *
 * Contract of clusterEncryptionState():
 * - `actual` is the inventory's facts only when they are about the cluster's current `spec.armResourceId`
 *   (facts of an id since changed are ignored); null otherwise.
 * - compliance: `Unknown` with the reason when no EncryptionSettings exist (fleetnet has no desired
 *   encryption: it neither approves nor disowns what AKS does), there is no `armResourceId`, no facts yet
 *   (never read, never found), the last read found the managed cluster gone (ARM 404 — the last facts are
 *   not evidence of anything now), or reads are failing (ArmResourceFound Unknown: the facts kept may be
 *   stale); else encryptionCompliance(), with `acnsMayBeEnabled` from `allowEnablingAdvancedNetworking`.
 * - nodeEvidence counts nodes heard within `silentAfterSeconds` that sent evidence: with a WireGuard
 *   interface, without, or unreadable (evidence with `error`). `mismatch`: `NoEvidence` when no such node
 *   has readable evidence; `ArmWireGuardNodesWithoutTunnel` when ARM reports WireGuard and a reporting node
 *   shows no tunnel; `NodesTunnelArmWithoutWireGuard` when ARM's facts say no transit encryption and a
 *   node shows one; else `None` (also when there are no ARM facts to contradict). A tunnel is Cilium's
 *   interface `cilium_wg0` (what AKS's WireGuard creates) not reported down; other WireGuard interfaces
 *   (a node VPN's `wg0`) say nothing about transit encryption.
 *   `nodesDisagreeing` names up to 20 of the contradicting nodes, sorted.
 */
import type { Cluster, ClusterNodeEvidence, EncryptionActual, EncryptionConfig, Node } from '../../openapi/types.js';
import { encryptionCompliance, encryptionFactsOf, type EncryptionCompliance } from './encryption-compliance.js';

export const ARM_FOUND_CONDITION = 'ArmResourceFound';
/** The WireGuard interface Cilium (and so AKS's transit encryption) creates on every node. */
export const CILIUM_WIREGUARD_INTERFACE = 'cilium_wg0';
const MAX_DISAGREEING = 20;

export interface ClusterEncryptionInput {
  cluster: Cluster;
  effective: EncryptionConfig;
  /** generation of the EncryptionSettings behind `effective`; null when none exist */
  settingsGeneration: number | null;
  nodes: readonly Node[];
  now: Date;
  silentAfterSeconds: number;
}

export interface ClusterEncryptionState {
  actual: EncryptionActual | null;
  compliance: EncryptionCompliance;
  nodeEvidence: ClusterNodeEvidence;
}

export function clusterEncryptionState(input: ClusterEncryptionInput): ClusterEncryptionState {
  const { cluster, effective } = input;
  const armId = cluster.spec.armResourceId;
  const inventory = cluster.status?.inventory;
  const current = armId !== undefined && inventory !== undefined && inventory.armResourceId.toLowerCase() === armId.toLowerCase() ? inventory : undefined;
  const found = cluster.status?.conditions?.find((c) => c.type === ARM_FOUND_CONDITION);
  const gone = current !== undefined && found?.status === 'False';
  const facts = current ? encryptionFactsOf(current) : undefined;
  const actual: EncryptionActual | null = current ? { observedAt: current.observedAt, armResourceFound: !gone, ...facts } : null;
  let compliance: EncryptionCompliance;
  if (input.settingsGeneration === null) compliance = unknown('no EncryptionSettings exist: fleetnet has no desired encryption to compare with');
  else if (armId === undefined) compliance = unknown('the cluster has no spec.armResourceId: fleetnet cannot read its managed cluster');
  else if (!current && found?.status === 'False') compliance = unknown(`ARM answered 404 for ${armId} (${found.message ?? 'no such managed cluster'}): there is nothing to compare with`);
  else if (!current && found?.status === 'Unknown') compliance = unknown(`inventory could not read ${armId}: ${found.message ?? 'the read failed'}`);
  else if (!current) compliance = unknown(`inventory has not read ${armId} yet`);
  else if (gone) compliance = unknown(`ARM answered 404 for ${armId} (${found?.message ?? 'the managed cluster is gone'}); the last facts read are from ${current.observedAt}`);
  else if (found?.status === 'Unknown') compliance = unknown(`inventory cannot read ${armId} now (${found.message ?? 'the read failed'}); the last facts read are from ${current.observedAt}`);
  else compliance = encryptionCompliance(effective, facts, { acnsMayBeEnabled: cluster.spec.encryptionRemediation?.allowEnablingAdvancedNetworking === true });
  return { actual, compliance, nodeEvidence: nodeEvidenceOf(input, gone ? undefined : facts) };
}

function unknown(reason: string): EncryptionCompliance {
  return { state: 'Unknown', differences: [], reasons: [reason] };
}

function nodeEvidenceOf(input: ClusterEncryptionInput, facts: ReturnType<typeof encryptionFactsOf> | undefined): ClusterNodeEvidence {
  const since = input.now.getTime() - input.silentAfterSeconds * 1000;
  const withTunnel: string[] = [];
  const withoutTunnel: string[] = [];
  let reporting = 0;
  let unreadable = 0;
  for (const node of input.nodes) {
    const evidence = node.status?.encryption;
    const lastSeen = node.status?.lastSeen ? Date.parse(node.status.lastSeen) : NaN;
    if (!evidence || !(lastSeen >= since)) continue;
    reporting++;
    if (evidence.error !== undefined) unreadable++;
    else (evidence.wireguardInterfaces.some((i) => i.name === CILIUM_WIREGUARD_INTERFACE && i.up !== false) ? withTunnel : withoutTunnel).push(node.metadata.name);
  }
  const armWireGuard = facts !== undefined && (facts.transitEncryption ?? 'None').toLowerCase() === 'wireguard';
  let mismatch: ClusterNodeEvidence['mismatch'] = 'None';
  let disagreeing: string[] = [];
  if (withTunnel.length + withoutTunnel.length === 0) mismatch = 'NoEvidence';
  else if (armWireGuard && withoutTunnel.length > 0) [mismatch, disagreeing] = ['ArmWireGuardNodesWithoutTunnel', withoutTunnel];
  else if (facts !== undefined && !armWireGuard && withTunnel.length > 0) [mismatch, disagreeing] = ['NodesTunnelArmWithoutWireGuard', withTunnel];
  const evidence: ClusterNodeEvidence = { nodesReporting: reporting, nodesWithTunnel: withTunnel.length, nodesWithoutTunnel: withoutTunnel.length, nodesUnreadable: unreadable, mismatch };
  if (disagreeing.length > 0) evidence.nodesDisagreeing = disagreeing.sort().slice(0, MAX_DISAGREEING);
  return evidence;
}
