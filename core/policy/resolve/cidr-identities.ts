/**
 * CIDR selectors (fromCIDR/toCIDR/fromCIDRSet/toCIDRSet) → ipcache prefixes with CIDR identities,
 * IPv4 and IPv6 alike.
 *
 * Contract:
 * - Every `cidr` and `except` of the bundle, host bits masked (canonical text, see ip-prefix.ts), is
 *   an ipcache prefix; so is every address the DNS proxy learned (fqdn-identities.ts), which always
 *   gets a CIDR identity (as if a selector named exactly it).
 * - A CIDR selector (cidr P, excepts E…) selects the identity of prefix Q iff Q ⊆ P and Q ⊄ every E
 *   (containment never crosses families). Because the ipcache returns the longest prefix, an address
 *   is selected iff it lies in P and in no E — also when several rules nest prefixes.
 * - A prefix no selector selects (an `except` nobody else allows or denies) maps back to the world
 *   identity of its family: world (2) for IPv4, world-ipv6 (10) for IPv6 — what a miss gives in the
 *   kernel. Every other prefix gets a CIDR identity (allocateHashed over `cidr:<prefix>` in
 *   CIDR_ID_SPACE).
 * - Pod and node addresses (/32 and /128 entries of the ipcache) win over any CIDR prefix: as in
 *   Cilium, CIDR rules never select cluster endpoints.
 */
import type { BundledPolicy, EgressRule, IngressRule } from '../../../openapi/types.js';
import { checkCidrSelector, cidrSelectorsOf, rulesOf } from '../unenforced-parts.js';
import { allocateHashed, CIDR_ID_SPACE } from './allocate-ids.js';
import { comparePrefixes, containsPrefix, maskPrefix, type Prefix } from '../rules/ip-prefix.js';
import { worldOf } from './reserved-identities.js';

export { worldOf };

export interface CidrSelector {
  cidr: string;
  except: string[];
}

export interface CidrIdentity {
  /** masked prefix, canonical text `addr/bits` */
  cidr: string;
  family: 4 | 6;
  identity: number;
}

/** A predicate "does the selector select prefix q?" with the selector's prefixes parsed once; an
 *  unparseable `cidr` selects nothing, an unparseable `except` excludes nothing. */
export function prefixSelector(selector: CidrSelector): (q: Prefix) => boolean {
  const p = maskPrefix(selector.cidr);
  if (!p) return () => false;
  const excepts = selector.except.flatMap((e) => {
    const ep = maskPrefix(e);
    return ep ? [ep] : [];
  });
  return (q) => containsPrefix(p, q) && excepts.every((ep) => !containsPrefix(ep, q));
}

/** Does the selector select prefix `prefix` (text or parsed)? Unparseable prefixes select nothing. */
export function selectsPrefix(selector: CidrSelector, prefix: string | Prefix): boolean {
  const q = typeof prefix === 'string' ? maskPrefix(prefix) : prefix;
  return q !== undefined && prefixSelector(selector)(q);
}

/** Prefixes of all selectors, plus `selectedPrefixes` (prefixes selected by definition: addresses the
 *  DNS proxy learned, fqdn-identities.ts) → identity (the family's world for prefixes nobody selects),
 *  in comparePrefixes order. */
export function allocateCidrIdentities(selectors: readonly CidrSelector[], selectedPrefixes: readonly Prefix[] = []): CidrIdentity[] {
  const prefixes = new Map<string, Prefix>();
  for (const s of selectors) {
    for (const t of [s.cidr, ...s.except]) {
      const m = maskPrefix(t);
      if (m) prefixes.set(m.text, m);
    }
  }
  const always = new Set<string>();
  for (const p of selectedPrefixes) {
    prefixes.set(p.text, p);
    always.add(p.text);
  }
  const all = [...prefixes.values()].sort(comparePrefixes);
  const selects = selectors.map(prefixSelector);
  const selected = all.filter((q) => always.has(q.text) || selects.some((s) => s(q)));
  const ids = allocateHashed(selected.map((q) => `cidr:${q.text}`), CIDR_ID_SPACE);
  return all.map((q) => ({ cidr: q.text, family: q.family, identity: ids.get(`cidr:${q.text}`) ?? worldOf(q.family) }));
}

/** Cilium's CIDR label key for a prefix: IPv6 colons become dashes, with a 0 added where the key
 *  would start or end with one (`2001:db8::/32` → `2001-db8--0/32`); IPv4 unchanged. */
export function cidrLabelKey(cidr: string): string {
  const slash = cidr.lastIndexOf('/');
  const addr = cidr.slice(0, slash);
  if (!addr.includes(':')) return cidr;
  let key = addr.replace(/:/g, '-');
  if (key.startsWith('-')) key = `0${key}`;
  if (key.endsWith('-')) key = `${key}0`;
  return `${key}${cidr.slice(slash)}`;
}

/** Every CIDR selector of the policies' rules that parses (allows and denies, both directions): the
 *  prefixes of the policies' CIDR identities. */
export function policyCidrSelectors(policies: ReadonlyArray<Pick<BundledPolicy, 'spec'>>): CidrSelector[] {
  const out: CidrSelector[] = [];
  for (const policy of policies) {
    for (const { rule } of rulesOf(policy.spec)) {
      for (const [list, dir] of [[rule.ingress, 'ingress'], [rule.ingressDeny, 'ingress'], [rule.egress, 'egress'], [rule.egressDeny, 'egress']] as const) {
        for (const r of list ?? []) {
          for (const c of cidrSelectorsOf(r as IngressRule | EgressRule, dir)) if ('sel' in c && !checkCidrSelector(c.sel)) out.push(c.sel);
        }
      }
    }
  }
  return out;
}
