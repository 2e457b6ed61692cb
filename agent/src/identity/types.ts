/**
 * What identity sources produce: the compiler's endpoint inputs (field names of
 * agent/src/compile/types.ts LocalEndpoint / PeerEndpoint, repeated structurally here so sources do
 * not depend on the compiler's module).
 */
export interface Workload {
  name: string;
  kind: string;
}

export interface LocalEndpoint {
  ifindex: number;
  podName: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  ip: string;
  workload?: Workload;
}

export interface PeerEndpoint {
  ip: string;
  podName: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  nodeName?: string;
  workload?: Workload;
}

/** A node of the cluster: its addresses are the `host` identity (this node) or `remote-node`. */
export interface ClusterNode {
  name: string;
  ips: string[];
  local?: boolean;
}

export interface EndpointSnapshot {
  endpoints: LocalEndpoint[];
  peers: PeerEndpoint[];
  /** namespace → labels */
  namespaceLabels: Record<string, Record<string, string>>;
  nodes: ClusterNode[];
}

/** Resolves a local pod's IP to the ifindex of its host-side veth; undefined when not routable (yet). */
export type IfindexResolver = (podIp: string) => Promise<number | undefined>;

export interface EndpointSource {
  /** the latest complete snapshot (after start resolved) */
  snapshot(): EndpointSnapshot;
  /** resolves once the first complete snapshot exists */
  start(): Promise<void>;
  stop(): Promise<void>;
}
