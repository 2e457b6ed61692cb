import type { Node, NodeStatus } from '../../../openapi/types.js';
import { notFound } from '../http/api-error.js';
import type { ListQuery } from '../http/list-query.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import { collectPage, type Page } from './collect-page.js';
import { deleteCurrent } from './delete-current.js';
import { putResource, type Preconditions, type PutOutcome } from './put-resource.js';
import { requireMatchingName } from './require-matching-name.js';
import { retryOnWriteConflict } from './retry-on-conflict.js';

export interface NodeServiceDeps {
  nodes: DocumentCollection<Node>;
  now: () => Date;
}

/** Nodes registered by their agents, partitioned by cluster. Callers check that the cluster exists. */
export class NodeService {
  constructor(private readonly deps: NodeServiceDeps) {}

  async get(clusterId: string, name: string): Promise<Versioned<Node>> {
    const found = await this.deps.nodes.read(clusterId, name);
    if (!found) throw notFound(`Node "${name}" of cluster "${clusterId}"`);
    return found;
  }

  list(clusterId: string, query: ListQuery): Promise<Page<Node>> {
    return collectPage(this.deps.nodes, clusterId, query);
  }

  /** Create-or-replace of the node's registration; its status is kept. */
  register(clusterId: string, name: string, incoming: Node, actor: string, preconditions: Preconditions): Promise<PutOutcome<Node>> {
    requireMatchingName(name, incoming.metadata.name);
    return putResource({
      collection: this.deps.nodes,
      partitionKey: clusterId,
      id: name,
      incoming,
      actor,
      now: this.deps.now(),
      preconditions,
      status: (existing) => existing?.status,
    });
  }

  /** Replaces the node's status (observedRevision, conditions) and stamps lastSeen. */
  async reportStatus(clusterId: string, name: string, status: NodeStatus): Promise<Versioned<Node>> {
    return retryOnWriteConflict(async () => {
      const current = await this.get(clusterId, name);
      const next: Node = { ...current.value, status: { ...status, lastSeen: this.deps.now().toISOString() } };
      return this.deps.nodes.replace(clusterId, name, next, current.version);
    });
  }

  async delete(clusterId: string, name: string, ifMatch: string | null): Promise<void> {
    await deleteCurrent(this.deps.nodes, clusterId, name, ifMatch, `Node "${name}" of cluster "${clusterId}"`);
  }
}
