/**
 * The service dependency graph of flow records: workloads are nodes, observed traffic are edges.
 *
 * Contracts:
 * - An endpoint's node id is `cluster/namespace/workload` where cluster is the endpoint's `cluster_name`
 *   (else the reporting cluster) and workload the first workload's name, else the pod name, else
 *   `identity:<n>`; an endpoint without namespace (world, host, remote node …) is `cluster/fqdn:<name>` when
 *   the summary names it (`source_names` / `destination_names`, e.g. an address learned from DNS: the first
 *   name in sort order, lower case, no trailing dot), else `cluster/reserved:<identity>`. Names never
 *   change the node of an endpoint with a namespace.
 * - One edge per (source node, destination node): sums of packets, bytes, flows, summaries, sums per
 *   verdict, and the `PROTOCOL/port` strings seen (`PROTOCOL` alone without a port), sorted.
 * - Nodes sorted by id, edges by source then destination: the output is deterministic.
 */
import type { FlowEndpoint, FlowRecord, FlowSums, ServiceGraph, ServiceGraphEdge, ServiceGraphNode } from '../../openapi/types.js';
import { addSums, addToSums, emptySums } from './aggregate-flows.js';

type Verdict = 'FORWARDED' | 'DROPPED' | 'AUDIT';

/** A builder's state as plain data (it crosses threads). */
export interface ServiceGraphPart {
  nodes: Array<{ node: Omit<ServiceGraphNode, 'identities'>; identities: number[] }>;
  edges: Array<{ source: string; destination: string; sums: FlowSums; verdicts: Partial<Record<Verdict, FlowSums>>; ports: string[] }>;
}
/** The same state while building: sets where the part has arrays. */
type GraphNodeEntry = Omit<ServiceGraphPart['nodes'][number], 'identities'> & { identities: Set<number> };
type GraphEdgeEntry = Omit<ServiceGraphPart['edges'][number], 'ports'> & { ports: Set<string> };

export function graphNodeOf(ep: FlowEndpoint, reportingCluster: string, names?: readonly string[]): Omit<ServiceGraphNode, 'identities'> {
  const cluster = ep.cluster_name || reportingCluster;
  if (!ep.namespace) {
    const name = externalName(names);
    if (name !== undefined) return { id: `${cluster}/fqdn:${name}`, cluster, workload: `fqdn:${name}` };
    return { id: `${cluster}/reserved:${ep.identity}`, cluster, workload: `reserved:${ep.identity}` };
  }
  const first = ep.workloads?.[0];
  const workload = first?.name ?? ep.pod_name ?? `identity:${ep.identity}`;
  return { id: `${cluster}/${ep.namespace}/${workload}`, cluster, namespace: ep.namespace, workload, ...(first ? { kind: first.kind } : {}) };
}

/** The name an external peer is shown by: the first of its names (lower case, no trailing dot) in sort order. */
function externalName(names: readonly string[] | undefined): string | undefined {
  const canonical = (names ?? []).map((n) => n.toLowerCase().replace(/\.+$/, '')).filter((n) => n.length > 0);
  return canonical.length === 0 ? undefined : canonical.sort()[0];
}

/** Builders over disjoint parts of the records merge (`part` → `merge`) into what one builder over all would hold. */
export class ServiceGraphBuilder {
  private readonly nodes = new Map<string, GraphNodeEntry>();
  private readonly edges = new Map<string, GraphEdgeEntry>();

  part(): ServiceGraphPart {
    return {
      nodes: [...this.nodes.values()].map(({ node, identities }) => ({ node, identities: [...identities] })),
      edges: [...this.edges.values()].map((e) => ({ ...e, ports: [...e.ports] })),
    };
  }

  merge(part: ServiceGraphPart): void {
    for (const { node, identities } of part.nodes) {
      const entry = this.nodeEntry(node);
      for (const identity of identities) entry.identities.add(identity);
    }
    for (const { source, destination, sums, verdicts, ports } of part.edges) {
      const edge = this.edgeEntry(source, destination);
      addSums(edge.sums, sums);
      for (const [verdict, more] of Object.entries(verdicts) as Array<[Verdict, FlowSums]>) addSums((edge.verdicts[verdict] ??= emptySums()), more);
      for (const port of ports) edge.ports.add(port);
    }
  }

  add(record: FlowRecord): void {
    const source = this.node(record.flow.source, record.cluster, record.flow.source_names);
    const destination = this.node(record.flow.destination, record.cluster, record.flow.destination_names);
    const edge = this.edgeEntry(source, destination);
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

  private node(ep: FlowEndpoint, cluster: string, names: readonly string[] | undefined): string {
    const node = graphNodeOf(ep, cluster, names);
    this.nodeEntry(node).identities.add(ep.identity);
    return node.id;
  }

  private nodeEntry(node: Omit<ServiceGraphNode, 'identities'>): GraphNodeEntry {
    let entry = this.nodes.get(node.id);
    if (!entry) {
      entry = { node, identities: new Set() };
      this.nodes.set(node.id, entry);
    }
    return entry;
  }

  private edgeEntry(source: string, destination: string): GraphEdgeEntry {
    const key = `${source}\u0000${destination}`;
    let edge = this.edges.get(key);
    if (!edge) {
      edge = { source, destination, sums: emptySums(), verdicts: {}, ports: new Set() };
      this.edges.set(key, edge);
    }
    return edge;
  }
}

export function buildServiceGraph(records: Iterable<FlowRecord>): Omit<ServiceGraph, 'coverage'> {
  const builder = new ServiceGraphBuilder();
  for (const record of records) builder.add(record);
  return builder.result();
}
