/**
 * A candidate change to the fleet's policies, applied to one cluster's current policies (pure).
 *
 * Contract of applyCandidate(current, change, cluster):
 * - `remove`: those policies are gone;
 * - `upsert`: each policy replaces the one of that name (or is added) — on this cluster only when its
 *   `spec.targets` selects the cluster (a replaced policy that no longer targets the cluster is gone
 *   from it); its generation is the current one + 1 (1 when new), its mode `spec.mode` (default
 *   enforce), as the API would store it;
 * - `modes`: a mode switch (audit → enforce or back) of a policy, same generation + 1, spec unchanged;
 * A name in two of the lists is a caller error (the API rejects it before). The result is ordered by name.
 */
import type { BundledPolicy, NetworkPolicySpec } from '../../../openapi/types.js';
import { toBundledPolicy } from '../../bundle/bundled-policy.js';
import { targetsCluster, type ClusterIdentity } from '../select-clusters.js';

export interface CandidateChange {
  upsert?: ReadonlyArray<{ name: string; spec: NetworkPolicySpec }>;
  remove?: readonly string[];
  modes?: ReadonlyArray<{ name: string; mode: 'enforce' | 'audit' }>;
}

/** The names the change touches. */
export function changedPolicyNames(change: CandidateChange): string[] {
  return [...new Set([...(change.upsert ?? []).map((u) => u.name), ...(change.remove ?? []), ...(change.modes ?? []).map((m) => m.name)])].sort();
}

export function applyCandidate(current: readonly BundledPolicy[], change: CandidateChange, cluster: ClusterIdentity): BundledPolicy[] {
  const byName = new Map(current.map((p) => [p.name, p]));
  for (const name of change.remove ?? []) byName.delete(name);
  for (const { name, spec } of change.upsert ?? []) {
    const generation = (byName.get(name)?.generation ?? 0) + 1;
    if (!targetsCluster(spec.targets, cluster)) {
      byName.delete(name);
      continue;
    }
    byName.set(name, toBundledPolicy({ apiVersion: 'fleetnet.io/v1', kind: 'NetworkPolicy', metadata: { name, generation }, spec }));
  }
  for (const { name, mode } of change.modes ?? []) {
    const p = byName.get(name);
    if (p) byName.set(name, { ...p, generation: p.generation + 1, mode, spec: { ...p.spec, mode } });
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
