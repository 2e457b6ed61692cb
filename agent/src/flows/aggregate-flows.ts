/**
 * Pure: kernel flow records (one per fn_flows key, summed over CPUs) → Hubble-shaped FlowSummary
 * records for one window.
 *
 * Field mapping (FlowRecord → FlowSummary):
 *   direction egress  → traffic_direction EGRESS,  source = local endpoint, destination = peer
 *   direction ingress → traffic_direction INGRESS, source = peer, destination = local endpoint
 *   verdict forwarded → FORWARDED; dropped → DROPPED; audit → AUDIT (would have dropped, passed)
 *   DROPPED/AUDIT drop_reason_desc (Hubble flow.proto DropReason names), by dropReason:
 *     policy                 → ruleId 0: POLICY_DENIED (133, default deny: nothing allowed it),
 *                              ruleId ≠ 0: POLICY_DENY (181, a deny rule matched)
 *     ctInsertFailed         → CT_MAP_INSERTION_FAILED (155, conntrack table full)
 *     invalidExtensionHeader → INVALID_IPV6_EXTENSION_HEADER (156)
 *     unsupportedL3          → UNSUPPORTED_L3_PROTOCOL (139)
 *     noProxy                → PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL (180, the DNS proxy a
 *                              policy redirects to is not running, or the packet is a fragment)
 *   ruleId ≠ 0 → policy {name, revision = the policy's generation} through the compiler's rule table —
 *     only when policy decided the verdict (dropReason policy): a packet dropped for another reason
 *     names no policy, even if a rule had allowed it
 *   ipVersion 4/6 → IP.ipVersion IPv4/IPv6; records of different versions never merge. ipVersion 0
 *     (dropReason unsupportedL3: neither IPv4 nor IPv6) → no IP, as in Hubble (IP_NOT_USED).
 *   IP.source / IP.destination: the endpoint's address only when it is exact — its identity has exactly
 *     one pod and that pod exactly one address of the record's version (IdentityInfo.ips); never a guess
 *   proto 6/17/1/58/132/other → l4.protocol TCP/UDP/ICMPv4/ICMPv6/SCTP/OTHER, dport →
 *     l4.destination_port (ICMP and ICMPv6: the type)
 *   first/last seen: CLOCK_MONOTONIC(_COARSE) ns → wall clock through ctx.monotonicToWallMs
 *   the peer's IdentityInfo.names (an FQDN identity's learned names) → destination_names (egress) /
 *     source_names (ingress): lower case, no trailing dot (as Hubble prints them), sorted, at most 16 —
 *     what the FlowFilter's destination_fqdn / source_fqdn match
 *
 * Replies (kernel verdict 4). policy.c counts a reply packet on the hook it crosses, i.e. with the
 * direction OPPOSITE to the connection's, with the connection's local/peer identities and its
 * destination port, and with rule id 0 (the reply path does not carry attribution). Decision: a reply
 * is counted as FORWARDED traffic of the ORIGINAL connection's key — direction flipped back, so
 * source/destination are the connection's initiator/responder (like a Hubble flow with is_reply
 * folded in) — and it takes the policy of that connection when this window holds exactly one
 * forwarded/audited record of the same (local, peer, proto, port, direction); otherwise it carries no
 * policy. Replies never add to `flows` (connections are counted once, by the request side).
 *
 * Summaries with identical output fields are merged (e.g. two rules of one policy), so the sums of
 * packets/bytes/flows over the result equal the sums over the input exactly.
 */
import type { FlowEndpoint, FlowSummary } from '../../../openapi/types.js';
import { Direction, FlowDropReason, FlowVerdict, IpProto, ReservedIdentity } from '../kernel/identities.js';
import type { FlowRecord, FlowRecordSource } from '../kernel/codecs.js';

export interface IdentityInfo {
  /** `key=value` map (k8s labels of the identity, namespace labels included as the compiler chose) */
  labels: Record<string, string> | readonly string[];
  namespace?: string;
  /** pods that carry this identity (pod_name is set when there is exactly one) */
  pods?: readonly string[];
  workloads?: readonly { name: string; kind: string }[];
  /** addresses of the identity's pods (both families); used only when there is exactly one pod */
  ips?: readonly string[];
  /** DNS names an FQDN identity was learned for (the compiler's fqdnNames); set on the flows to this peer */
  names?: readonly string[];
}

export interface AggregateContext {
  clusterName?: string;
  /** ruleId → fleet policy */
  rule(ruleId: number): { policy: string; generation: number } | undefined;
  identity(id: number): IdentityInfo | undefined;
  /** CLOCK_MONOTONIC ns → ms since the epoch */
  monotonicToWallMs(ns: number): number;
}

const RESERVED_NAMES = new Map<number, string>(Object.entries(ReservedIdentity).map(([name, id]) => [id, name === 'remoteNode' ? 'remote-node' : name === 'kubeApiserver' ? 'kube-apiserver' : name === 'worldIpv4' ? 'world-ipv4' : name === 'worldIpv6' ? 'world-ipv6' : name]));

const PROTOCOLS = new Map<number, FlowSummary['l4']['protocol']>([
  [IpProto.tcp, 'TCP'],
  [IpProto.udp, 'UDP'],
  [IpProto.icmp, 'ICMPv4'],
  [IpProto.icmpv6, 'ICMPv6'],
  [132, 'SCTP'],
]);

const DROP_REASONS = new Map<number, string>([
  [FlowDropReason.ctInsertFailed, 'CT_MAP_INSERTION_FAILED'],
  [FlowDropReason.invalidExtensionHeader, 'INVALID_IPV6_EXTENSION_HEADER'],
  [FlowDropReason.unsupportedL3, 'UNSUPPORTED_L3_PROTOCOL'],
  [FlowDropReason.noProxy, 'PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL'],
]);

/** Hubble drop reason name of a DROPPED/AUDIT record (unknown kernel reasons → DROP_REASON_UNKNOWN). */
function dropReasonName(r: FlowRecord, ruleId: number): string {
  if (r.dropReason === FlowDropReason.policy) return ruleId === 0 ? 'POLICY_DENIED' : 'POLICY_DENY';
  return DROP_REASONS.get(r.dropReason) ?? 'DROP_REASON_UNKNOWN';
}

const isV6 = (address: string): boolean => address.includes(':');

/** The identity's address of that version when it is exact: one pod, one address of the version. */
export function exactAddress(info: IdentityInfo | undefined, ipVersion: 4 | 6): string | undefined {
  if (!info?.ips || info.pods?.length !== 1) return undefined;
  const candidates = info.ips.filter((a) => isV6(a) === (ipVersion === 6));
  return candidates.length === 1 ? candidates[0] : undefined;
}

function ipOf(r: FlowRecord, sourceId: number, destinationId: number, ctx: AggregateContext): FlowSummary['IP'] | undefined {
  const version = r.ipVersion;
  if (version !== 4 && version !== 6) return undefined;
  const source = exactAddress(ctx.identity(sourceId), version);
  const destination = exactAddress(ctx.identity(destinationId), version);
  return {
    ...(source !== undefined ? { source } : {}),
    ...(destination !== undefined ? { destination } : {}),
    ipVersion: version === 6 ? 'IPv6' : 'IPv4',
  };
}

/** Hubble-style label strings: `k8s:key=value`; entries that already carry a source (`reserved:`, `cidr:`, `k8s:`) stay. */
export function formatLabels(labels: IdentityInfo['labels']): string[] {
  const list = Array.isArray(labels)
    ? [...(labels as readonly string[])]
    : Object.entries(labels as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  return list.map((l) => (/^(k8s|reserved|cidr|fqdn|unspec|container):/.test(l) ? l : `k8s:${l}`)).sort().slice(0, 64);
}

export function describeEndpoint(id: number, ctx: Pick<AggregateContext, 'clusterName' | 'identity'>): FlowEndpoint {
  const reserved = RESERVED_NAMES.get(id);
  if (reserved !== undefined && id !== 0) return { identity: id, labels: [`reserved:${reserved}`] };
  const info = ctx.identity(id);
  if (!info) return { identity: id };
  const ep: FlowEndpoint = { identity: id };
  if (ctx.clusterName) ep.cluster_name = ctx.clusterName;
  if (info.namespace) ep.namespace = info.namespace;
  if (info.pods && info.pods.length === 1 && info.pods[0]) ep.pod_name = info.pods[0];
  ep.labels = formatLabels(info.labels);
  if (info.workloads && info.workloads.length > 0) ep.workloads = info.workloads.slice(0, 4).map((w) => ({ name: w.name, kind: w.kind }));
  return ep;
}

const MAX_NAMES = 16;

/** Hubble's `*_names` of a peer: lower case without the trailing dot (as Hubble prints them), sorted, at most 16. */
export function peerNames(info: IdentityInfo | undefined): string[] | undefined {
  if (!info?.names || info.names.length === 0) return undefined;
  const names = [...new Set(info.names.map((n) => n.toLowerCase().replace(/\.+$/, '')).filter((n) => n.length > 0 && n.length <= 255))].sort();
  return names.length === 0 ? undefined : names.slice(0, MAX_NAMES);
}

const flip = (d: number): number => (d === Direction.egress ? Direction.ingress : Direction.egress);
const connKey = (r: { localId: number; peerId: number; proto: number; dport: number; ipVersion: number }, dir: number) => `${r.localId}/${r.peerId}/${r.proto}/${r.dport}/${dir}/${r.ipVersion}`;

export function aggregateFlows(records: FlowRecordSource, ctx: AggregateContext): FlowSummary[] {
  // connection key → rule ids of forwarded/audited request-side records in this window
  const requestRules = new Map<string, Set<number>>();
  records.forEach((r) => {
    if (r.verdict !== FlowVerdict.forwarded && r.verdict !== FlowVerdict.audit) return;
    const k = connKey(r, r.direction);
    const set = requestRules.get(k) ?? new Set<number>();
    set.add(r.ruleId);
    requestRules.set(k, set);
  });

  const out = new Map<string, FlowSummary>();
  const firstNs = new Map<string, number>();
  const lastNs = new Map<string, number>();
  // `r` may be one reused object (FlowRecordView): nothing below keeps a reference to it.
  records.forEach((r) => {
    const isReply = r.verdict === FlowVerdict.reply;
    const direction = isReply ? flip(r.direction) : r.direction;
    let ruleId = r.ruleId;
    if (isReply) {
      const rules = requestRules.get(connKey(r, direction));
      ruleId = rules && rules.size === 1 ? [...rules][0]! : 0;
    }
    const verdict: FlowSummary['verdict'] =
      r.verdict === FlowVerdict.dropped ? 'DROPPED' : r.verdict === FlowVerdict.audit ? 'AUDIT' : 'FORWARDED';
    const local = describeEndpoint(r.localId, ctx);
    const peer = describeEndpoint(r.peerId, ctx);
    const egress = direction === Direction.egress;
    const protocol = PROTOCOLS.get(r.proto) ?? 'OTHER';
    const byPolicy = verdict === 'FORWARDED' || r.dropReason === FlowDropReason.policy;
    const rule = ruleId === 0 || !byPolicy ? undefined : ctx.rule(ruleId);
    const IP = ipOf(r, egress ? r.localId : r.peerId, egress ? r.peerId : r.localId, ctx);
    const names = peerNames(ctx.identity(r.peerId));
    const summary: FlowSummary = {
      source: egress ? local : peer,
      destination: egress ? peer : local,
      ...(IP ? { IP } : {}),
      l4: protocol === 'OTHER' ? { protocol } : { protocol, destination_port: r.dport },
      traffic_direction: egress ? 'EGRESS' : 'INGRESS',
      verdict,
      ...(verdict === 'FORWARDED' ? {} : { drop_reason_desc: dropReasonName(r, ruleId) }),
      ...(names ? (egress ? { destination_names: names } : { source_names: names }) : {}),
      ...(rule ? { policy: { name: rule.policy, revision: rule.generation } } : {}),
      packets: 0,
      bytes: 0,
      flows: 0,
    };
    const key = JSON.stringify([summary.source.identity, summary.destination.identity, summary.IP, summary.l4, summary.traffic_direction, verdict, summary.drop_reason_desc, summary.policy]);
    const acc = out.get(key) ?? summary;
    acc.packets += r.packets;
    acc.bytes += r.bytes;
    if (!isReply) acc.flows += r.flows;
    out.set(key, acc);
    if (r.packets > 0) {
      firstNs.set(key, Math.min(firstNs.get(key) ?? Number.POSITIVE_INFINITY, r.firstSeenNs));
      lastNs.set(key, Math.max(lastNs.get(key) ?? 0, r.lastSeenNs));
    }
  });
  for (const [key, s] of out) {
    const f = firstNs.get(key);
    const l = lastNs.get(key);
    if (f !== undefined) s.first_seen = new Date(ctx.monotonicToWallMs(f)).toISOString();
    if (l !== undefined) s.last_seen = new Date(ctx.monotonicToWallMs(l)).toISOString();
  }
  return [...out.values()];
}

/** CLOCK_MONOTONIC → wall clock, sampled once (process.hrtime is CLOCK_MONOTONIC on Linux, the clock
 *  bpf_ktime_get(_coarse)_ns reads). Coarse kernel stamps are up to one tick (≤ 4 ms) behind. */
export function monotonicToWallClock(nowMs = Date.now(), monoNs = process.hrtime.bigint()): (ns: number) => number {
  const offsetMs = nowMs - Number(monoNs / 1000n) / 1000;
  return (ns) => offsetMs + ns / 1e6;
}
