/**
 * What identity sources produce: the compiler's endpoint inputs. The endpoint shapes are defined once,
 * in agent/src/compile/types.ts (a type-only import: sources do not load the compiler).
 */
import type { ClusterNode, LocalEndpoint, PeerEndpoint } from '../compile/types.js';

export type { ClusterNode, LocalEndpoint, PeerEndpoint, Workload } from '../compile/types.js';

export interface EndpointSnapshot {
  endpoints: LocalEndpoint[];
  peers: PeerEndpoint[];
  /** namespace → labels */
  namespaceLabels: Record<string, Record<string, string>>;
  nodes: ClusterNode[];
  /** addresses of the kube-apiserver (both families); empty = unknown */
  kubeApiserver: string[];
}

/** Resolves a local pod's primary IP (either family) to the ifindex of its host-side veth; undefined when not routable (yet). */
export type IfindexResolver = (podIp: string) => Promise<number | undefined>;

export interface EndpointSource {
  /** the latest complete snapshot (after start resolved) */
  snapshot(): EndpointSnapshot;
  /** resolves once the first complete snapshot exists */
  start(): Promise<void>;
  stop(): Promise<void>;
}
