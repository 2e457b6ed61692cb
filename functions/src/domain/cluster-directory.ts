import type { Cluster } from '../../../openapi/types.js';

/** What authorization and encryption need of a cluster. */
export interface ClusterRecord {
  id: string;
  labels: Record<string, string>;
  agentIdentities: string[];
}

export function toClusterRecord(cluster: Cluster): ClusterRecord {
  return { id: cluster.metadata.name, labels: cluster.metadata.labels ?? {}, agentIdentities: cluster.spec.agentIdentities ?? [] };
}
