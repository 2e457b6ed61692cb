/**
 * Addresses the DNS proxy learned (CompileInput.fqdnNames) → ipcache host prefixes with CIDR
 * identities, and what `toFQDNs` selectors select among them (pure).
 *
 * Contract:
 * - Every valid address of a learned name is a host prefix (/32, /128; canonical text, an IPv4-mapped
 *   address is its IPv4 address) — unless a pod, node or kube-apiserver address claims it: those win,
 *   so FQDN rules never select cluster endpoints (Cilium's rule), and no identity is made for it.
 * - Each learned prefix joins the CIDR identity machinery (cidr-identities.ts
 *   `allocateCidrIdentities(selectors, learnedPrefixes)`) as a prefix selected by definition: it gets
 *   the identity of `cidr:<prefix>` (the same number a toCIDR of that /32 would give), and every CIDR
 *   selector containing it (minus its excepts) selects it, deny rules included; `world` selects it
 *   (its labels carry the family's world, as Cilium's FQDN identities do), `cluster` does not.
 * - A toFQDNs selector (`matchName` / `matchPattern`, core/policy/rules/fqdn.ts `fqdnSelectorMatcher`)
 *   selects the identity of a learned prefix iff it matches at least one name learned for it (a
 *   CNAME chain's names all point at the final addresses, so any of them counts).
 * - Labels for attribution, as Cilium's: `fqdn:<matchName or matchPattern>` (canonical: lower case,
 *   no trailing dot) of every toFQDNs selector of the bundle that selects the prefix.
 */
import type { EgressRule, FQDNSelector, BundledPolicy } from '../../../openapi/types.js';
import { canonicalDnsName, fqdnSelectorMatcher } from '../../../core/policy/rules/fqdn.js';
import { comparePrefixes, containsPrefix, hostPrefix, type Prefix } from '../../../core/policy/rules/ip-prefix.js';
import { rulesOf } from '../../../core/policy/unenforced-parts.js';
import type { LearnedName } from './types.js';

/** A learned address and every name learned for it. */
export interface LearnedAddress {
  prefix: Prefix;
  /** canonical names, sorted, no duplicates */
  names: string[];
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The learned addresses not claimed by a cluster address (`claimed`: canonical prefix texts of pod,
 *  node and apiserver addresses), in comparePrefixes order. */
export function collectLearnedAddresses(learned: readonly LearnedName[], claimed: ReadonlySet<string>): LearnedAddress[] {
  const byPrefix = new Map<string, { prefix: Prefix; names: Set<string> }>();
  for (const { name, ips } of learned) {
    const canonical = canonicalDnsName(name);
    if (canonical === '') continue;
    for (const ip of ips) {
      const prefix = hostPrefix(ip);
      if (!prefix || claimed.has(prefix.text)) continue;
      const hit = byPrefix.get(prefix.text);
      if (hit) hit.names.add(canonical);
      else byPrefix.set(prefix.text, { prefix, names: new Set([canonical]) });
    }
  }
  return [...byPrefix.values()]
    .sort((a, b) => comparePrefixes(a.prefix, b.prefix))
    .map(({ prefix, names }) => ({ prefix, names: [...names].sort(cmp) }));
}

/** The learned addresses the toFQDNs selector selects (in the given order). */
export function learnedAddressesSelectedBy(selector: FQDNSelector, addresses: readonly LearnedAddress[]): LearnedAddress[] {
  if (addresses.length === 0) return [];
  const matches = fqdnSelectorMatcher(selector);
  return addresses.filter((a) => a.names.some(matches));
}

/** Cilium's identity label of a toFQDNs selector: `fqdn:<matchName or matchPattern>=` (canonical). */
export function fqdnSelectorLabel(selector: FQDNSelector): string {
  return `fqdn:${canonicalDnsName(selector.matchName ?? selector.matchPattern ?? '')}=`;
}

/** Every toFQDNs selector of the bundle's egress allow rules (duplicates removed, sorted by label). */
export function toFqdnSelectorsOf(policies: readonly BundledPolicy[]): FQDNSelector[] {
  const byLabel = new Map<string, FQDNSelector>();
  for (const policy of policies) {
    for (const { rule } of rulesOf(policy.spec)) {
      for (const r of (rule.egress ?? []) as EgressRule[]) {
        for (const s of r.toFQDNs ?? []) if (s.matchName !== undefined || s.matchPattern !== undefined) byLabel.set(fqdnSelectorLabel(s), s);
      }
    }
  }
  return [...byLabel.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, s]) => s);
}

/** A function giving the `fqdn:` labels of a learned address: one per selector (of `selectors`) that
 *  selects it, sorted (matchers compiled once). */
export function fqdnLabeller(selectors: readonly FQDNSelector[]): (address: LearnedAddress) => string[] {
  const matchers = selectors.map((s) => ({ label: fqdnSelectorLabel(s), matches: fqdnSelectorMatcher(s) }));
  return (address) => [...new Set(matchers.filter((m) => address.names.some(m.matches)).map((m) => m.label))].sort(cmp);
}

/**
 * Zombie learned addresses (CompileInput.fqdnZombies) → the identity a NEW connection gets: that of
 * the longest other ipcache prefix of the family containing the address (a CIDR prefix), else the
 * family's world — what the address is without its names. An address that is itself a CIDR prefix of
 * the bundle (`cidrPrefixes`) keeps one identity for both (a toCIDR of exactly it still allows it).
 * Returns canonical prefix text → identity, for the zombies that are learned ipcache entries.
 */
export function zombieNewConnectionIdentities(
  zombies: readonly string[],
  learned: readonly LearnedAddress[],
  ipcache: ReadonlyMap<string, { prefix: Prefix; identity: number }>,
  cidrPrefixes: ReadonlySet<string>,
  worldOf: (family: 4 | 6) => number,
): Map<string, number> {
  const out = new Map<string, number>();
  if (zombies.length === 0) return out;
  const learnedTexts = new Set(learned.map((a) => a.prefix.text));
  for (const ip of zombies) {
    const host = hostPrefix(ip);
    if (!host || !learnedTexts.has(host.text) || cidrPrefixes.has(host.text) || !ipcache.has(host.text)) continue;
    let best: { bits: number; identity: number } | undefined;
    for (const { prefix, identity } of ipcache.values()) {
      if (prefix.family !== host.family || prefix.bits >= host.bits || (best && prefix.bits <= best.bits)) continue;
      if (containsPrefix(prefix, host)) best = { bits: prefix.bits, identity };
    }
    out.set(host.text, best ? best.identity : worldOf(host.family));
  }
  return out;
}

