import type { Cluster, EncryptionSettings, NetworkPolicy, Node, Revision } from '../../../openapi/types.js';
import type { GroupManifest } from '../../../core/bundle/group-manifest.js';
import { DocumentCollection, type WriteObserver } from '../store/document-collection.js';
import type { CosmosContainers } from '../store/open-cosmos.js';
import { ManifestLedger, type LedgerEntry } from './desired-state/manifest-ledger.js';
import { ManifestStore } from './desired-state/manifest-store.js';

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
  manifests: ManifestStore;
  revisions: DocumentCollection<Revision>;
}

/** `observeResources` sees every document written to `resources` (the local change driver listens there). */
export function createFleetStore(containers: CosmosContainers, observeResources?: WriteObserver): FleetStore {
  return {
    policies: new DocumentCollection<NetworkPolicy>(containers.resources, 'kind', observeResources),
    encryption: new DocumentCollection<EncryptionSettings>(containers.resources, 'kind', observeResources),
    clusters: new DocumentCollection<Cluster>(containers.resources, 'kind', observeResources),
    nodes: new DocumentCollection<Node>(containers.nodes, 'clusterId'),
    manifests: new ManifestStore(new DocumentCollection<GroupManifest>(containers.desiredStates, 'groupKey'), new ManifestLedger(new DocumentCollection<LedgerEntry>(containers.manifestLedger, 'groupKey'))),
    revisions: new DocumentCollection<Revision>(containers.revisions, 'resourceKey'),
  };
}
