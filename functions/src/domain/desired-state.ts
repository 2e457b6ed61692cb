import type { DesiredState, NetworkPolicy } from '../../../openapi/types.js';
import { buildDesiredState, type ClusterFacts, type EncryptionInput } from '../../../core/bundle/build-desired-state.js';
import { WriteConflictError, type DocumentCollection, type Versioned } from '../store/document-collection.js';
import { conflictBackoff, MAX_CONFLICT_ATTEMPTS } from './retry-on-conflict.js';

/**
 * One document per cluster (container clusterState, id "desired-state"): the compiled bundle, its ETag and
 * the identities allowed to act as the cluster's agents. Kept current by every write that affects the
 * cluster, so an agent's poll — 200 or 304 — is one point read.
 */
export interface ClusterState {
  clusterId: string;
  revision: number;
  contentHash: string;
  /** Strong ETag value (without quotes): changes exactly when the bundle content changes. */
  etag: string;
  agentIdentities: string[];
  bundle: DesiredState;
}

export const CLUSTER_STATE_ID = 'desired-state';

export interface DesiredStateInputs {
  policies: NetworkPolicy[];
  encryption: EncryptionInput | undefined;
}

export interface ClusterRecord extends ClusterFacts {
  agentIdentities: string[];
}

export interface DesiredStateOptions {
  states: DocumentCollection<ClusterState>;
  /** Loads every policy and the encryption settings. Called after the states are read (see refresh). */
  loadInputs: () => Promise<DesiredStateInputs>;
  /** How long a read state may be served from memory, in ms (0 = always read). */
  cacheMillis: number;
  now?: () => number;
}


export class DesiredStateService {
  private readonly cache = new Map<string, { state: ClusterState | undefined; readAt: number }>();
  private readonly now: () => number;

  constructor(private readonly options: DesiredStateOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The state of a cluster: at most one point read; none while a cached copy is younger than cacheMillis.
   * Contract: a change written through another instance reaches agents within cacheMillis.
   */
  async read(clusterId: string): Promise<ClusterState | undefined> {
    const cached = this.cache.get(clusterId);
    if (cached && this.now() - cached.readAt < this.options.cacheMillis) return cached.state;
    const state = (await this.options.states.read(clusterId, CLUSTER_STATE_ID))?.value;
    this.remember(clusterId, state);
    return state;
  }

  /**
   * Recompiles the bundles of the given clusters and writes those whose content or agent identities changed.
   * Correctness under concurrent writers: each round reads the states first and the inputs second, then
   * replaces with If-Match on the state read. A writer whose resource was committed before our inputs
   * were loaded is included; one committed later reads the state after us and either sees our write or
   * makes ours fail (412) — then the cluster is recompiled in the next round with fresh inputs.
   */
  async refresh(clusters: readonly ClusterRecord[]): Promise<void> {
    let pending = [...clusters];
    for (let round = 1; pending.length > 0; round++) {
      if (round > MAX_CONFLICT_ATTEMPTS) throw new Error(`desired state of ${pending.length} cluster(s) did not settle after ${MAX_CONFLICT_ATTEMPTS} rounds`);
      if (round > 1) await conflictBackoff(round - 1); // spread the writers that collided
      const current = await Promise.all(pending.map((cluster) => this.options.states.read(cluster.id, CLUSTER_STATE_ID)));
      const inputs = await this.options.loadInputs();
      const lost: ClusterRecord[] = [];
      await Promise.all(
        pending.map(async (cluster, index) => {
          const won = await this.write(cluster, current[index], inputs);
          if (!won) lost.push(cluster);
        }),
      );
      pending = lost;
    }
  }

  async remove(clusterId: string): Promise<void> {
    await this.options.states.delete(clusterId, CLUSTER_STATE_ID);
    this.cache.delete(clusterId);
  }

  /** Returns false when another writer got there first (the caller recompiles). */
  private async write(cluster: ClusterRecord, current: Versioned<ClusterState> | undefined, inputs: DesiredStateInputs): Promise<boolean> {
    const { body, contentHash } = buildDesiredState(cluster, inputs.policies, inputs.encryption);
    const identities = [...cluster.agentIdentities].sort();
    const previous = current?.value;
    if (previous && previous.contentHash === contentHash && sameList(previous.agentIdentities, identities)) {
      this.remember(cluster.id, previous);
      return true;
    }
    const revision = previous ? previous.revision + (previous.contentHash === contentHash ? 0 : 1) : 1;
    const state: ClusterState = {
      clusterId: cluster.id,
      revision,
      contentHash,
      etag: `r${revision}-${contentHash.slice(0, 24)}`,
      agentIdentities: identities,
      bundle: { ...body, revision },
    };
    try {
      if (current) await this.options.states.replace(cluster.id, CLUSTER_STATE_ID, state, current.version);
      else await this.options.states.create(cluster.id, CLUSTER_STATE_ID, state);
    } catch (error) {
      if (error instanceof WriteConflictError) return false;
      throw error;
    }
    this.remember(cluster.id, state);
    return true;
  }

  private remember(clusterId: string, state: ClusterState | undefined): void {
    this.cache.set(clusterId, { state, readAt: this.now() });
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}
