/**
 * Encryption compliance of one cluster (pure; issue 14 item 2): the cluster's effective EncryptionConfig
 * (effective-encryption.ts) against what Azure Resource Manager reports for its managed cluster.
 *
 * On AKS, transparent encryption of a Cilium-dataplane cluster is ARM's
 * `networkProfile.advancedNetworking.security.transitEncryption.type` (`WireGuard` | `None`): pod-to-pod
 * WireGuard, which needs `networkDataplane: cilium` and Advanced Container Networking Services (ACNS,
 * `advancedNetworking.enabled`). Nothing else of Cilium's encryption settings is exposed through ARM.
 *
 * Contract of encryptionCompliance(desired, actual, options):
 * - `Unknown`: no ARM facts (no `armResourceId`, or not read yet).
 * - Encryption desired off (or absent): `Compliant` when ARM reports no transit encryption, else `Drifted`
 *   (transitEncryption WireGuard → None).
 * - Encryption desired on, `Unsupported` (with every reason) when AKS cannot express it: IPsec (AKS offers
 *   WireGuard only); `nodeEncryption` (AKS encrypts pod-to-pod traffic only); WireGuard `strictMode` (not
 *   exposed); a dataplane other than cilium; ACNS off while `options.acnsMayBeEnabled` is false (turning ACNS
 *   on changes the cluster's networking product and billing: only where the cluster opted in).
 * - Otherwise `Compliant` when ARM reports WireGuard (and ACNS on), else `Drifted` with the field-level
 *   differences an update would make (ACNS enabled, transitEncryption WireGuard).
 * Field paths are ARM's, relative to the managed cluster's `properties`.
 */
import type { ClusterInventory, EncryptionConfig } from '../../openapi/types.js';

/** What inventory reads of a managed cluster for encryption. */
export interface ArmEncryptionFacts {
  /** `networkProfile.networkDataplane` (`cilium`, `azure`, …; absent on older clusters: azure) */
  networkDataplane?: string;
  /** `networkProfile.advancedNetworking.enabled` */
  advancedNetworkingEnabled?: boolean;
  /** `networkProfile.advancedNetworking.security.transitEncryption.type` (`WireGuard`, `None`; absent = None) */
  transitEncryption?: string;
}

export type ComplianceState = 'Compliant' | 'Drifted' | 'Unsupported' | 'Unknown';

export interface ComplianceDifference {
  /** ARM field path under `properties` */
  field: string;
  desired: string | boolean;
  actual: string | boolean | null;
}

export interface EncryptionCompliance {
  state: ComplianceState;
  /** Drifted: what an ARM update would change */
  differences: ComplianceDifference[];
  /** Unsupported and Unknown: why, in words */
  reasons: string[];
}

export interface ComplianceOptions {
  /** the cluster opted in to having ACNS turned on by remediation */
  acnsMayBeEnabled?: boolean;
}

const TRANSIT = 'networkProfile.advancedNetworking.security.transitEncryption.type';
const ACNS = 'networkProfile.advancedNetworking.enabled';

const wireGuardOn = (facts: ArmEncryptionFacts): boolean => (facts.transitEncryption ?? 'None').toLowerCase() === 'wireguard';

export function encryptionCompliance(desired: EncryptionConfig, actual: ArmEncryptionFacts | undefined, options: ComplianceOptions = {}): EncryptionCompliance {
  if (!actual) return { state: 'Unknown', differences: [], reasons: ['the cluster has no ARM resource id, or inventory has not read it yet'] };
  if (desired.enabled !== true) {
    if (!wireGuardOn(actual)) return { state: 'Compliant', differences: [], reasons: [] };
    return { state: 'Drifted', differences: [{ field: TRANSIT, desired: 'None', actual: actual.transitEncryption ?? null }], reasons: [] };
  }
  const reasons: string[] = [];
  if ((desired.type ?? 'wireguard') === 'ipsec') reasons.push('IPsec: AKS offers WireGuard transit encryption only');
  if (desired.nodeEncryption === true) reasons.push('nodeEncryption: AKS transit encryption covers pod-to-pod traffic only');
  if (desired.strictMode?.egress?.enabled === true || desired.strictMode?.ingress?.enabled === true) reasons.push('WireGuard strictMode: not exposed through ARM');
  const dataplane = actual.networkDataplane ?? 'azure';
  if (dataplane.toLowerCase() !== 'cilium') reasons.push(`networkDataplane is ${dataplane}: transit encryption needs the cilium dataplane`);
  const acnsOn = actual.advancedNetworkingEnabled === true;
  if (!acnsOn && options.acnsMayBeEnabled !== true) reasons.push('Advanced Container Networking Services are off, and the cluster has not opted in to turning them on');
  if (reasons.length > 0) return { state: 'Unsupported', differences: [], reasons };
  const differences: ComplianceDifference[] = [];
  if (!acnsOn) differences.push({ field: ACNS, desired: true, actual: actual.advancedNetworkingEnabled ?? null });
  if (!wireGuardOn(actual)) differences.push({ field: TRANSIT, desired: 'WireGuard', actual: actual.transitEncryption ?? null });
  return differences.length === 0 ? { state: 'Compliant', differences, reasons } : { state: 'Drifted', differences, reasons };
}

/** The encryption facts compliance reads, from what inventory stored in `Cluster.status.inventory`. */
export function encryptionFactsOf(inventory: ClusterInventory): ArmEncryptionFacts {
  const network = inventory.network;
  const facts: ArmEncryptionFacts = {};
  if (network?.networkDataplane !== undefined) facts.networkDataplane = network.networkDataplane;
  if (network?.advancedNetworking?.enabled !== undefined) facts.advancedNetworkingEnabled = network.advancedNetworking.enabled;
  if (network?.advancedNetworking?.transitEncryption !== undefined) facts.transitEncryption = network.advancedNetworking.transitEncryption;
  return facts;
}
