/**
 * The fleet's encryption compliance report (pure) from each cluster's state (cluster-encryption-state.ts).
 * Counts cover every cluster; `clusters` lists those in `onlyState` when given, else all, sorted by id.
 * `nodeEvidenceMismatches` counts clusters whose nodes contradict ARM (not `NoEvidence`).
 * completeness: how many clusters have ARM facts, and the oldest observation any state rests on.
 */
import type { ClusterCondition, ClusterEncryptionCompliance, ComplianceState, EncryptionComplianceReport } from '../../openapi/types.js';
import type { EncryptionCompliance } from './encryption-compliance.js';

export const COMPLIANCE_CONDITION = 'EncryptionCompliant';

export function buildComplianceReport(
  entries: readonly ClusterEncryptionCompliance[],
  context: { generatedAt: Date; settingsGeneration: number | null; onlyState?: ComplianceState },
): EncryptionComplianceReport {
  const counts = { Compliant: 0, Drifted: 0, Unsupported: 0, Unknown: 0, total: entries.length };
  let mismatches = 0;
  let withInventory = 0;
  let oldest: string | null = null;
  for (const entry of entries) {
    counts[entry.state]++;
    if (entry.nodeEvidence.mismatch === 'ArmWireGuardNodesWithoutTunnel' || entry.nodeEvidence.mismatch === 'NodesTunnelArmWithoutWireGuard') mismatches++;
    if (entry.observedAt !== undefined) {
      withInventory++;
      if (oldest === null || Date.parse(entry.observedAt) < Date.parse(oldest)) oldest = entry.observedAt;
    }
  }
  const listed = entries.filter((e) => context.onlyState === undefined || e.state === context.onlyState).sort((a, b) => (a.clusterId < b.clusterId ? -1 : a.clusterId > b.clusterId ? 1 : 0));
  return {
    generatedAt: context.generatedAt.toISOString(),
    settingsGeneration: context.settingsGeneration,
    counts,
    nodeEvidenceMismatches: mismatches,
    clusters: listed,
    completeness: { clustersRegistered: entries.length, clustersWithInventory: withInventory, oldestObservation: oldest },
  };
}

/** The EncryptionCompliant condition a cluster is read with: True Compliant, False Drifted/Unsupported, Unknown Unknown. */
export function complianceCondition(compliance: EncryptionCompliance): ClusterCondition {
  const status = compliance.state === 'Compliant' ? 'True' : compliance.state === 'Unknown' ? 'Unknown' : 'False';
  const details = compliance.state === 'Drifted' ? compliance.differences.map((d) => `${d.field}: ${String(d.actual)} → ${String(d.desired)}`) : compliance.reasons;
  const condition: ClusterCondition = { type: COMPLIANCE_CONDITION, status, reason: compliance.state };
  if (details.length > 0) condition.message = details.join('; ').slice(0, 4096);
  return condition;
}
