/**
 * Encryption compliance as the API answers it: each cluster's effective settings (the fleet's
 * EncryptionSettings now), the ARM facts inventory stored, and its nodes' evidence → per cluster
 * (getEffectiveEncryption), the fleet report (getEncryptionCompliance), and the EncryptionCompliant
 * condition clusters are read with. Computed when asked: a settings change shows at once; the facts are as
 * old as the last inventory run (their `observedAt` says so).
 */
import type { Cluster, ClusterEncryptionCompliance, ComplianceState, EffectiveEncryption, EncryptionComplianceReport, EncryptionSettings, Node } from '../../../openapi/types.js';
import { clusterEncryptionState } from '../../../core/encryption/cluster-encryption-state.js';
import { buildComplianceReport, COMPLIANCE_CONDITION, complianceCondition } from '../../../core/encryption/compliance-report.js';
import { computeEffectiveEncryption } from '../../../core/encryption/effective-encryption.js';
import type { DocumentCollection } from '../store/document-collection.js';
import { toClusterRecord } from './cluster-directory.js';
import type { ClusterService } from './clusters.js';
import { FLEET_ENCRYPTION_NAME, KIND } from './fleet-store.js';

export interface EncryptionComplianceDeps {
  encryption: DocumentCollection<EncryptionSettings>;
  clusters: ClusterService;
  nodes: DocumentCollection<Node>;
  now: () => Date;
}

type Settings = EncryptionSettings | undefined;

export class EncryptionComplianceService {
  constructor(private readonly deps: EncryptionComplianceDeps) {}

  /** getEffectiveEncryption: effective settings, actual, compliance, node evidence. */
  async forCluster(id: string, silentAfterSeconds: number): Promise<EffectiveEncryption> {
    const [cluster, settings] = await Promise.all([this.deps.clusters.get(id), this.settings()]);
    const effective = computeEffectiveEncryption(settings?.spec, toClusterRecord(cluster.value), settings?.metadata.generation ?? null);
    const state = await this.stateOf(cluster.value, settings, silentAfterSeconds);
    return { ...effective, actual: state.actual, compliance: state.compliance, nodeEvidence: state.nodeEvidence };
  }

  async report(onlyState: ComplianceState | undefined, silentAfterSeconds: number): Promise<EncryptionComplianceReport> {
    const [clusters, settings] = await Promise.all([this.deps.clusters.all(), this.settings()]);
    const entries = await Promise.all(
      clusters.map(async (cluster): Promise<ClusterEncryptionCompliance> => {
        const state = await this.stateOf(cluster, settings, silentAfterSeconds);
        const entry: ClusterEncryptionCompliance = {
          clusterId: cluster.metadata.name,
          state: state.compliance.state,
          differences: state.compliance.differences,
          reasons: state.compliance.reasons,
          remediationEnabled: cluster.spec.encryptionRemediation?.enabled === true,
          nodeEvidence: state.nodeEvidence,
        };
        if (state.actual) entry.observedAt = state.actual.observedAt;
        return entry;
      }),
    );
    return buildComplianceReport(entries, { generatedAt: this.deps.now(), settingsGeneration: settings?.metadata.generation ?? null, ...(onlyState ? { onlyState } : {}) });
  }

  /** The clusters as read (getCluster, listClusters): with the EncryptionCompliant condition computed now. */
  async withConditions(clusters: Cluster[]): Promise<Cluster[]> {
    if (clusters.length === 0) return clusters;
    const settings = await this.settings();
    return clusters.map((cluster) => {
      const effective = computeEffectiveEncryption(settings?.spec, toClusterRecord(cluster), settings?.metadata.generation ?? null);
      const { compliance } = clusterEncryptionState({ cluster, effective: effective.settings, settingsGeneration: effective.settingsGeneration ?? null, nodes: [], now: this.deps.now(), silentAfterSeconds: 1 });
      const conditions = (cluster.status?.conditions ?? []).filter((c) => c.type !== COMPLIANCE_CONDITION);
      return { ...cluster, status: { ...cluster.status, conditions: [...conditions, complianceCondition(compliance)] } };
    });
  }

  private async stateOf(cluster: Cluster, settings: Settings, silentAfterSeconds: number) {
    const effective = computeEffectiveEncryption(settings?.spec, toClusterRecord(cluster), settings?.metadata.generation ?? null);
    const nodes = (await this.deps.nodes.all(cluster.metadata.name)).map((entry) => entry.value);
    return clusterEncryptionState({ cluster, effective: effective.settings, settingsGeneration: effective.settingsGeneration ?? null, nodes, now: this.deps.now(), silentAfterSeconds });
  }

  private async settings(): Promise<Settings> {
    return (await this.deps.encryption.read(KIND.encryption, FLEET_ENCRYPTION_NAME))?.value;
  }
}
