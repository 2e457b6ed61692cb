import type { Cluster, EncryptionSettings, NetworkPolicy, Node, Revision } from '../../../openapi/types.js';
import { DocumentCollection } from '../store/document-collection.js';
import type { CosmosContainers } from '../store/open-cosmos.js';
import type { ClusterState } from './desired-state.js';

/** Partition keys of the `resources` container (partitioned by kind). */
export const KIND = { policy: 'NetworkPolicy', encryption: 'EncryptionSettings', cluster: 'Cluster' } as const;

/** The id of the one EncryptionSettings resource of a fleet. */
export const FLEET_ENCRYPTION_NAME = 'fleet';

/** Typed collections over the Cosmos containers of cosmos-layout.ts. */
export interface FleetStore {
  policies: DocumentCollection<NetworkPolicy>;
  encryption: DocumentCollection<EncryptionSettings>;
  clusters: DocumentCollection<Cluster>;
  nodes: DocumentCollection<Node>;
  clusterStates: DocumentCollection<ClusterState>;
  revisions: DocumentCollection<Revision>;
}

export function createFleetStore(containers: CosmosContainers): FleetStore {
  return {
    policies: new DocumentCollection<NetworkPolicy>(containers.resources, 'kind'),
    encryption: new DocumentCollection<EncryptionSettings>(containers.resources, 'kind'),
    clusters: new DocumentCollection<Cluster>(containers.resources, 'kind'),
    nodes: new DocumentCollection<Node>(containers.nodes, 'clusterId'),
    clusterStates: new DocumentCollection<ClusterState>(containers.clusterState, 'clusterId'),
    revisions: new DocumentCollection<Revision>(containers.revisions, 'resourceKey'),
  };
}
