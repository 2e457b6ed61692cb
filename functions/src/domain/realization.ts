/**
 * Realization: what the fleet actually enforces, from the ledger (manifest-ledger.ts) and the nodes'
 * reported status — per policy (core policyRealization: per generation, clusters targeted, nodes
 * enforcing / behind / unknown / silent / Degraded for it) and per cluster (intended revision vs nodes
 * at it).
 *
 * Contract:
 * - A cluster's views come from the ledger entries of the group it is a member of now; the current
 *   view is the group's current manifest (always known, even if its ledger entry was lost).
 * - A node is silent when its lastSeen is older than `silentAfterMs` (the caller's bound: e.g. three
 *   poll intervals; the API does not know the agents' intervals).
 * - Degraded: a node's Degraded condition with status True (its message names the policies, as agents
 *   write it: `policy <name> <pointer>: reason`).
 */
import type { components, Node } from '../../../openapi/types.js';
import type { GroupManifest } from '../../../core/bundle/group-manifest.js';
import { policyRealization, type ClusterLedger, type LedgerView, type NodeStatusView, type PolicyRealization } from '../../../core/policy/realization/policy-realization.js';
import type { DocumentCollection } from '../store/document-collection.js';
import type { ManifestStore } from './desired-state/manifest-store.js';

export interface RealizationDeps {
  manifests: Pick<ManifestStore, 'all' | 'ledger'>;
  nodes: Pick<DocumentCollection<Node>, 'all'>;
  now: () => Date;
}

/** Per cluster: the intended revision and how many nodes enforce it (the wire's ClusterRealization). */
export type ClusterRealization = components['schemas']['ClusterRealization'];

const nodeView = (n: Node): NodeStatusView => {
  const degraded = n.status?.conditions?.find((c) => c.type === 'Degraded' && c.status === 'True');
  return {
    name: n.metadata.name,
    ...(n.status?.observedRevision !== undefined ? { observedRevision: n.status.observedRevision } : {}),
    ...(n.status?.lastSeen ? { lastSeen: n.status.lastSeen } : {}),
    ...(degraded ? { degradedMessage: degraded.message ?? '' } : {}),
  };
};

export class RealizationService {
  constructor(private readonly deps: RealizationDeps) {}

  /** Every cluster with a compiled desired state: its ledger views and its nodes. */
  async ledgers(): Promise<ClusterLedger[]> {
    const manifests = (await this.deps.manifests.all()).map((m) => m.value);
    const groupOf = new Map<string, GroupManifest>();
    for (const m of manifests) for (const id of Object.keys(m.members)) groupOf.set(id, m);
    return Promise.all(
      [...groupOf.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(async ([cluster, manifest]) => {
        const views = new Map<number, LedgerView>(this.deps.manifests.ledger ? await this.deps.manifests.ledger.viewsFor(manifest.groupKey, cluster) : []);
        views.set(manifest.revision, { revision: manifest.revision, policies: manifest.policies.filter((p) => !p.onlyClusters || p.onlyClusters.includes(cluster)).map((p) => ({ name: p.name, generation: p.generation })) });
        const nodes = (await this.deps.nodes.all(cluster)).map((n) => nodeView(n.value));
        return { id: cluster, currentRevision: manifest.revision, views, nodes };
      }),
    );
  }

  async policy(name: string, silentAfterMs: number): Promise<PolicyRealization> {
    return policyRealization(name, await this.ledgers(), { now: this.deps.now(), silentAfterMs });
  }

  async fleet(silentAfterMs: number): Promise<ClusterRealization[]> {
    const now = this.deps.now().getTime();
    return (await this.ledgers()).map((c) => {
      const silent = (n: NodeStatusView) => n.lastSeen === undefined || now - Date.parse(n.lastSeen) > silentAfterMs;
      const known = (n: NodeStatusView) => n.observedRevision !== undefined && c.views.has(n.observedRevision);
      return {
        cluster: c.id,
        ...(c.currentRevision !== undefined ? { revision: c.currentRevision } : {}),
        nodes: c.nodes.length,
        atRevision: c.nodes.filter((n) => n.observedRevision === c.currentRevision).length,
        behind: c.nodes.filter((n) => known(n) && n.observedRevision !== c.currentRevision).length,
        unknown: c.nodes.filter((n) => !known(n)).length,
        silent: c.nodes.filter(silent).length,
        degraded: c.nodes.filter((n) => n.degradedMessage !== undefined).length,
      };
    });
  }
}
