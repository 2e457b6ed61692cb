/**
 * CIDR selectors (fromCIDR/toCIDR/fromCIDRSet/toCIDRSet) → ipcache prefixes with CIDR identities.
 *
 * Contract:
 * - Every IPv4 `cidr` and `except` of the bundle, host bits masked, is an ipcache prefix.
 * - A CIDR selector (cidr P, excepts E…) selects the identity of prefix Q iff Q ⊆ P and Q ⊄ every E.
 *   Because the ipcache returns the longest prefix, an address is selected iff it lies in P and in no
 *   E — also when several rules nest prefixes.
 * - A prefix no selector selects (an `except` nobody else allows or denies) maps back to world (2);
 *   every other prefix gets a CIDR identity (allocateHashed over `cidr:<prefix>` in CIDR_ID_SPACE).
 * - Pod and node addresses (/32 entries of the ipcache) win over any CIDR prefix: as in Cilium, CIDR
 *   rules never select cluster endpoints.
 */
import { parsePrefix, prefixContains, type ParsedPrefix } from '../../../core/policy/rules/cidr.js';
import { ReservedIdentity } from '../kernel/identities.js';
import { allocateHashed, CIDR_ID_SPACE } from './allocate-ids.js';

export interface CidrSelector {
  cidr: string;
  except: string[];
}

export interface CidrIdentity {
  /** masked prefix "a.b.c.d/len" */
  cidr: string;
  identity: number;
}

/** Masks host bits; returns undefined for IPv6 or invalid text. */
export function maskIpv4Prefix(text: string): { text: string; parsed: ParsedPrefix } | undefined {
  const p = parsePrefix(text);
  if (typeof p === 'string' || p.family !== 4) return undefined;
  const bytes = p.bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, p.bits - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  const parsed: ParsedPrefix = { family: 4, bytes, bits: p.bits };
  return { text: `${bytes.join('.')}/${p.bits}`, parsed };
}

export function selectsPrefix(selector: CidrSelector, prefix: string): boolean {
  const q = maskIpv4Prefix(prefix)?.parsed;
  const p = maskIpv4Prefix(selector.cidr)?.parsed;
  if (!q || !p || !prefixContains(p, q)) return false;
  return selector.except.every((e) => {
    const ep = maskIpv4Prefix(e)?.parsed;
    return !ep || !prefixContains(ep, q);
  });
}

/** Prefixes of all selectors → identity (world for prefixes nobody selects). */
export function allocateCidrIdentities(selectors: readonly CidrSelector[]): CidrIdentity[] {
  const prefixes = new Set<string>();
  for (const s of selectors) {
    for (const t of [s.cidr, ...s.except]) {
      const m = maskIpv4Prefix(t);
      if (m) prefixes.add(m.text);
    }
  }
  const selected = [...prefixes].filter((q) => selectors.some((s) => selectsPrefix(s, q)));
  const ids = allocateHashed(selected.map((q) => `cidr:${q}`), CIDR_ID_SPACE);
  return [...prefixes].sort().map((cidr) => ({ cidr, identity: ids.get(`cidr:${cidr}`) ?? ReservedIdentity.world }));
}
