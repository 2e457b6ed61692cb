/**
 * Pure: Kubernetes Pod/Namespace objects → compiler endpoint inputs.
 * A pod is an endpoint when it has an IPv4 pod IP, is not hostNetwork (those are the node's `host`
 * identity) and is not finished (Succeeded/Failed). Workload: the controlling owner, with a
 * ReplicaSet carrying `pod-template-hash` reported as its Deployment (Hubble does the same).
 */
import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import type { ClusterNode, PeerEndpoint, Workload } from './types.js';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function podIpv4(pod: V1Pod): string | undefined {
  const ips = [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)];
  return ips.find((ip): ip is string => typeof ip === 'string' && IPV4.test(ip));
}

export function isEndpointPod(pod: V1Pod): boolean {
  if (pod.spec?.hostNetwork) return false;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (pod.metadata?.deletionTimestamp && phase !== 'Running') return false;
  return podIpv4(pod) !== undefined;
}

export function podWorkload(pod: V1Pod): Workload | undefined {
  const owner = (pod.metadata?.ownerReferences ?? []).find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return undefined;
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
  }
  return { kind: owner.kind, name: owner.name };
}

export function podToPeer(pod: V1Pod): PeerEndpoint | undefined {
  if (!isEndpointPod(pod)) return undefined;
  const workload = podWorkload(pod);
  const sa = pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount;
  return {
    ip: podIpv4(pod)!,
    podName: pod.metadata?.name ?? '',
    namespace: pod.metadata?.namespace ?? 'default',
    labels: { ...(pod.metadata?.labels ?? {}) },
    ...(sa ? { serviceAccount: sa } : {}),
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    ...(workload ? { workload } : {}),
  };
}

/** A Node's IPv4 InternalIP/ExternalIP addresses; `local` when it is the agent's node. */
export function nodeToClusterNode(node: V1Node, localName: string): ClusterNode | undefined {
  const name = node.metadata?.name;
  if (!name) return undefined;
  const ips = (node.status?.addresses ?? [])
    .filter((a) => (a.type === 'InternalIP' || a.type === 'ExternalIP') && IPV4.test(a.address))
    .map((a) => a.address);
  return { name, ips: [...new Set(ips)].sort(), ...(name === localName ? { local: true } : {}) };
}

export function namespaceLabelsOf(namespaces: readonly V1Namespace[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const ns of namespaces) if (ns.metadata?.name) out[ns.metadata.name] = { ...(ns.metadata.labels ?? {}) };
  return out;
}
