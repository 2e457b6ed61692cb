/**
 * The realization ledger's arithmetic (pure): which clusters a policy's generations target, and which
 * nodes actually enforce each generation, are behind, are Degraded for it, or have gone silent — from
 * each cluster's desired-state views by revision (the ledger) and its nodes' status.
 *
 * Contract of policyRealization(policy, clusters, options):
 * - A cluster is targeted by generation g when its current view lists the policy at g.
 * - A node's observedRevision names the view it enforces (the ledger keeps views for a retention
 *   period). The node is:
 *   - `enforcing` g when that view lists the policy at g, g being the current one;
 *   - `behind` when that view lists an older generation of the policy or none while the current view
 *     lists it (it is listed under the generation it does enforce, `enforcing: null` for none);
 *   - `unknown` when the ledger no longer holds (or never held) the view it reports, or it reported none;
 *   - additionally `silent` when it has not reported for more than `silentAfterMs` (its last known state is
 *     kept, flagged), and `degraded` when its Degraded condition is True and names the policy
 *     (`policy <name> `, as agents write it).
 * - A node of a cluster the policy does not target is listed only when it still enforces some
 *   generation (a policy removed or retargeted, the node not yet caught up): `behind`, target none.
 * Generations are reported newest first; within one, clusters and nodes by name.
 */

export interface LedgerView {
  revision: number;
  /** the policies of the view (name, generation) */
  policies: ReadonlyArray<{ name: string; generation: number }>;
}

export interface NodeStatusView {
  name: string;
  observedRevision?: number;
  /** RFC 3339 */
  lastSeen?: string;
  /** the Degraded condition's message when its status is True */
  degradedMessage?: string;
}

export interface ClusterLedger {
  id: string;
  /** the cluster's current desired-state revision (undefined: not compiled yet) */
  currentRevision?: number;
  /** views the ledger holds for this cluster, by revision (the current one included) */
  views: ReadonlyMap<number, LedgerView>;
  nodes: readonly NodeStatusView[];
}

export type NodeRealizationState = 'enforcing' | 'behind' | 'unknown';

export interface NodeRealization {
  cluster: string;
  node: string;
  state: NodeRealizationState;
  observedRevision?: number;
  silent: boolean;
  degraded: boolean;
  lastSeen?: string;
}

export interface GenerationRealization {
  /** null: nodes that enforce no generation of the policy (behind a view that added it) */
  generation: number | null;
  /** clusters whose current view lists this generation */
  clustersTargeted: string[];
  nodes: NodeRealization[];
}

export interface PolicyRealization {
  policy: string;
  /** the newest generation any current view lists (undefined: no cluster is targeted) */
  currentGeneration?: number;
  generations: GenerationRealization[];
  /** count per state, over every listed node */
  summary: { enforcing: number; behind: number; unknown: number; silent: number; degraded: number };
}

export interface RealizationOptions {
  now: Date;
  /** a node is silent beyond this since its last report (e.g. 3 poll intervals) */
  silentAfterMs: number;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function policyRealization(policy: string, clusters: readonly ClusterLedger[], options: RealizationOptions): PolicyRealization {
  const generationIn = (view: LedgerView | undefined): number | undefined => view?.policies.find((p) => p.name === policy)?.generation;
  const generations = new Map<number | null, GenerationRealization>();
  const entry = (g: number | null): GenerationRealization => {
    let e = generations.get(g);
    if (!e) generations.set(g, (e = { generation: g, clustersTargeted: [], nodes: [] }));
    return e;
  };
  const names = `policy ${policy} `;
  for (const cluster of [...clusters].sort((a, b) => byName(a.id, b.id))) {
    const current = cluster.currentRevision === undefined ? undefined : cluster.views.get(cluster.currentRevision);
    const target = generationIn(current);
    if (target !== undefined) entry(target).clustersTargeted.push(cluster.id);
    for (const node of [...cluster.nodes].sort((a, b) => byName(a.name, b.name))) {
      const observed = node.observedRevision === undefined ? undefined : cluster.views.get(node.observedRevision);
      const enforced = generationIn(observed);
      const silent = node.lastSeen === undefined || options.now.getTime() - Date.parse(node.lastSeen) > options.silentAfterMs;
      const degraded = node.degradedMessage !== undefined && node.degradedMessage.includes(names);
      const base = { cluster: cluster.id, node: node.name, silent, degraded, ...(node.observedRevision !== undefined ? { observedRevision: node.observedRevision } : {}), ...(node.lastSeen ? { lastSeen: node.lastSeen } : {}) };
      if (observed === undefined) {
        if (target !== undefined) entry(target).nodes.push({ ...base, state: 'unknown' });
        continue;
      }
      if (target === undefined && enforced === undefined) continue; // neither wanted nor enforced here
      if (enforced !== undefined && enforced === target) entry(target).nodes.push({ ...base, state: 'enforcing' });
      else entry(enforced ?? null).nodes.push({ ...base, state: 'behind' });
    }
  }
  const list = [...generations.values()].sort((a, b) => (b.generation ?? -1) - (a.generation ?? -1));
  const all = list.flatMap((g) => g.nodes);
  const currentGeneration = Math.max(...list.filter((g) => g.clustersTargeted.length > 0).map((g) => g.generation ?? -1));
  return {
    policy,
    ...(currentGeneration >= 0 ? { currentGeneration } : {}),
    generations: list,
    summary: {
      enforcing: all.filter((n) => n.state === 'enforcing').length,
      behind: all.filter((n) => n.state === 'behind').length,
      unknown: all.filter((n) => n.state === 'unknown').length,
      silent: all.filter((n) => n.silent).length,
      degraded: all.filter((n) => n.degraded).length,
    },
  };
}
