import type { Cluster } from '../../../openapi/types.js';
import type { DocumentCollection } from '../store/document-collection.js';
import type { ClusterRecord } from './desired-state.js';
import { KIND } from './fleet-store.js';

export function toClusterRecord(cluster: Cluster): ClusterRecord {
  return { id: cluster.metadata.name, labels: cluster.metadata.labels ?? {}, agentIdentities: cluster.spec.agentIdentities ?? [] };
}

/** Every cluster of the fleet (one single-partition query; a fleet has thousands, not millions). */
export async function listAllClusters(clusters: DocumentCollection<Cluster>): Promise<ClusterRecord[]> {
  return (await clusters.all(KIND.cluster)).map((entry) => toClusterRecord(entry.value));
}
