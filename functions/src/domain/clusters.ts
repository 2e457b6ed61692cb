import type { Cluster, ClusterStatus, Node } from '../../../openapi/types.js';
import { notFound } from '../http/api-error.js';
import type { ListQuery } from '../http/list-query.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import { collectPage, type Page } from './collect-page.js';
import { deleteCurrent } from './delete-current.js';
import { KIND } from './fleet-store.js';
import { tombstoneOf } from './tombstone.js';
import { retryOnWriteConflict } from './retry-on-conflict.js';
import { putResource, type Preconditions, type PutOutcome } from './put-resource.js';
import { requireMatchingName } from './require-matching-name.js';

export interface ClusterServiceDeps {
  clusters: DocumentCollection<Cluster>;
  nodes: DocumentCollection<Node>;
  now: () => Date;
}

/**
 * Clusters of the fleet. A cluster's labels select policies and encryption overrides; its agent identities
 * gate node endpoints. Its desired state is compiled from the change feed (DesiredStateCompiler).
 */
export class ClusterService {
  constructor(private readonly deps: ClusterServiceDeps) {}

  async get(id: string): Promise<Versioned<Cluster>> {
    const found = await this.deps.clusters.read(KIND.cluster, id);
    if (!found) throw notFound(`Cluster "${id}"`);
    return found;
  }

  list(query: ListQuery): Promise<Page<Cluster>> {
    return collectPage(this.deps.clusters, KIND.cluster, query);
  }

  async put(id: string, incoming: Cluster, actor: string, preconditions: Preconditions): Promise<PutOutcome<Cluster>> {
    requireMatchingName(id, incoming.metadata.name);
    return putResource({
      collection: this.deps.clusters,
      partitionKey: KIND.cluster,
      id,
      incoming,
      actor,
      now: this.deps.now(),
      preconditions,
      status: (existing) => existing?.status,
    });
  }

  /** A cluster of this name was deleted (its tombstone is stored) and none is registered now. */
  async wasDeleted(id: string): Promise<boolean> {
    return (await this.deps.clusters.readEntry(KIND.cluster, id))?.tombstone === true;
  }

  /** Every registered cluster (inventory, compliance report). */
  async all(): Promise<Cluster[]> {
    return (await this.deps.clusters.all(KIND.cluster)).map((entry) => entry.value);
  }

  /**
   * Writes the status inventory computed from the current one (`next`); spec, metadata and generation stay.
   * No write when the status would not change; false when the cluster is gone. Retries lost races.
   */
  async updateStatus(id: string, next: (current: Cluster) => ClusterStatus): Promise<boolean> {
    return retryOnWriteConflict(async () => {
      const current = await this.deps.clusters.read(KIND.cluster, id);
      if (!current) return false;
      const status = next(current.value);
      if (JSON.stringify(status) === JSON.stringify(current.value.status ?? {})) return true;
      await this.deps.clusters.replace(KIND.cluster, id, { ...current.value, status }, current.version);
      return true;
    });
  }

  /**
   * Deletes the cluster (a tombstone: the compiler, on the change feed, drops it from its manifest) and its
   * registered nodes.
   */
  async delete(id: string, ifMatch: string | null, actor: string): Promise<void> {
    await deleteCurrent(this.deps.clusters, KIND.cluster, id, ifMatch, `Cluster "${id}"`, (existing) => tombstoneOf(existing, actor, this.deps.now()));
    const nodes = await this.deps.nodes.all(id);
    await Promise.all(nodes.map((node) => this.deps.nodes.delete(id, node.value.metadata.name)));
  }
}
