/**
 * Group-by aggregation of flow records (the emulator has no GROUP BY; this runs over partition-scoped reads).
 *
 * Contracts:
 * - Each record adds its packets, bytes, flows and 1 summary to the group of its key (one value per
 *   `groupBy` dimension; null when the record has no such value) and to the totals.
 * - Dimensions: `*_workload` is the first workload's name, else the pod name; `policy` is `name@generation`;
 *   `dns_query` / `dns_rcode` are those of `l7.dns`, `http_method` / `http_status_code` / `http_path` the
 *   `method` / `code` / `url` (path key) of `l7.http` (null for summaries without them).
 * - Groups are sorted by `orderBy` descending, ties by the key's JSON ascending; `top` keeps the first N.
 *   `groupCount` is the number of groups before the cut.
 */
import type { FlowEndpoint, FlowGroup, FlowGroupKey, FlowRecord, FlowSums } from '../../openapi/types.js';

export type GroupValue = string | number | null;
export type OrderBy = 'packets' | 'bytes' | 'flows' | 'summaries';

const workloadOf = (ep: FlowEndpoint): string | null => ep.workloads?.[0]?.name ?? ep.pod_name ?? null;

export const GROUP_DIMENSIONS: Record<FlowGroupKey, (r: FlowRecord) => GroupValue> = {
  cluster: (r) => r.cluster,
  node_name: (r) => r.node_name,
  source_namespace: (r) => r.flow.source.namespace ?? null,
  destination_namespace: (r) => r.flow.destination.namespace ?? null,
  source_workload: (r) => workloadOf(r.flow.source),
  destination_workload: (r) => workloadOf(r.flow.destination),
  source_identity: (r) => r.flow.source.identity,
  destination_identity: (r) => r.flow.destination.identity,
  destination_port: (r) => r.flow.l4.destination_port ?? null,
  protocol: (r) => r.flow.l4.protocol,
  verdict: (r) => r.flow.verdict,
  drop_reason_desc: (r) => r.flow.drop_reason_desc ?? null,
  traffic_direction: (r) => r.flow.traffic_direction,
  policy: (r) => (r.flow.policy ? `${r.flow.policy.name}@${r.flow.policy.revision}` : null),
  dns_query: (r) => r.flow.l7?.dns?.query ?? null,
  dns_rcode: (r) => r.flow.l7?.dns?.rcode ?? null,
  http_method: (r) => r.flow.l7?.http?.method ?? null,
  http_status_code: (r) => r.flow.l7?.http?.code ?? null,
  http_path: (r) => r.flow.l7?.http?.url ?? null,
};

export const emptySums = (): FlowSums => ({ packets: 0, bytes: 0, flows: 0, summaries: 0 });

export function addToSums(sums: FlowSums, record: FlowRecord): void {
  sums.packets += record.flow.packets;
  sums.bytes += record.flow.bytes;
  sums.flows += record.flow.flows;
  sums.summaries += 1;
}

export function addSums(sums: FlowSums, more: FlowSums): void {
  sums.packets += more.packets;
  sums.bytes += more.bytes;
  sums.flows += more.flows;
  sums.summaries += more.summaries;
}

/** An aggregator's state as plain data (it crosses threads): groups by key, and totals. */
export interface AggregationPart {
  groups: Array<[key: string, values: GroupValue[], sums: FlowSums]>;
  totals: FlowSums;
}

/**
 * Accumulates records one at a time (reads are chunked), then yields the sorted, cut groups. Aggregators
 * over disjoint parts of the records merge (`part` → `merge`) into what one aggregator over all would hold.
 */
export class FlowAggregator {
  private readonly groups = new Map<string, { values: GroupValue[]; sums: FlowSums }>();
  readonly totals = emptySums();

  constructor(private readonly groupBy: readonly FlowGroupKey[]) {}

  part(): AggregationPart {
    return { groups: [...this.groups].map(([key, g]) => [key, g.values, g.sums]), totals: { ...this.totals } };
  }

  merge(part: AggregationPart): void {
    for (const [key, values, sums] of part.groups) {
      const group = this.groups.get(key);
      if (group) addSums(group.sums, sums);
      else this.groups.set(key, { values, sums: { ...sums } });
    }
    addSums(this.totals, part.totals);
  }

  add(record: FlowRecord): void {
    const values = this.groupBy.map((dimension) => GROUP_DIMENSIONS[dimension](record));
    const key = JSON.stringify(values);
    let group = this.groups.get(key);
    if (!group) {
      group = { values, sums: emptySums() };
      this.groups.set(key, group);
    }
    addToSums(group.sums, record);
    addToSums(this.totals, record);
  }

  result(orderBy: OrderBy, top?: number): { groups: FlowGroup[]; groupCount: number; totals: FlowSums } {
    const sorted = [...this.groups.entries()].sort(([ka, a], [kb, b]) => b.sums[orderBy] - a.sums[orderBy] || (ka < kb ? -1 : ka > kb ? 1 : 0));
    const cut = top === undefined ? sorted : sorted.slice(0, top);
    return {
      groups: cut.map(([, g]) => ({ key: Object.fromEntries(this.groupBy.map((d, i) => [d, g.values[i] ?? null])), ...g.sums })),
      groupCount: this.groups.size,
      totals: { ...this.totals },
    };
  }
}

/** Convenience over an array (tests, small inputs). */
export function aggregateFlows(records: Iterable<FlowRecord>, groupBy: readonly FlowGroupKey[], orderBy: OrderBy = 'bytes', top?: number) {
  const aggregator = new FlowAggregator(groupBy);
  for (const record of records) aggregator.add(record);
  return aggregator.result(orderBy, top);
}
