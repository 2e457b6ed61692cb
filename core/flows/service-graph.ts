/**
 * The service dependency graph of flow records: workloads are nodes, observed traffic are edges.
 *
 * Contracts:
 * - An endpoint's node id is `cluster/namespace/workload` where cluster is the endpoint's `cluster_name`
 *   (else the reporting cluster) and workload the first workload's name, else the pod name, else
 *   `identity:<n>`; an endpoint without namespace (world, host, remote node …) is `cluster/reserved:<identity>`.
 * - One edge per (source node, destination node): sums of packets, bytes, flows, summaries, sums per
 *   verdict, and the `PROTOCOL/port` strings seen (`PROTOCOL` alone without a port), sorted.
 * - Nodes sorted by id, edges by source then destination: the output is deterministic.
 */
import type { FlowEndpoint, FlowRecord, FlowSums, ServiceGraph, ServiceGraphEdge, ServiceGraphNode } from '../../openapi/types.js';
import { addToSums, emptySums } from './aggregate-flows.js';

type Verdict = 'FORWARDED' | 'DROPPED' | 'AUDIT';

export function graphNodeOf(ep: FlowEndpoint, reportingCluster: string): Omit<ServiceGraphNode, 'identities'> {
  const cluster = ep.cluster_name || reportingCluster;
  if (!ep.namespace) return { id: `${cluster}/reserved:${ep.identity}`, cluster, workload: `reserved:${ep.identity}` };
  const first = ep.workloads?.[0];
  const workload = first?.name ?? ep.pod_name ?? `identity:${ep.identity}`;
  return { id: `${cluster}/${ep.namespace}/${workload}`, cluster, namespace: ep.namespace, workload, ...(first ? { kind: first.kind } : {}) };
}

export class ServiceGraphBuilder {
  private readonly nodes = new Map<string, { node: Omit<ServiceGraphNode, 'identities'>; identities: Set<number> }>();
  private readonly edges = new Map<string, { source: string; destination: string; sums: FlowSums; verdicts: Partial<Record<Verdict, FlowSums>>; ports: Set<string> }>();

  add(record: FlowRecord): void {
    const source = this.node(record.flow.source, record.cluster);
    const destination = this.node(record.flow.destination, record.cluster);
    const key = `${source}\u0000${destination}`;
    let edge = this.edges.get(key);
    if (!edge) {
      edge = { source, destination, sums: emptySums(), verdicts: {}, ports: new Set() };
      this.edges.set(key, edge);
    }
    addToSums(edge.sums, record);
    const verdict = record.flow.verdict;
    addToSums((edge.verdicts[verdict] ??= emptySums()), record);
    const port = record.flow.l4.destination_port;
    edge.ports.add(port === undefined ? record.flow.l4.protocol : `${record.flow.l4.protocol}/${port}`);
  }

  result(): Omit<ServiceGraph, 'coverage'> {
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const nodes: ServiceGraphNode[] = [...this.nodes.values()].map(({ node, identities }) => ({ ...node, identities: [...identities].sort((a, b) => a - b) })).sort(byId);
    const edges: ServiceGraphEdge[] = [...this.edges.values()]
      .map((e) => ({ source: e.source, destination: e.destination, ...e.sums, verdicts: e.verdicts, ports: [...e.ports].sort() }))
      .sort((a, b) => byId({ id: `${a.source}\u0000${a.destination}` }, { id: `${b.source}\u0000${b.destination}` }));
    return { nodes, edges };
  }

  private node(ep: FlowEndpoint, cluster: string): string {
    const node = graphNodeOf(ep, cluster);
    let entry = this.nodes.get(node.id);
    if (!entry) {
      entry = { node, identities: new Set() };
      this.nodes.set(node.id, entry);
    }
    entry.identities.add(ep.identity);
    return node.id;
  }
}

export function buildServiceGraph(records: Iterable<FlowRecord>): Omit<ServiceGraph, 'coverage'> {
  const builder = new ServiceGraphBuilder();
  for (const record of records) builder.add(record);
  return builder.result();
}
