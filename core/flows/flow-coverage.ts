/**
 * Completeness of a flow answer, from the per node-hour coverage records kept at ingest.
 *
 * Contracts:
 * - A node is listed when it stored something (agent batch or import) in an hour bucket the window touches.
 * - `gaps`: sequence numbers missing between the first and last agent batch seen in those buckets (a gap
 *   before the first or after the last is not knowable from the window alone).
 * - `lost`: sums of what the agents reported lost: batches and summaries their spools dropped, packets,
 *   bytes and new connections (`flows`) their kernels could not count (flow-counter map full).
 *   `complete` = no gap and nothing of any kind lost.
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
  /** Summed over the batches recorded; the kernel fields are absent in records written before they existed. */
  lost: LostCounts;
}

export interface LostCounts {
  batches: number;
  summaries: number;
  packets?: number;
  bytes?: number;
  flows?: number;
}

const LOST_FIELDS = ['batches', 'summaries', 'packets', 'bytes', 'flows'] as const;

/** Field-wise sum; absent fields count as 0, and every field is present in the result. */
export function addLost(a: LostCounts | undefined, b: LostCounts | undefined): Required<LostCounts> {
  const out = { batches: 0, summaries: 0, packets: 0, bytes: 0, flows: 0 };
  for (const field of LOST_FIELDS) out[field] = (a?.[field] ?? 0) + (b?.[field] ?? 0);
  return out;
}

export const hasLoss = (lost: LostCounts): boolean => LOST_FIELDS.some((field) => (lost[field] ?? 0) > 0);

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
      const lost = hours.reduce<Required<LostCounts>>((acc, h) => addLost(acc, h.lost), addLost(undefined, undefined));
      if (gaps.length > 0 || hasLoss(lost)) complete = false;
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
