/**
 * A small dual-stack cluster for the compiler's tests (web-9@other has IPv4 only), and a renderer
 * that turns CompiledState into readable lines (identities by pod name, rules by policy + pointer)
 * so given/want tables stay legible.
 */
import type { BundledPolicy, NetworkPolicySpec } from '../../../openapi/types.js';
import { Direction, IpProto, PolicyVerdict, ProxyKind, ReservedIdentity } from '../kernel/identities.js';
import type { CompiledState, CompileInput, LocalEndpoint, PeerEndpoint } from './types.js';

export const LOCAL: LocalEndpoint[] = [
  { ifindex: 11, podName: 'web-1', namespace: 'shop', labels: { app: 'web', 'pod-template-hash': 'a1' }, serviceAccount: 'web-sa', ip: '10.0.1.1', ips: ['10.0.1.1', 'fd00:10::1:1'], workload: { kind: 'Deployment', name: 'web' } },
  { ifindex: 12, podName: 'db-1', namespace: 'shop', labels: { app: 'db' }, serviceAccount: 'db-sa', ip: '10.0.1.2', ips: ['10.0.1.2', 'fd00:10::1:2'], workload: { kind: 'StatefulSet', name: 'db' } },
];

export const PEERS: PeerEndpoint[] = [
  { ip: '10.0.1.1', ips: ['10.0.1.1', 'fd00:10::1:1'], podName: 'web-1', namespace: 'shop', labels: { app: 'web', 'pod-template-hash': 'a1' }, serviceAccount: 'web-sa', nodeName: 'n1', workload: { kind: 'Deployment', name: 'web' } },
  { ip: '10.0.1.3', ips: ['10.0.1.3', 'fd00:10::1:3'], podName: 'web-2', namespace: 'shop', labels: { app: 'web', 'pod-template-hash': 'b2' }, serviceAccount: 'web-sa', nodeName: 'n2', workload: { kind: 'Deployment', name: 'web' } },
  { ip: '10.0.1.2', ips: ['10.0.1.2', 'fd00:10::1:2'], podName: 'db-1', namespace: 'shop', labels: { app: 'db' }, serviceAccount: 'db-sa', nodeName: 'n1', workload: { kind: 'StatefulSet', name: 'db' } },
  { ip: '10.0.2.1', ips: ['10.0.2.1', 'fd00:10::2:1'], podName: 'client-1', namespace: 'other', labels: { app: 'client' }, nodeName: 'n2' },
  { ip: '10.0.2.2', podName: 'web-9', namespace: 'other', labels: { app: 'web' }, nodeName: 'n2' },
];

export const NAMESPACE_LABELS = { other: { team: 'blue' }, shop: { team: 'red' } };

export function policy(name: string, spec: NetworkPolicySpec, o: { generation?: number; mode?: 'enforce' | 'audit' } = {}): BundledPolicy {
  return { name, generation: o.generation ?? 1, mode: o.mode ?? spec.mode ?? 'enforce', spec };
}

export function input(policies: BundledPolicy[], o: Partial<CompileInput> = {}): CompileInput {
  return {
    bundle: { clusterId: 'c1', policies },
    endpoints: LOCAL,
    peers: PEERS,
    namespaceLabels: NAMESPACE_LABELS,
    nodes: [{ name: 'n1', ips: ['192.168.0.1', 'fd00:192::1'], local: true }, { name: 'n2', ips: ['192.168.0.2', 'fd00:192::2'] }],
    ...o,
  };
}

const PROTO: Record<number, string> = { [IpProto.any]: 'any', [IpProto.tcp]: 'tcp', [IpProto.udp]: 'udp', [IpProto.icmp]: 'icmp', [IpProto.icmpv6]: 'icmpv6' };
const VERDICT: Record<number, string> = { [PolicyVerdict.allow]: 'allow', [PolicyVerdict.deny]: 'deny', [PolicyVerdict.auditDeny]: 'audit-deny' };

export interface Rendered {
  endpoints: string[];
  policy: string[];
  ipcache: string[];
  degraded: string[];
  /** only with the DNS proxy: `local peers proto/port: allows` (peers `*` or names joined by +; rule as policy+pointer) */
  dnsRules?: string[];
  /** only with the HTTP proxy: `local peers tcp/port: set; set` (a set: its rules' JSON, ` (audit)`, the rule) */
  httpRules?: string[];
}

const PROXY: Record<number, string> = { [ProxyKind.dns]: 'dns', [ProxyKind.http]: 'http' };

/** Names: workload identity → `app@namespace` (from labels), reserved → its name, cidr → the prefix, 0 → `*`. */
export function render(state: CompiledState): Rendered {
  const name = new Map<number, string>([[ReservedIdentity.any, '*']]);
  for (const i of state.identities) {
    if (i.kind === 'reserved') name.set(i.id, (i.labels[0] ?? '').replace(/^reserved:|=$/g, ''));
    else if (i.kind === 'cidr') name.set(i.id, i.fqdnNames ? `fqdn:${i.cidr ?? ''}` : `cidr:${i.cidr ?? ''}`);
    else {
      const app = i.labels.find((l) => l.startsWith('k8s:app='))?.slice('k8s:app='.length) ?? '?';
      name.set(i.id, `${app}@${i.namespace ?? '?'}`);
    }
  }
  const n = (id: number): string => name.get(id) ?? String(id);
  const rule = new Map(state.rules.map((r) => [r.ruleId, `${r.policy}${r.pointer}`]));
  const dir = (d: number): string => (d === Direction.ingress ? 'in' : 'out');
  const l4 = (proto: number, port: number, plen: number): string =>
    proto === 0 ? 'any' : plen === 0 ? `${PROTO[proto] ?? proto}` : plen === 16 ? `${PROTO[proto] ?? proto}/${port}` : `${PROTO[proto] ?? proto}/${port}/${plen}`;
  return {
    endpoints: state.endpoints.map((e) => {
      const flags = [e.defaultDenyIngress && 'deny-in', e.defaultDenyEgress && 'deny-out', e.auditIngress && 'audit-in', e.auditEgress && 'audit-out'].filter(Boolean);
      return `${e.ifindex} ${n(e.identity)}${flags.length ? ' ' + flags.join(',') : ''}`;
    }),
    policy: state.policy.map((p) => `${n(p.localId)} ${dir(p.direction)} ${n(p.peerId)} ${l4(p.proto, p.port, p.portPrefixLen)} ${VERDICT[p.verdict]} ${rule.get(p.ruleId) ?? p.ruleId}${p.proxy ? ` proxy:${PROXY[p.proxy] ?? p.proxy}` : ''}`),
    ipcache: state.ipcache.map((e) => `${e.cidr} ${n(e.identity)}`),
    degraded: state.degraded.map((d) => `${d.policy}${d.pointer}: ${d.reason}`),
    ...(state.dnsRules
      ? {
          dnsRules: state.dnsRules.map(
            (e) =>
              `${n(e.localId)} ${e.peers === 'any' ? '*' : e.peers.map(n).join('+')} ${l4(e.proto, e.port, 16)}: ${e.allow
                .map((a) => `${[a.matchName, a.matchPattern].filter((x) => x !== undefined).join('|')}${a.audit ? ' (audit)' : ''} ${rule.get(a.ruleId) ?? a.ruleId}`)
                .join(', ')}`,
          ),
        }
      : {}),
    ...(state.httpRules
      ? {
          httpRules: state.httpRules.map(
            (e) =>
              `${n(e.localId)} ${e.direction === Direction.ingress ? 'in ' : ''}${e.peers === 'any' ? '*' : e.peers.map(n).join('+')} ${l4(e.proto, e.port, 16)}: ${e.rules
                .map((r) => `${JSON.stringify(r.http)}${r.audit ? ' (audit)' : ''} ${rule.get(r.ruleId) ?? r.ruleId}`)
                .join('; ')}`,
          ),
        }
      : {}),
  };
}
