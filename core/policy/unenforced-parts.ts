/**
 * What of a policy the datapath does not enforce, and what happens instead — written once, for both
 * sides: the agent's compiler reports these as the node's `Degraded` condition (agent/src/compile), and
 * the API returns them as write-time warnings (`status.warnings` of a policy, `warnings` of an import
 * outcome). Pure; no kernel layouts.
 *
 * Contracts:
 * - `findUnenforcedParts(policy, environment)` walks the policy's rules (the inline rule, then `specs[i]`)
 *   in the compiler's order and returns every part it cannot enforce: a JSON pointer into the spec, the
 *   reason in words (ending with what happens instead), and the consequence: `failsClosed` (the part
 *   allows nothing, or a deny widens to cover more) or `noEffect` (the part changes nothing). Sorted by
 *   pointer then reason, without duplicates.
 * - Rules without an `endpointSelector` (host policies select with `nodeSelector`) are not walked further.
 * - The compiler decides what to emit with the same functions (`planPortRule`, `planPort`, `planIcmp`,
 *   `peerIssues`, `checkCidrSelector`), so what is reported is what the kernel entries leave out.
 * - The environment decides what the node can enforce: without the DNS proxy (`dnsProxy: false`: a
 *   node run with --no-dns-proxy) `toFQDNs` peers and DNS rules other than `matchPattern: "*"` fail
 *   closed; with it both are enforced (DNS rules on egress ports with a number, TCP/UDP/ANY).
 *   Without the HTTP proxy (`httpProxy: false`: --no-http-proxy) HTTP rules other than
 *   an allow-all rule `{}` fail closed; with it, HTTP rules on TCP ports with a number — egress and
 *   ingress — are redirected to it, and only what `compileHttpRules` cannot enforce (`unsupported`: a
 *   `headerMatches[].secret`, a pattern outside the linear-time subset) is reported, at
 *   `…/rules/http/<i>/<field>` — that HTTP rule matches nothing (fail closed), the others apply.
 */
import type { BundledPolicy, EgressRule, IngressRule, NetworkPolicy, PolicyWarning, PortProtocol, PortRule, Rule, components } from '../../openapi/types.js';
import { appendPointer } from '../json/json-pointer.js';
import { compileHttpRules, type UnsupportedHttpField } from './rules/http-match.js';
import { resolveIcmpType } from './rules/icmp.js';
import { containsPrefix, isV4Mapped, maskPrefix } from './rules/ip-prefix.js';
import { parsePort } from './rules/ports.js';

export type UnenforcedConsequence = 'failsClosed' | 'noEffect';

export interface UnenforcedPart {
  /** pointer into the policy's spec, as precise as the unenforced field */
  pointer: string;
  reason: string;
  consequence: UnenforcedConsequence;
}

/** What the node knows that changes what can be enforced. */
export interface EnforcementEnvironment {
  /** The agent knows the Kubernetes API server's addresses (it reads them from the Kubernetes API:
   *  `--kubeconfig` / `--in-cluster`); with a static endpoints file it does not. */
  kubeApiserverAddressed: boolean;
  /** The node runs the agent's DNS proxy: egress DNS rules (`toPorts[].rules.dns`) are redirected to it
   *  and enforced there, and `toFQDNs` peers are the IPs it learns from answers. */
  dnsProxy: boolean;
  /** The node runs the agent's HTTP proxy: HTTP rules (`toPorts[].rules.http`, egress and ingress) on
   *  numbered TCP ports are redirected to it and enforced there, per request (core/policy/rules/http-match.ts). */
  httpProxy: boolean;
}

/** The API's view when it warns at write time: any node may run without the API server's addresses;
 *  every agent runs the DNS proxy unless told not to (`--no-dns-proxy`, or no node address for it) —
 *  such a node reports DNS rules and toFQDNs in its Degraded condition. The same for the HTTP proxy
 *  (`--no-http-proxy`): HTTP rules of both directions are enforced by it. */
export const WRITE_TIME_ENVIRONMENT: EnforcementEnvironment = { kubeApiserverAddressed: false, dnsProxy: true, httpProxy: true };

/** Entities whose addresses the agent's inputs never carry (no packet has their identity); kube-apiserver
 *  joins them when the node does not know the API server's addresses. */
const UNADDRESSED_ENTITIES: readonly string[] = ['ingress', 'health', 'init', 'unmanaged'];
const UNADDRESSED_WITH_APISERVER: ReadonlySet<string> = new Set(UNADDRESSED_ENTITIES);
const UNADDRESSED_WITHOUT_APISERVER: ReadonlySet<string> = new Set([...UNADDRESSED_ENTITIES, 'kube-apiserver']);

export function unaddressedEntities(environment: EnforcementEnvironment): ReadonlySet<string> {
  return environment.kubeApiserverAddressed ? UNADDRESSED_WITH_APISERVER : UNADDRESSED_WITHOUT_APISERVER;
}

export type DirName = 'ingress' | 'egress';

const RULE_KEYS = ['endpointSelector', 'nodeSelector', 'ingress', 'ingressDeny', 'egress', 'egressDeny', 'enableDefaultDeny'] as const;

/** The rules of a policy spec with their pointer base: the inline rule ('') and specs (/specs/i). */
export function rulesOf(spec: BundledPolicy['spec']): Array<{ rule: Rule; base: string }> {
  const out: Array<{ rule: Rule; base: string }> = [];
  if (RULE_KEYS.some((k) => spec[k] !== undefined)) out.push({ rule: spec, base: '' });
  (spec.specs ?? []).forEach((rule, i) => out.push({ rule, base: `/specs/${i}` }));
  return out;
}

// ---- CIDR ------------------------------------------------------------------------------------

export interface CidrSelector {
  cidr: string;
  except: string[];
}

/** A CIDR selector whose prefixes parse, each `except` inside its `cidr`, none IPv4-mapped IPv6;
 *  else the reason. */
export function checkCidrSelector(sel: CidrSelector): string | undefined {
  const p = maskPrefix(sel.cidr);
  if (!p) return `invalid CIDR "${sel.cidr}"`;
  for (const e of sel.except) {
    const q = maskPrefix(e);
    if (!q || !containsPrefix(p, q)) return `except "${e}" is not a prefix inside "${sel.cidr}"`;
  }
  const mapped = [sel.cidr, ...sel.except].find((t) => isV4Mapped(maskPrefix(t)!));
  if (mapped) return `"${mapped}" is an IPv4-mapped IPv6 prefix, which the datapath cannot tell from IPv4 (it keys IPv4 as ::ffff:a.b.c.d); write the IPv4 prefix`;
  return undefined;
}

/** The CIDR peers of a rule: selectors (fromCIDR/toCIDR, CIDR sets with a cidr) and group references,
 *  each with its pointer relative to the rule. */
export function cidrSelectorsOf(rule: IngressRule | EgressRule, dir: DirName): Array<{ sel: CidrSelector; pointer: string } | { group: string; pointer: string }> {
  const r = rule as Record<string, unknown>;
  const plainKey = dir === 'ingress' ? 'fromCIDR' : 'toCIDR';
  const setKey = dir === 'ingress' ? 'fromCIDRSet' : 'toCIDRSet';
  const plain = (r[plainKey] as string[] | undefined) ?? [];
  const sets = (r[setKey] as Array<{ cidr?: string; except?: string[]; cidrGroupRef?: string; cidrGroupSelector?: unknown }> | undefined) ?? [];
  const out: ReturnType<typeof cidrSelectorsOf> = [];
  plain.forEach((c, i) => out.push({ sel: { cidr: c, except: [] }, pointer: `/${plainKey}/${i}` }));
  sets.forEach((s, i) => {
    const pointer = `/${setKey}/${i}`;
    if (s.cidr === undefined) out.push({ group: s.cidrGroupRef !== undefined ? 'cidrGroupRef' : 'cidrGroupSelector', pointer });
    else out.push({ sel: { cidr: s.cidr, except: s.except ?? [] }, pointer });
  });
  return out;
}

// ---- peers (L3) ------------------------------------------------------------------------------

export interface PeerIssue {
  /** pointer relative to the rule */
  field: string;
  reason: string;
  consequence: UnenforcedConsequence;
  /** a deny with this part applies to every peer (the part is widened to "any"), fail closed */
  widensDenyToAnyPeer: boolean;
}

/** The L3 peer keys of a rule in direction `dir`. */
export function peerKeys(dir: DirName) {
  return {
    endpoints: dir === 'ingress' ? 'fromEndpoints' : 'toEndpoints',
    entities: dir === 'ingress' ? 'fromEntities' : 'toEntities',
    nodes: dir === 'ingress' ? 'fromNodes' : 'toNodes',
    groups: dir === 'ingress' ? 'fromGroups' : 'toGroups',
    cidr: dir === 'ingress' ? 'fromCIDR' : 'toCIDR',
    cidrSet: dir === 'ingress' ? 'fromCIDRSet' : 'toCIDRSet',
  } as const;
}

const listOf = (rule: IngressRule | EgressRule, key: string): unknown[] => {
  const value = (rule as Record<string, unknown>)[key];
  return Array.isArray(value) ? value : [];
};

/** True when the rule names an L3 peer at all (else it is an L4-only or empty rule). */
export function hasL3Peer(rule: IngressRule | EgressRule, dir: DirName): boolean {
  const k = peerKeys(dir);
  return [k.endpoints, k.entities, k.nodes, k.groups, k.cidr, k.cidrSet, 'toServices', 'toFQDNs'].some((key) => listOf(rule, key).length > 0);
}

/** The peer parts of one rule the agent cannot resolve to identities. */
export function peerIssues(rule: IngressRule | EgressRule, dir: DirName, deny: boolean, environment: EnforcementEnvironment): PeerIssue[] {
  if (!hasL3Peer(rule, dir)) return [];
  const k = peerKeys(dir);
  const issues: PeerIssue[] = [];
  const failClosed = (field: string, reason: string) =>
    issues.push({
      field,
      reason: `${reason}; ${deny ? 'the deny applies to every peer (fail closed)' : 'contributes no allow (fail closed)'}`,
      consequence: 'failsClosed',
      widensDenyToAnyPeer: deny,
    });
  const unaddressed = unaddressedEntities(environment);
  listOf(rule, k.entities).forEach((entity, i) => {
    if (!unaddressed.has(entity as string)) return;
    issues.push({
      field: `${k.entities}/${i}`,
      reason: `no addresses of the ${String(entity)} entity are known to the agent; ${deny ? 'the deny has no effect (no packet carries this identity)' : 'contributes no allow (fail closed)'}`,
      consequence: deny ? 'noEffect' : 'failsClosed',
      widensDenyToAnyPeer: false,
    });
  });
  for (const c of cidrSelectorsOf(rule, dir)) {
    if ('sel' in c) {
      const invalid = checkCidrSelector(c.sel);
      if (invalid) failClosed(c.pointer.slice(1), invalid);
    } else {
      failClosed(`${c.pointer.slice(1)}/${c.group}`, 'CIDR groups are not resolved by the agent');
    }
  }
  if (listOf(rule, k.nodes).length > 0) failClosed(k.nodes, 'node selectors need node labels the agent does not have');
  if (listOf(rule, k.groups).length > 0) failClosed(k.groups, 'cloud provider groups are not resolved by the agent');
  if (listOf(rule, 'toServices').length > 0) failClosed('toServices', 'service backends are not resolved by the agent');
  if (listOf(rule, 'toFQDNs').length > 0 && !environment.dnsProxy) failClosed('toFQDNs', 'FQDN rules need the DNS proxy, which this node does not run (agent --no-dns-proxy, or no node address for it)');
  return issues;
}

// ---- ports and ICMP (L4) ---------------------------------------------------------------------

/** IP protocol numbers of the protocols a port rule may name. */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPv6: 58, VRRP: 112, IGMP: 2 };
const TCP = 6;
const UDP = 17;

/** ICMPv6 neighbor discovery types (RS, RA, NS, NA, redirect): passed by the kernel before policy. */
export const NDP_TYPES: ReadonlySet<number> = new Set([133, 134, 135, 136, 137]);

type AnyPortRule = PortRule | components['schemas']['PortDenyRule'];
type IcmpField = NonNullable<components['schemas']['ICMPRule']['fields']>[number];

function l7AllowsEverything(rules: NonNullable<PortRule['rules']>): boolean {
  if (rules.l7proto !== undefined || rules.l7 !== undefined) return false;
  const emptyHttp = (rules.http ?? []).some((h) => Object.keys(h).length === 0);
  const emptyKafka = (rules.kafka ?? []).some((k) => Object.keys(k).length === 0);
  const anyDns = (rules.dns ?? []).some((d) => d.matchPattern === '*');
  if (rules.http !== undefined) return emptyHttp;
  if (rules.kafka !== undefined) return emptyKafka;
  if (rules.dns !== undefined) return anyDns;
  return true;
}

/** Where a port rule is: its direction and what the node can enforce. */
export interface PortRuleContext {
  dir: DirName;
  environment: EnforcementEnvironment;
}

/** One port of a DNS rule redirected to the DNS proxy: TCP (6) and/or UDP (17), a port 1–65535. */
export interface DnsProxyPort {
  protocols: number[];
  port: number;
}

/** One TCP port (1–65535) of an HTTP rule redirected to the HTTP proxy. */
export interface HttpProxyPort {
  port: number;
}

/**
 * What one port rule contributes:
 * - `l4`: its ports as written (`planPort` per entry), allow or deny;
 * - `dns-proxy` (allow rules on egress, only when the node runs the DNS proxy): its ports become
 *   allows that hand the connection to the DNS proxy, which checks each query against `rules.dns`
 *   (any DNS rules, `matchPattern: "*"` included: the proxy sees the answers it learns from);
 * - `http-proxy` (allow rules on egress whose L7 rules are `http` only, on TCP ports with a number, no
 *   range; only when the node runs the HTTP proxy): its ports become allows that hand the connection to
 *   the HTTP proxy, which checks each request against `rules.http` (`{}` and `[]` included: every
 *   request passes, and the proxy sees them). `unsupported` (http-match) lists the HTTP rule fields that
 *   cannot be enforced, each relative to the port rule (`rules/http/0/headerMatches/1/secret`): those
 *   HTTP rules match nothing, the others apply;
 * - `unenforced`: no L4 allow at all (L7 the datapath cannot enforce, listener, TLS, SNI), `field`
 *   relative to the port rule.
 * Deny port rules have none of the L7 fields: always `l4`.
 */
export type PortRulePlan =
  | { kind: 'l4' }
  | { kind: 'dns-proxy'; ports: DnsProxyPort[] }
  | { kind: 'http-proxy'; ports: HttpProxyPort[]; unsupported: Array<{ field: string; reason: string }> }
  | { kind: 'unenforced'; field: string; reason: string };

const DNS_PROXY_PROTOCOLS: Readonly<Record<string, number[]>> = { TCP: [TCP], UDP: [UDP], ANY: [TCP, UDP] };

/** The ports of a DNS rule as the proxy redirect takes them (a number 1–65535, TCP/UDP/ANY, no range),
 *  or undefined when one of them is not such a port. */
function dnsProxyPorts(pr: PortRule): DnsProxyPort[] | undefined {
  const ports = pr.ports ?? [];
  if (ports.length === 0) return undefined;
  const out: DnsProxyPort[] = [];
  for (const pp of ports) {
    const protocols = DNS_PROXY_PROTOCOLS[pp.protocol ?? 'ANY'];
    const parsed = parsePort(pp.port);
    if (!protocols || typeof parsed === 'string' || parsed.kind !== 'number' || parsed.value === 0) return undefined;
    if (pp.endPort !== undefined && pp.endPort > parsed.value) return undefined;
    out.push({ protocols, port: parsed.value });
  }
  return out;
}

/** The ports of an HTTP rule as the proxy redirect takes them (protocol TCP — Cilium requires it for
 *  HTTP rules —, a number 1–65535, no range), or undefined when one of them is not such a port. */
function httpProxyPorts(pr: PortRule): HttpProxyPort[] | undefined {
  const ports = pr.ports ?? [];
  if (ports.length === 0) return undefined;
  const out: HttpProxyPort[] = [];
  for (const pp of ports) {
    const parsed = parsePort(pp.port);
    if (pp.protocol !== 'TCP' || typeof parsed === 'string' || parsed.kind !== 'number' || parsed.value === 0) return undefined;
    if (pp.endPort !== undefined && pp.endPort > parsed.value) return undefined;
    out.push({ port: parsed.value });
  }
  return out;
}

const unsupportedHttp = (u: UnsupportedHttpField): { field: string; reason: string } => ({ field: `rules/http/${u.index}/${u.field}`, reason: u.reason });

export const HTTP_PORTS_REASON =
  'HTTP rules are redirected to the HTTP proxy only on TCP ports with a number (protocol TCP, as Cilium requires for HTTP rules; no range, not 0); no L4 allow for these ports (fail closed)';

export function planPortRule(portRule: AnyPortRule, kind: 'allow' | 'deny', context: PortRuleContext): PortRulePlan {
  if (kind !== 'allow') return { kind: 'l4' };
  const pr = portRule as PortRule;
  if (pr.listener) return { kind: 'unenforced', field: 'listener', reason: 'redirect to an Envoy listener is not supported by the datapath; no L4 allow for these ports (fail closed)' };
  if (pr.terminatingTLS || pr.originatingTLS) {
    return { kind: 'unenforced', field: pr.terminatingTLS ? 'terminatingTLS' : 'originatingTLS', reason: 'TLS interception is not supported; no L4 allow for these ports (fail closed)' };
  }
  if ((pr.serverNames ?? []).length > 0) return { kind: 'unenforced', field: 'serverNames', reason: 'SNI (serverNames) matching is not supported; no L4 allow for these ports (fail closed)' };
  const rules = pr.rules;
  const dnsOnly = rules !== undefined && rules.dns !== undefined && rules.http === undefined && rules.kafka === undefined && rules.l7proto === undefined && rules.l7 === undefined;
  if (context.environment.dnsProxy && dnsOnly) {
    const ports = context.dir === 'egress' ? dnsProxyPorts(pr) : undefined;
    if (ports) return { kind: 'dns-proxy', ports };
    return {
      kind: 'unenforced',
      field: 'rules/dns',
      reason: 'DNS rules are redirected to the DNS proxy only on egress ports with a number (TCP, UDP or ANY, no range); no L4 allow for these ports (fail closed)',
    };
  }
  const httpOnly = rules !== undefined && rules.http !== undefined && rules.dns === undefined && rules.kafka === undefined && rules.l7proto === undefined && rules.l7 === undefined;
  if (context.environment.httpProxy && httpOnly) {
    const ports = httpProxyPorts(pr);
    if (ports) return { kind: 'http-proxy', ports, unsupported: compileHttpRules(rules.http ?? []).unsupported.map(unsupportedHttp) };
    // not redirectable: an allow-all rule `{}` is still the plain L4 allow (as without the proxy)
    if (!l7AllowsEverything(rules)) return { kind: 'unenforced', field: 'rules/http', reason: HTTP_PORTS_REASON };
  }
  if (rules && !l7AllowsEverything(rules)) {
    const l7 = rules.http ? 'http' : rules.kafka ? 'kafka' : rules.dns ? 'dns' : 'l7';
    const why = l7 === 'dns' ? 'DNS rules need the DNS proxy, which this node does not run (agent --no-dns-proxy, or no node address for it)' : `L7 ${l7} rules need a proxy the datapath does not have`;
    return { kind: 'unenforced', field: `rules/${l7}`, reason: `${why}; no L4 allow for these ports (fail closed)` };
  }
  return { kind: 'l4' };
}

/** Why an allow port rule contributes no L4 allow at all (L7, listener, TLS, SNI), or undefined
 *  (`planPortRule`'s `unenforced`). */
export function portRuleIssue(portRule: AnyPortRule, kind: 'allow' | 'deny', context: PortRuleContext): { field: string; reason: string } | undefined {
  const plan = planPortRule(portRule, kind, context);
  return plan.kind === 'unenforced' ? { field: plan.field, reason: plan.reason } : undefined;
}

/**
 * What one `ports[]` entry means for the datapath. `protocols` are IP protocol numbers ('any' = every
 * protocol). `reason` is set when the entry cannot be enforced as written: an allow then contributes
 * nothing, a deny covers `widenedTo` (every port of those protocols) instead.
 */
export type PortPlan =
  | { kind: 'ports'; protocols: number[]; first: number; last: number }
  | { kind: 'all-ports'; protocols: number[] | 'any' }
  | { kind: 'unenforced'; reason: string; widenedTo: number[] | 'any' | undefined };

export function planPort(pp: PortProtocol, kind: 'allow' | 'deny'): PortPlan {
  const protocol = pp.protocol ?? 'ANY';
  const parsed = parsePort(pp.port);
  const protocols = protocol === 'ANY' ? [TCP, UDP] : [PROTOCOL_NUMBERS[protocol] ?? -1];
  if (protocols[0] === -1) return { kind: 'unenforced', reason: `protocol ${protocol} is not supported`, widenedTo: undefined };
  if (typeof parsed === 'string' || parsed.kind === 'name') {
    // named ports resolve per pod (container ports), which the agent does not know
    return kind === 'allow'
      ? { kind: 'unenforced', reason: `named port "${pp.port}" cannot be resolved by the agent; no allow (fail closed)`, widenedTo: undefined }
      : { kind: 'unenforced', reason: `named port "${pp.port}" cannot be resolved by the agent; the deny covers every port of the protocol (fail closed)`, widenedTo: protocol === 'ANY' ? 'any' : protocols };
  }
  const first = parsed.value;
  if (first === 0) return { kind: 'all-ports', protocols: protocol === 'ANY' ? 'any' : protocols };
  const portless = protocols.filter((p) => p !== TCP && p !== UDP);
  if (portless.length > 0) {
    // only TCP and UDP ports are read; a protocol is named alone, so this is the whole entry
    return kind === 'allow'
      ? { kind: 'unenforced', reason: `the datapath reads no ports of ${protocol}; only port 0 (any) can be allowed (fail closed)`, widenedTo: undefined }
      : { kind: 'unenforced', reason: `the datapath reads no ports of ${protocol}; the deny covers all of ${protocol} (fail closed)`, widenedTo: portless };
  }
  const last = pp.endPort !== undefined && pp.endPort > first ? pp.endPort : first;
  return { kind: 'ports', protocols, first, last };
}

/**
 * What one ICMP field means: the protocol (1 or 58) and type, or why not. An unknown type in a deny
 * covers the whole protocol. A deny of a neighbor-discovery type is written but has no effect (noted).
 */
export function planIcmp(field: IcmpField, kind: 'allow' | 'deny'): { protocol: number; type: number | undefined; issue?: { reason: string; consequence: UnenforcedConsequence } } {
  const v6 = field.family === 'IPv6';
  const protocol = v6 ? 58 : 1;
  const family = v6 ? 'ICMPv6' : 'ICMP';
  const type = resolveIcmpType(field);
  if (type === undefined) {
    return { protocol, type, issue: { reason: `unknown ${family} type${kind === 'deny' ? `; the deny covers all of ${family} (fail closed)` : '; no allow (fail closed)'}`, consequence: 'failsClosed' } };
  }
  if (v6 && kind === 'deny' && NDP_TYPES.has(type)) {
    return { protocol, type, issue: { reason: `ICMPv6 type ${type} is neighbor discovery, which always passes (as in Cilium); the deny has no effect on it`, consequence: 'noEffect' } };
  }
  return { protocol, type };
}

/** The unenforced L4 parts of one rule (`toPorts`, `icmps`), pointers absolute (under `pointer`). */
export function l4Issues(
  rule: { toPorts?: AnyPortRule[]; icmps?: Array<{ fields?: IcmpField[] }> },
  pointer: string,
  kind: 'allow' | 'deny',
  context: PortRuleContext,
): UnenforcedPart[] {
  const out: UnenforcedPart[] = [];
  (rule.toPorts ?? []).forEach((pr, j) => {
    const at = appendPointer(pointer, 'toPorts', j);
    const plan = planPortRule(pr, kind, context);
    if (plan.kind === 'unenforced') {
      out.push({ pointer: `${at}/${plan.field}`, reason: plan.reason, consequence: 'failsClosed' });
      return;
    }
    if (plan.kind === 'dns-proxy') return; // every port checked by planPortRule
    if (plan.kind === 'http-proxy') {
      // every port checked by planPortRule; the HTTP rules that match nothing
      for (const u of plan.unsupported) out.push({ pointer: `${at}/${u.field}`, reason: u.reason, consequence: 'failsClosed' });
      return;
    }
    (pr.ports ?? []).forEach((pp, k) => {
      const plan = planPort(pp, kind);
      if (plan.kind === 'unenforced') out.push({ pointer: appendPointer(at, 'ports', k), reason: plan.reason, consequence: 'failsClosed' });
    });
  });
  (rule.icmps ?? []).forEach((icmp, j) => {
    (icmp.fields ?? []).forEach((field, k) => {
      const { issue } = planIcmp(field, kind);
      if (issue) out.push({ pointer: appendPointer(pointer, 'icmps', j, 'fields', k), ...issue });
    });
  });
  return out;
}

// ---- the walk --------------------------------------------------------------------------------

/** Why a whole allow rule contributes nothing (mutual authentication), or undefined. */
export function authenticationIssue(rule: IngressRule | EgressRule, deny: boolean): string | undefined {
  const mode = (rule as IngressRule).authentication?.mode;
  if (deny || mode === undefined || mode === 'disabled') return undefined;
  return `mutual authentication (${mode}) is not supported; contributes no allow (fail closed)`;
}

export const AUDIT_REQUIREMENTS_REASON = 'requirements of an audit-mode policy are not evaluated (they would change what enforce policies allow)';
export const NODE_SELECTOR_REASON = 'host policies (nodeSelector) are not enforced: fleetnet polices pod veths only; the rule has no effect';

/** Every part of `policy` the datapath does not enforce (see the module contract). */
export function findUnenforcedParts(policy: Pick<BundledPolicy, 'spec' | 'mode'>, environment: EnforcementEnvironment): UnenforcedPart[] {
  const parts: UnenforcedPart[] = [];
  const audit = policy.mode === 'audit';
  for (const { rule, base } of rulesOf(policy.spec)) {
    if (rule.nodeSelector !== undefined) {
      parts.push({ pointer: `${base}/nodeSelector`, reason: NODE_SELECTOR_REASON, consequence: 'noEffect' });
      continue;
    }
    if (!rule.endpointSelector) continue;
    for (const dir of ['ingress', 'egress'] as const) {
      for (const deny of [false, true]) {
        const key = deny ? (dir === 'ingress' ? 'ingressDeny' : 'egressDeny') : dir;
        ((rule[key] ?? []) as Array<IngressRule | EgressRule>).forEach((r, i) => {
          const pointer = `${base}/${key}/${i}`;
          const requiresKey = dir === 'ingress' ? 'fromRequires' : 'toRequires';
          const requires = ((r as Record<string, unknown>)[requiresKey] as unknown[] | undefined) ?? [];
          if (!deny && audit && requires.length > 0) parts.push({ pointer: `${pointer}/${requiresKey}`, reason: AUDIT_REQUIREMENTS_REASON, consequence: 'noEffect' });
          const authentication = authenticationIssue(r, deny);
          if (authentication) {
            parts.push({ pointer: appendPointer(pointer, 'authentication'), reason: authentication, consequence: 'failsClosed' });
            return;
          }
          for (const issue of peerIssues(r, dir, deny, environment)) parts.push({ pointer: `${pointer}/${issue.field}`, reason: issue.reason, consequence: issue.consequence });
          parts.push(...l4Issues(r as { toPorts?: AnyPortRule[] }, pointer, deny ? 'deny' : 'allow', { dir, environment }));
        });
      }
    }
  }
  const unique = new Map(parts.map((p) => [`${p.pointer}\n${p.reason}`, p]));
  return [...unique.values()].sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}

/**
 * A fleet policy's write-time warnings: its unenforced parts (as any node without the API server's
 * addresses reports them), with pointers into the resource (`/spec/...`).
 */
export function policyWarnings(policy: Pick<NetworkPolicy, 'spec'>): PolicyWarning[] {
  const { targets: _targets, ...spec } = policy.spec;
  return findUnenforcedParts({ spec, mode: policy.spec.mode ?? 'enforce' }, WRITE_TIME_ENVIRONMENT).map((part) => ({
    pointer: `/spec${part.pointer}`,
    message: part.reason,
    consequence: part.consequence,
  }));
}
