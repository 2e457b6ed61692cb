/**
 * Which clusters a policy targets.
 * Contract: no targets, or targets with neither `clusterIds` nor `clusterSelector`, means every cluster.
 * With either present the result is the union: the cluster's id is listed, or the selector matches its labels.
 * An empty `clusterIds` list with no selector targets nothing; an empty selector `{}` matches every cluster.
 */
import type { ClusterTargets } from '../../openapi/types.js';
import { matchesLabelSelector } from '../labels/label-selector.js';

export interface ClusterIdentity {
  id: string;
  labels: Record<string, string>;
}

export function targetsCluster(targets: ClusterTargets | undefined, cluster: ClusterIdentity): boolean {
  const ids = targets?.clusterIds;
  const selector = targets?.clusterSelector;
  if (ids === undefined && selector === undefined) return true;
  if (ids?.includes(cluster.id)) return true;
  return selector !== undefined && matchesLabelSelector(selector, cluster.labels);
}
