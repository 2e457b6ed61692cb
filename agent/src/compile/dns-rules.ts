/**
 * What the DNS proxy checks on the ports the kernel redirects to it (pure): `buildDnsRules` derives
 * CompiledState.dnsRules from the policy contributions, `dnsQueryVerdict` answers one query.
 *
 * Contract of buildDnsRules (run on the contributions before propagateRedirects; the grouping is
 * proxy-rule-entries.ts `groupProxyRules`, shared with the HTTP proxy's rules):
 * - A redirected port of local identity L is the block (proto, port) of any redirecting allow of L
 *   (egress; TCP or UDP, one port).
 * - For each such port and each peer family F of L (F = a peer identity, or the any-peer family) whose
 *   allow contributions cover the port and whose queries can reach the proxy there (F is the any-peer
 *   family, or F or the any-peer family has a redirecting allow on the port), the allows of F there:
 *   every DNS selector of F's redirecting allows on that port, and `matchPattern: "*"` for every plain
 *   allow of F covering it (Cilium: a rule without L7 rules on a redirected port allows every query).
 *   Each with its ruleId; `audit` when the allow is an audit-mode policy's.
 * - One DnsRuleEntry per (L, proto, port, allows): the any-peer family's has `peers: 'any'`, peer
 *   families with identical allows share one entry (`peers` sorted). Entries sorted by localId, proto,
 *   port, then `'any'` first and by first peer; allows sorted by ruleId, matchName, matchPattern.
 *
 * Contract of dnsQueryVerdict: the allows of every entry of (localId, proto, port) whose peers are
 * `'any'` or contain peerId are the query's allows (the same union the kernel's two lookups cover). Among the allows of
 * enforce-mode policies — or, when there are none, those of audit-mode policies:
 * - the query is allowed iff one matches the name (core's fqdnSelectorMatcher: case-insensitive,
 *   trailing dot ignored; `matchPattern: "*"` matches every name); attribution: the first match in
 *   the order exact names, then patterns, then `*`, each by ruleId;
 * - else it is refused (ruleId 0) — unless only audit-mode allows apply: then it is forwarded and
 *   counted as audit (`allowed: true, audit: true`, ruleId 0);
 * - no entry at all (the kernel redirected what the compiler did not): refused (fail closed).
 * An audit-mode allow never loosens an enforce-mode refusal.
 */
import { canonicalDnsName, fqdnSelectorMatcher } from '../../../core/policy/rules/fqdn.js';
import { PolicyVerdict, ProxyKind } from '../kernel/identities.js';
import type { Contribution } from './merge-entries.js';
import { groupProxyRules } from './proxy-rule-entries.js';
import type { DnsAllow, DnsRuleEntry } from './types.js';

const cmp = (a: string | undefined, b: string | undefined): number => ((a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0);

const isRedirect = (c: Contribution): boolean => c.verdict === PolicyVerdict.allow && c.proxy === ProxyKind.dns;

export function compareDnsAllows(a: DnsAllow, b: DnsAllow): number {
  return a.ruleId - b.ruleId || cmp(a.matchName, b.matchName) || cmp(a.matchPattern, b.matchPattern) || Number(Boolean(a.audit)) - Number(Boolean(b.audit));
}

function allowsOf(c: Contribution): DnsAllow[] {
  const audit = c.auditAllow ? { audit: true as const } : {};
  if (!isRedirect(c)) return [{ matchPattern: '*', ruleId: c.ruleId, ...audit }];
  const out: DnsAllow[] = [];
  for (const s of c.dns ?? []) {
    const a: DnsAllow = { ruleId: c.ruleId, ...audit };
    if (s.matchName !== undefined) a.matchName = canonicalDnsName(s.matchName);
    if (s.matchPattern !== undefined) a.matchPattern = canonicalDnsName(s.matchPattern);
    if (a.matchName !== undefined || a.matchPattern !== undefined) out.push(a);
  }
  return out;
}

export function buildDnsRules(contributions: readonly Contribution[]): DnsRuleEntry[] {
  const keyOf = (a: DnsAllow): string => JSON.stringify([a.ruleId, a.matchName, a.matchPattern, a.audit]);
  return groupProxyRules(contributions, ProxyKind.dns, allowsOf, keyOf, compareDnsAllows);
}

export interface DnsQuery {
  /** identity of the querying endpoint */
  localId: number;
  /** identity of the resolver the query was sent to (its ipcache identity) */
  peerId: number;
  /** 6 (TCP) or 17 (UDP) */
  proto: number;
  port: number;
  /** the question's name, any case, trailing dot or not */
  qname: string;
}

export interface DnsQueryVerdict {
  /** forward the query (else answer REFUSED) */
  allowed: boolean;
  /** forwarded only because the refusing rules are audit-mode ones: count as audit */
  audit: boolean;
  /** the allowing rule; 0 when refused or audited */
  ruleId: number;
}

const specificity = (a: DnsAllow): number => (a.matchName !== undefined ? 0 : a.matchPattern !== '*' ? 1 : 2);

function matcherOf(a: DnsAllow): (name: string) => boolean {
  if (a.matchPattern === '*') return () => true;
  const selector: { matchName?: string; matchPattern?: string } = {};
  if (a.matchName !== undefined) selector.matchName = a.matchName;
  if (a.matchPattern !== undefined) selector.matchPattern = a.matchPattern;
  return fqdnSelectorMatcher(selector);
}

/** A query checker over `dnsRules` (indexes them once; see the module contract). */
export function createDnsQueryVerdict(dnsRules: readonly DnsRuleEntry[]): (query: DnsQuery) => DnsQueryVerdict {
  type Compiled = { allow: DnsAllow; matches: (name: string) => boolean };
  // (local, proto, port) → allows of the any-peer family and of each peer
  const byPort = new Map<string, { any: Compiled[]; peers: Map<number, Compiled[]> }>();
  for (const e of dnsRules) {
    const k = `${e.localId}/${e.proto}/${e.port}`;
    const slot = byPort.get(k) ?? { any: [], peers: new Map<number, Compiled[]>() };
    byPort.set(k, slot);
    const compiled = e.allow.map((allow) => ({ allow, matches: matcherOf(allow) }));
    if (e.peers === 'any') slot.any.push(...compiled);
    else for (const p of e.peers) slot.peers.set(p, [...(slot.peers.get(p) ?? []), ...compiled]);
  }
  return (q) => {
    const slot = byPort.get(`${q.localId}/${q.proto}/${q.port}`);
    const all = slot ? [...slot.any, ...(slot.peers.get(q.peerId) ?? [])] : [];
    if (all.length === 0) return { allowed: false, audit: false, ruleId: 0 };
    const enforce = all.filter((x) => !x.allow.audit);
    const deciding = enforce.length > 0 ? enforce : all;
    const name = canonicalDnsName(q.qname);
    const match = deciding
      .filter((x) => x.matches(name))
      .sort((a, b) => specificity(a.allow) - specificity(b.allow) || compareDnsAllows(a.allow, b.allow))[0];
    if (match) return { allowed: true, audit: false, ruleId: match.allow.ruleId };
    return enforce.length > 0 ? { allowed: false, audit: false, ruleId: 0 } : { allowed: true, audit: true, ruleId: 0 };
  };
}

/** One query against `dnsRules` (builds the index each call: prefer createDnsQueryVerdict). */
export function dnsQueryVerdict(dnsRules: readonly DnsRuleEntry[], query: DnsQuery): DnsQueryVerdict {
  return createDnsQueryVerdict(dnsRules)(query);
}
