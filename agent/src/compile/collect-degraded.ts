/**
 * Phase: what the entries leave out, in the words the API uses for its write-time warnings (pure):
 * core's findUnenforcedParts for every policy under this node's environment, toFQDNs rules whose
 * endpoints have no DNS rule, and ports denied because two proxies' rules claim them. Sorted by policy,
 * then pointer.
 */
import type { BundledPolicy } from '../../../openapi/types.js';
import type { RedirectConflict, RuleRef, VerdictTable } from '../../../core/policy/resolve/verdict-table.js';
import { findUnenforcedParts, type EnforcementEnvironment } from '../../../core/policy/unenforced-parts.js';
import type { DegradedRule } from './types.js';

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export const TO_FQDNS_WITHOUT_DNS_RULE =
  'no DNS rule (toPorts[].rules.dns) applies to the endpoints this selects, so the DNS proxy never sees their own lookups: it allows only addresses other endpoints\' answers taught (their connections after their own lookups fail closed); add a DNS rule for their resolver, e.g. matchPattern "*" on port 53';

/** toFQDNs needs the endpoint's DNS to pass through the proxy: for a toFQDNs rule of which no selected
 *  local endpoint has a redirected DNS port (no `dnsRules` entry — no `toPorts[].rules.dns` of any
 *  policy applies to it), the endpoints' own answers are never learned (learned names are node-wide,
 *  so what other endpoints' answers taught still applies). Reported, as Cilium's docs require a DNS
 *  rule for toFQDNs; the message says what to add. */
function toFqdnWithoutDnsRules(rules: VerdictTable['toFqdnRules'], dnsRules: readonly { localId: number }[]): DegradedRule[] {
  const redirected = new Set(dnsRules.map((e) => e.localId));
  const out = new Map<string, DegradedRule>();
  for (const r of rules) {
    if (r.subjects.length === 0 || r.subjects.some((id) => redirected.has(id))) continue;
    out.set(`${r.policy}\n${r.pointer}`, { policy: r.policy, pointer: r.pointer, reason: TO_FQDNS_WITHOUT_DNS_RULE });
  }
  return [...out.values()];
}

const PROTO_NAMES: Readonly<Record<number, string>> = { 6: 'TCP', 17: 'UDP' };
const PROXY_NAMES = { dns: 'DNS', http: 'HTTP' } as const;

/** Redirects of different proxies on one port of the same peers (core proxy-redirects.ts): each L7
 *  rule set involved, at its pointer (`…/toPorts/<j>/rules/dns|http`), with the port and the kinds. */
function redirectConflictParts(conflicts: readonly RedirectConflict[], policyOf: ReadonlyMap<number, string>): DegradedRule[] {
  const out = new Map<string, DegradedRule>();
  for (const c of conflicts) {
    const port = `${PROTO_NAMES[c.block.proto] ?? c.block.proto}/${c.block.port}`;
    const kinds = [...new Set(c.redirects.map((r) => (r.proxy ? PROXY_NAMES[r.proxy] : '')))].sort().join(' and ');
    for (const r of c.redirects) {
      const policy = policyOf.get(r.ruleId);
      if (policy === undefined || r.l7Pointer === undefined) continue;
      const reason = `${kinds} rules apply to the same port (${port}) of the same peers, and a connection goes to one proxy only (Cilium rejects conflicting L7 parsers on a port); that port is denied to those peers (fail closed)`;
      out.set(`${policy}\n${r.l7Pointer}\n${reason}`, { policy, pointer: r.l7Pointer, reason });
    }
  }
  return [...out.values()];
}

export function collectDegraded(
  policies: readonly BundledPolicy[],
  environment: EnforcementEnvironment,
  table: Pick<VerdictTable, 'toFqdnRules' | 'conflicts'>,
  rules: readonly RuleRef[],
  dnsRules: readonly { localId: number }[],
): DegradedRule[] {
  const sorted = [...policies].sort((a, b) => cmp(a.name, b.name));
  const degraded: DegradedRule[] = sorted.flatMap((p) => findUnenforcedParts(p, environment).map(({ pointer, reason }) => ({ policy: p.name, pointer, reason })));
  degraded.push(...toFqdnWithoutDnsRules(table.toFqdnRules, dnsRules));
  degraded.push(...redirectConflictParts(table.conflicts, new Map(rules.map((r) => [r.ruleId, r.policy]))));
  return degraded.sort((a, b) => cmp(a.policy, b.policy) || cmp(a.pointer, b.pointer));
}
