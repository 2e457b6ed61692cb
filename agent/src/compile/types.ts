/**
 * Inputs and output of compileBundle (see docs/agent.md "Compile contract").
 */
import type { PortRuleHTTP } from '../../../core/policy/rules/http-match.js';
import type { ResolvedDesiredState } from '../../../core/bundle/desired-state-format.js';
import type { RuleRef, RuleVerdict } from '../../../core/policy/resolve/verdict-table.js';
import type { EndpointEntry, IpcacheEntry, PolicyEntry } from '../kernel/codecs.js';
import type { Direction } from '../kernel/identities.js';

export interface Workload {
  name: string;
  /** Deployment, StatefulSet, DaemonSet, Job, … */
  kind: string;
}

/** A pod on THIS node, behind a host-side veth the agent enforces on. */
export interface LocalEndpoint {
  /** ifindex of the host-side veth (in the agent's network namespace) */
  ifindex: number;
  podName: string;
  namespace: string;
  /** the pod's Kubernetes labels (plain keys, no source) */
  labels: Record<string, string>;
  serviceAccount?: string;
  /** the pod's primary address: its IPv4 one when it has one, else its IPv6 one (the ifindex
   *  resolver keys on it) */
  ip: string;
  /** every address of the pod, both families (absent = [ip]; `ip` counts even when left out) */
  ips?: string[];
  workload?: Workload;
}

/** Any pod of the cluster (local ones included): feeds the ipcache and peer selection. */
export interface PeerEndpoint {
  /** primary address, as LocalEndpoint.ip */
  ip: string;
  /** every address of the pod, both families (absent = [ip]) */
  ips?: string[];
  podName: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  nodeName?: string;
  workload?: Workload;
}

/** A node of the cluster: its addresses map to `host` (this node) or `remote-node` (the others). */
export interface ClusterNode {
  name: string;
  /** InternalIP / ExternalIP addresses, both families */
  ips: string[];
  /** true for the node this agent runs on */
  local?: boolean;
}

export interface CompileInput {
  /** the resolved desired state: the API's manifest with every policy body fetched and hash-checked
   *  (agent/src/sync/resolve-manifest.ts); revision is not used */
  bundle: Pick<ResolvedDesiredState, 'clusterId' | 'policies'> & Partial<Pick<ResolvedDesiredState, 'revision'>>;
  endpoints: readonly LocalEndpoint[];
  peers: readonly PeerEndpoint[];
  /** namespace → its labels (become `k8s:io.cilium.k8s.namespace.labels.<key>`) */
  namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  nodes?: readonly ClusterNode[];
  /** addresses of the kube-apiserver (both families): the `default/kubernetes` EndpointSlices or the
   *  endpoints file. Absent or empty = unknown (the `kube-apiserver` entity then has no address). */
  kubeApiserver?: readonly string[];
  /** The node runs the agent's DNS proxy (default false). When true, egress DNS rules
   *  (`toPorts[].rules.dns`) compile to allows redirected to the proxy (`proxy: ProxyKind.dns`) plus
   *  `CompiledState.dnsRules`, and `toFQDNs` peers select the identities of `fqdnNames`' IPs. When
   *  false the output is exactly what it was before the proxy existed (both fail closed, reported). */
  dnsProxy?: boolean;
  /** Names the DNS proxy learned on this node and their current IPs (the agent expires them; the
   *  compiler compiles what it is given). Only read when `dnsProxy` is true. */
  fqdnNames?: readonly LearnedName[];
  /** Learned addresses past their TTL that a connection still uses (zombies; FqdnCache.zombies):
   *  their ipcache entry keeps the learned identity for connections that exist and gives a new
   *  connection the identity the address has without its names (IpcacheEntry.newConnectionIdentity).
   *  Only read when `dnsProxy` is true. */
  fqdnZombies?: readonly string[];
  /** The node runs the agent's HTTP proxy (default false). When true, HTTP rules (egress and ingress)
   *  (`toPorts[].rules.http`) on numbered TCP ports compile to allows redirected to the proxy
   *  (`proxy: ProxyKind.http`) plus `CompiledState.httpRules`. When false the output is exactly what it
   *  was before (HTTP rules other than `{}` fail closed, reported). */
  httpProxy?: boolean;
}

/** A DNS name the proxy learned from an answer, with the answer's (still valid) addresses. */
export interface LearnedName {
  /** canonical: lower case, no trailing dot (other spellings are canonicalized) */
  name: string;
  /** IPv4 and/or IPv6 addresses; invalid texts are left out */
  ips: readonly string[];
}

/** One DNS rule of a redirected port, as the proxy checks it (canonical: lower case, no trailing dot).
 *  `matchPattern: "*"` allows every name: a rule without DNS rules on a redirected port (Cilium's L7
 *  wildcard) is one. A selector with both fields allows a name either one matches. */
export interface DnsAllow {
  matchName?: string;
  matchPattern?: string;
  /** the rule that allows (flow attribution) */
  ruleId: number;
  /** from an audit-mode policy: what it alone would refuse is forwarded and counted as audit */
  audit?: true;
}

/** What the DNS proxy allows for queries from `localId` to resolvers `peers` on proto/port. A query to
 *  a resolver of identity P is checked against every entry of (localId, proto, port) whose peers are
 *  `'any'` or contain P: see dnsQueryVerdict. */
export interface DnsRuleEntry {
  localId: number;
  /** 6 (TCP) or 17 (UDP) */
  proto: number;
  /** 1–65535 */
  port: number;
  /** the resolvers' identities, sorted; `'any'` = every resolver (the any-peer family). Within one
   *  (localId, proto, port) every identity is in at most one list. */
  peers: number[] | 'any';
  /** sorted by ruleId, then matchName, then matchPattern; no duplicates */
  allow: DnsAllow[];
}

/** The HTTP rules of one allow on a redirected port: `http` as written in the policy (`rules.http`;
 *  ORed, `{}` or `[]` allows every request), `[{}]` for an allow without HTTP rules covering the port
 *  (Cilium's L7 wildcard). */
export interface HttpRuleSet {
  /** the rule that allows (flow attribution) */
  ruleId: number;
  /** from an audit-mode policy: what it alone would deny is forwarded and counted as audit */
  audit?: true;
  http: PortRuleHTTP[];
}

/** What the HTTP proxy allows for connections from `localId` to `peers` on TCP `port`. A connection to
 *  a peer of identity P is checked against every entry of (localId, 6, port) whose peers are `'any'`
 *  or contain P: see http-rules.ts createHttpRuleLookup. */
export interface HttpRuleEntry {
  /** Direction.egress: localId is the client pod; Direction.ingress: the server pod (peers: its clients) */
  direction: Direction;
  localId: number;
  /** 6 (TCP) */
  proto: number;
  /** 1–65535 */
  port: number;
  /** the peers' identities, sorted; `'any'` = every peer (the any-peer family). Within one
   *  (localId, port) every identity is in at most one list. */
  peers: number[] | 'any';
  /** sorted by ruleId, then the rules' JSON; no duplicates */
  rules: HttpRuleSet[];
}

/** The toFQDNs selectors of the policies selecting one local identity: answers for names they match
 *  are learned (fqdn-learning.ts). Canonical: lower case, no trailing dot. */
export interface FqdnLearnEntry {
  localId: number;
  /** sorted by matchName, then matchPattern; no duplicates */
  selectors: Array<{ matchName?: string; matchPattern?: string }>;
}

export type RuleVerdictKind = RuleVerdict;

/** What a policy entry's ruleId stands for (flow attribution): core's RuleRef. */
export type RuleAttribution = RuleRef;

export type IdentityKind = 'reserved' | 'workload' | 'cidr';

/** One numeric identity and what it stands for (flow attribution). */
export interface IdentityInfo {
  id: number;
  kind: IdentityKind;
  /** canonical Cilium labels (`k8s:app=web`, `reserved:world=`, `cidr:10.0.0.0/8=`) */
  labels: string[];
  /** workload identities: the namespace (every pod of one identity shares it) */
  namespace?: string;
  /** workload identities: pods of the cluster with this identity, sorted */
  podNames?: string[];
  /** workload identities: distinct workloads of those pods, sorted by kind then name */
  workloads?: Workload[];
  /** workload identities: every address of those pods (both families, canonical text), IPv4 first,
   *  then by address */
  ips?: string[];
  /** cidr identities: the prefix */
  cidr?: string;
  /** cidr identities of addresses the DNS proxy learned: the learned names with this address, sorted
   *  (a CNAME chain's names all point at the final address) */
  fqdnNames?: string[];
}

/** A rule (or part of one) the datapath cannot enforce, and how it fails closed. */
export interface DegradedRule {
  policy: string;
  /** pointer into the policy's spec, as precise as the unsupported field */
  pointer: string;
  reason: string;
}

export interface CompiledState {
  /** one per local endpoint, sorted by ifindex */
  endpoints: EndpointEntry[];
  /** IPv4 first, then IPv6; each by address then prefix length */
  ipcache: IpcacheEntry[];
  /** sorted by key; verdicts already obey the LPM contract of policy.c */
  policy: PolicyEntry[];
  /** sorted by ruleId */
  rules: RuleAttribution[];
  /** sorted by id */
  identities: IdentityInfo[];
  /** sorted by policy, pointer */
  degraded: DegradedRule[];
  /** what the DNS proxy checks on redirected ports, sorted by localId, proto, port, then `'any'`
   *  first and by first peer; present only when the input says `dnsProxy: true` */
  dnsRules?: DnsRuleEntry[];
  /** which names the DNS proxy learns for which local identity, sorted by localId; present only when
   *  the input says `dnsProxy: true` */
  fqdnSelectors?: FqdnLearnEntry[];
  /** what the HTTP proxy checks on redirected ports, sorted as dnsRules; present only when the input
   *  says `httpProxy: true` */
  httpRules?: HttpRuleEntry[];
}
