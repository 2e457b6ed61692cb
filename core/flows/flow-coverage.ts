/**
 * Completeness of a flow answer, from the per node-hour coverage records kept at ingest.
 *
 * Contracts:
 * - A node is listed when it stored something (agent batch or import) in an hour bucket the window touches.
 * - `gaps`: sequence numbers missing between the first and last agent batch seen in those buckets (a gap
 *   before the first or after the last is not knowable from the window alone).
 * - `lost`: sums of what the agents reported their spool dropped. `complete` = no gap and nothing lost.
 * - `clustersWithoutData`: clusters in scope with no record. Output sorted by cluster, then node.
 */
import type { FlowClusterCoverage, FlowCoverage } from '../../openapi/types.js';
import type { FlowWindow } from './flow-time.js';
import { gapsBetween, mergeRanges, type SequenceRange } from './sequence-ranges.js';

/** What ingest keeps per cluster, node and hour bucket. */
export interface NodeHourCoverage {
  clusterId: string;
  node: string;
  hour: string;
  /** Agent batch sequences stored (imports have none). */
  ranges: SequenceRange[];
  batches: number;
  summaries: number;
  imported: number;
  lost: { batches: number; summaries: number };
}

export function buildCoverage(window: FlowWindow, clustersInScope: readonly string[], records: readonly NodeHourCoverage[]): FlowCoverage {
  const byCluster = new Map<string, Map<string, NodeHourCoverage[]>>();
  for (const r of records) {
    const nodes = byCluster.get(r.clusterId) ?? new Map<string, NodeHourCoverage[]>();
    byCluster.set(r.clusterId, nodes);
    nodes.set(r.node, [...(nodes.get(r.node) ?? []), r]);
  }
  let complete = true;
  const clusters: FlowClusterCoverage[] = [...byCluster.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([cluster, nodes]) => ({
    cluster,
    nodes: [...nodes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([node, hours]) => {
      const ranges = mergeRanges(...hours.map((h) => h.ranges));
      const gaps = gapsBetween(ranges);
      const lost = { batches: sum(hours, (h) => h.lost.batches), summaries: sum(hours, (h) => h.lost.summaries) };
      if (gaps.length > 0 || lost.batches > 0 || lost.summaries > 0) complete = false;
      return {
        node_name: node,
        batches: sum(hours, (h) => h.batches),
        summaries: sum(hours, (h) => h.summaries),
        ...(ranges.length > 0 ? { firstSequence: ranges[0]![0], lastSequence: ranges.at(-1)![1] } : {}),
        gaps,
        lost,
        imported: sum(hours, (h) => h.imported),
      };
    }),
  }));
  const clustersWithoutData = clustersInScope.filter((c) => !byCluster.has(c)).sort();
  return { since: window.since, until: window.until, complete, clusters, clustersWithoutData };
}

const sum = <T>(items: readonly T[], pick: (item: T) => number): number => items.reduce((acc, item) => acc + pick(item), 0);
