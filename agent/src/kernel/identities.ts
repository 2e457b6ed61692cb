/**
 * Numbers shared with the eBPF programs — TypeScript mirror of agent/bpf/fleetnet.h.
 * test/datapath/layout.test.ts checks the struct layouts; these constants are checked against the
 * header's #defines by the same suite.
 */
import { ReservedId } from '../../../core/policy/resolve/reserved-identities.js';

/** Reserved security identities (same numbers as Cilium), declared once in core (policy resolution
 *  resolves against them too). 0 is never a packet's identity: in the policy map it is the "any peer"
 *  wildcard. Workload identities start at FIRST_USER. */
export const ReservedIdentity = ReservedId;
export const FIRST_USER_IDENTITY = 256;

/** Direction from the POD's point of view. ingress = into the pod (host veth TC egress hook),
 *  egress = out of the pod (host veth TC ingress hook). */
export const Direction = { ingress: 0, egress: 1 } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

/** Verdict stored in a policy entry (fn_policy_value.verdict). */
export const PolicyVerdict = { allow: 1, deny: 2, auditDeny: 3 } as const;
export type PolicyVerdict = (typeof PolicyVerdict)[keyof typeof PolicyVerdict];

/** The agent's proxy an allowed connection is handed to (fn_policy_value.proxy, FN_PROXY_*). */
export const ProxyKind = { none: 0, dns: 1, http: 2 } as const;
/** fn_proxy_value.flags (FN_PROXY_F_*). */
export const ProxyRedirectFlag = { ingress: 1 } as const;
/** fn_upstream_value.flags (FN_UPSTREAM_*). */
export const UpstreamFlag = { decided: 1 } as const;
/** skb->mark of packets handed to the HTTP proxy at a server pod's ingress (FN_MARK_TO_PROXY under
 *  FN_MARK_MASK): the agent's policy route delivers them locally (agent/src/kernel/proxy-route.ts). */
export const ProxyMark = { toProxy: 0x0e00, mask: 0x0f00 } as const;
export type ProxyKind = (typeof ProxyKind)[keyof typeof ProxyKind];

/** Verdict of a counted flow (fn_flow_key.verdict). */
export const FlowVerdict = { forwarded: 1, dropped: 2, audit: 3, reply: 4 } as const;
export type FlowVerdict = (typeof FlowVerdict)[keyof typeof FlowVerdict];

/** fn_endpoint.flags bits. */
export const EndpointFlag = {
  denyIngress: 1 << 0,
  denyEgress: 1 << 1,
  auditIngress: 1 << 2,
  auditEgress: 1 << 3,
} as const;

/** IP protocol numbers used in keys (0 = any protocol in a policy key). */
export const IpProto = { any: 0, icmp: 1, tcp: 6, udp: 17, icmpv6: 58 } as const;

/** Why a counted flow was dropped (fn_flow_key.drop_reason); 0 for every verdict but dropped/audit
 *  decided by policy. Hubble names: see agent/src/flows/aggregate-flows.ts. */
export const FlowDropReason = {
  /** decided by policy: a deny rule (ruleId != 0) or default deny (ruleId 0) */
  policy: 0,
  /** conntrack entry could not be created (map full): CT_MAP_INSERTION_FAILED */
  ctInsertFailed: 1,
  /** IPv6 extension header chain the program cannot walk: INVALID_IPV6_EXTENSION_HEADER */
  invalidExtensionHeader: 2,
  /** EtherType other than IPv4, IPv6, ARP on a policed endpoint: UNSUPPORTED_L3_PROTOCOL */
  unsupportedL3: 3,
  /** a policy hands the connection to a proxy the agent does not run (or cannot hand this packet
   *  over, a fragment): PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL */
  noProxy: 4,
} as const;
export type FlowDropReason = (typeof FlowDropReason)[keyof typeof FlowDropReason];

/** fn_config.flags bits. */
export const ConfigFlag = {
  /** host (the node's own addresses) → pod ingress is subject to policy; clear = always allowed
   *  (Cilium's default allow-localhost) */
  localhostPolicy: 1 << 0,
  /** same-node pod → pod: both ends decided at the source's hook, delivered with bpf_redirect_peer */
  hostRouting: 1 << 1,
} as const;

/** Conntrack states (fn_ct_value.state). Non-TCP entries are always `established`. */
export const CtState = { synSent: 1, established: 2, closing: 3 } as const;
export type CtState = (typeof CtState)[keyof typeof CtState];

/** Whether the node's own conntrack translates a connection (fn_ct_value.node_nat), as host routing
 * asked it once for the entry: `unknown` until then. */
export const NodeNat = { unknown: 0, no: 1, yes: 2 } as const;
export type NodeNat = (typeof NodeNat)[keyof typeof NodeNat];

/** Policy LPM prefix lengths (bits after the prefixlen field), see fleetnet.h. */
export const PolicyPrefix = { anyProto: 72, anyPort: 80, full: 96 } as const;

/** Pinned names of the maps and programs in the object (also the bpffs file names). */
export const MapName = {
  endpoints: 'fn_endpoints',
  ipcache: 'fn_ipcache',
  policy: 'fn_policy',
  conntrack: 'fn_ct',
  flows: 'fn_flows',
  /** the second flow map (fn_config.flow_slot 1); see Datapath.readAndResetFlowsRaw */
  flowsAlt: 'fn_flows_alt',
  config: 'fn_config',
  counters: 'fn_counters',
  /** connections handed to a proxy: their original destinations (fleetnet.h "proxy redirect") */
  proxyNat: 'fn_proxy_nat',
  /** the proxies' upstream sockets: the identity each acts for (fleetnet.h "proxy upstreams") */
  proxyUpstreams: 'fn_proxy_upstreams',
} as const;
export type MapName = (typeof MapName)[keyof typeof MapName];

export const ProgramName = { fromPod: 'fn_from_pod', toPod: 'fn_to_pod', toProxy: 'fn_to_proxy' } as const;
