/**
 * Pure: Kubernetes Pod/Namespace/Node/EndpointSlice objects → compiler endpoint inputs.
 * A pod is an endpoint when it has a pod IP of either family (`status.podIPs`, `status.podIP`), is
 * not hostNetwork (those are the node's `host` identity) and is not finished (Succeeded/Failed).
 * Its primary address (`ip`) is the IPv4 one when it has one, else the IPv6 one; `ips` lists every
 * address in the API's order. Workload: the controlling owner, with a ReplicaSet carrying
 * `pod-template-hash` reported as its Deployment (Hubble does the same).
 */
import type { V1EndpointSlice, V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { parsePrefix } from '../../../core/policy/rules/cidr.js';
import { compareAddressTexts } from '../../../core/policy/rules/ip-prefix.js';
import type { ClusterNode, PeerEndpoint, Workload } from './types.js';

/** 4 or 6 for a bare address of that family, undefined for anything else. */
export function addressFamily(text: string): 4 | 6 | undefined {
  if (text.includes('/')) return undefined;
  const p = parsePrefix(text);
  return typeof p === 'string' ? undefined : p.family;
}

/** The pod's addresses (podIPs, then podIP when missing from them), and its primary one. */
export function podAddresses(pod: V1Pod): { ip: string; ips: string[] } | undefined {
  const all = [...(pod.status?.podIPs ?? []).map((p) => p.ip), pod.status?.podIP];
  const ips = [...new Set(all.filter((ip): ip is string => typeof ip === 'string' && addressFamily(ip) !== undefined))];
  const ip = ips.find((a) => addressFamily(a) === 4) ?? ips[0];
  return ip === undefined ? undefined : { ip, ips };
}

export function isEndpointPod(pod: V1Pod): boolean {
  if (pod.spec?.hostNetwork) return false;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (pod.metadata?.deletionTimestamp && phase !== 'Running') return false;
  return podAddresses(pod) !== undefined;
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
  const addresses = podAddresses(pod)!;
  const workload = podWorkload(pod);
  const sa = pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount;
  return {
    ip: addresses.ip,
    ips: addresses.ips,
    podName: pod.metadata?.name ?? '',
    namespace: pod.metadata?.namespace ?? 'default',
    labels: { ...(pod.metadata?.labels ?? {}) },
    ...(sa ? { serviceAccount: sa } : {}),
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    ...(workload ? { workload } : {}),
  };
}

/** A Node's InternalIP/ExternalIP addresses of both families (IPv4 first); `local` when it is the
 *  agent's node. */
export function nodeToClusterNode(node: V1Node, localName: string): ClusterNode | undefined {
  const name = node.metadata?.name;
  if (!name) return undefined;
  const ips = (node.status?.addresses ?? [])
    .filter((a) => (a.type === 'InternalIP' || a.type === 'ExternalIP') && addressFamily(a.address) !== undefined)
    .map((a) => a.address);
  return { name, ips: [...new Set(ips)].sort(compareAddressTexts), ...(name === localName ? { local: true } : {}) };
}

/** Addresses of the kube-apiserver from the `default/kubernetes` EndpointSlices: every address of
 *  an endpoint whose `conditions.ready` is not false (unset means ready), in slices of addressType
 *  IPv4 or IPv6; deduplicated, IPv4 first. */
export function kubeApiserverAddresses(slices: readonly V1EndpointSlice[]): string[] {
  const out = new Set<string>();
  for (const s of slices) {
    if (s.addressType !== 'IPv4' && s.addressType !== 'IPv6') continue;
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const a of e.addresses ?? []) if (addressFamily(a) !== undefined) out.add(a);
    }
  }
  return [...out].sort(compareAddressTexts);
}

export function namespaceLabelsOf(namespaces: readonly V1Namespace[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const ns of namespaces) if (ns.metadata?.name) out[ns.metadata.name] = { ...(ns.metadata.labels ?? {}) };
  return out;
}
