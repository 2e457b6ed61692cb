/**
 * Redirects to the agent's proxies (DNS, HTTP) as the kernel will take them (pure).
 *
 * The kernel (agent/bpf/policy.c `decide`) looks up the exact-peer family E = (local, peer, …) and the
 * any-peer family W = (local, 0, …), takes the higher rank (ties to E) for the verdict and, when the
 * packet goes through, hands it to the proxy of E's entry if that is an ALLOW with a proxy, else of W's
 * entry if that is. Cilium's semantics: when several allows cover one (endpoint, peer, port) and only
 * some carry L7 rules, the port is still redirected (the others allow every query or request there).
 *
 * `propagateRedirects` — within a family mergeContributions keeps the redirect (an allow key carries the
 * proxy of any covering redirect). Across families the kernel reads W's bit itself when E's entry has
 * none; still, for every block b redirected in W and every exact-peer family of the same local identity
 * and direction holding an allow whose block contains b, a copy of W's redirect on b (per proxy kind,
 * the one with the smallest ruleId) with that peer is added, so the entry the kernel ranks first
 * carries the bit too (E's longest key for b is b itself, or a higher-ranked verdict: a deny still
 * wins). This keeps the invariant "the picked entry redirects" that older kernels needed and that the
 * property test checks. A redirect in E needs nothing: E wins the tie, and a W allow cannot outrank it.
 *
 * `resolveRedirectConflicts` — one connection goes to one proxy. When the redirects that apply to one
 * (local, peer family, port) are of different kinds (DNS rules and HTTP rules on TCP/53, in one family
 * or split between E and W), which proxy gets it would be a guess (Cilium rejects conflicting L7
 * parsers on a port). Instead that (local, family, port) is DENIED (ruleId 0: no rule allows it) —
 * fail closed — and every redirect involved is returned, to be reported. A conflict in W denies the
 * port to every peer (W's redirects apply to all of them).
 *
 * Known limit (kernel ranks): an AUDIT-DENY (rank 2) in the same family as a redirect, on a key
 * containing it, is written on that key (max rank) without the bit, so that traffic is forwarded
 * without the proxy; hence compile-bundle never clips audit denies onto redirected allows. In the
 * other family the kernel still redirects (it reads the proxy of either lookup's ALLOW entry).
 */
import { PolicyVerdict, ProxyKind, ReservedIdentity } from '../kernel/identities.js';
import type { L4Block } from './l4.js';
import { blockContains, type Contribution } from './merge-entries.js';

const isRedirect = (c: Contribution): boolean => c.verdict === PolicyVerdict.allow && c.proxy !== undefined && c.proxy !== ProxyKind.none;
const blockKey = (b: L4Block): string => `${b.proto}/${b.port}/${b.prefixLen}`;

/** `contributions` plus the copies described in the module contract (input order kept, copies last). */
export function propagateRedirects(contributions: readonly Contribution[]): Contribution[] {
  const anyPeerRedirects = contributions.filter((c) => c.peerId === ReservedIdentity.any && isRedirect(c));
  if (anyPeerRedirects.length === 0) return [...contributions];
  // exact-peer allows by local identity and direction
  const allowsOf = new Map<string, Contribution[]>();
  for (const c of contributions) {
    if (c.peerId === ReservedIdentity.any || c.verdict !== PolicyVerdict.allow) continue;
    const k = `${c.localId}/${c.direction}`;
    const list = allowsOf.get(k);
    if (list) list.push(c);
    else allowsOf.set(k, [c]);
  }
  // One representative per (local, direction, block, proxy kind): the smallest ruleId, which is also
  // what the merge would attribute among equal redirects — the copies only need to carry the bit.
  const representative = new Map<string, Contribution>();
  for (const r of anyPeerRedirects) {
    const k = `${r.localId}/${r.direction}/${blockKey(r.block)}/${r.proxy}`;
    const best = representative.get(k);
    if (!best || r.ruleId < best.ruleId) representative.set(k, r);
  }
  const copies: Contribution[] = [];
  for (const r of representative.values()) {
    const peers = new Set<number>();
    for (const c of allowsOf.get(`${r.localId}/${r.direction}`) ?? []) if (blockContains(c.block, r.block)) peers.add(c.peerId);
    for (const peerId of [...peers].sort((a, b) => a - b)) copies.push({ ...r, peerId });
  }
  return [...contributions, ...copies];
}

/** Redirects of different proxy kinds that apply to one (local, peer family, port). */
export interface RedirectConflict {
  localId: number;
  /** 0: the any-peer family (every peer) */
  peerId: number;
  block: L4Block;
  /** every redirect involved (of this family and, for a peer, of the any-peer family), by ruleId */
  redirects: Contribution[];
}

/** The conflicts of the module contract and the deny contributions that close them (run on the
 *  contributions before propagateRedirects; add `denies` before the merge). */
export function resolveRedirectConflicts(contributions: readonly Contribution[]): { denies: Contribution[]; conflicts: RedirectConflict[] } {
  // redirects by (local, direction, block), then by peer family
  const byPort = new Map<string, Map<number, Contribution[]>>();
  for (const c of contributions) {
    if (!isRedirect(c)) continue;
    const k = `${c.localId}/${c.direction}/${blockKey(c.block)}`;
    const families = byPort.get(k) ?? new Map<number, Contribution[]>();
    families.set(c.peerId, [...(families.get(c.peerId) ?? []), c]);
    byPort.set(k, families);
  }
  const kinds = (list: readonly Contribution[]): number => new Set(list.map((c) => c.proxy)).size;
  const denies: Contribution[] = [];
  const conflicts: RedirectConflict[] = [];
  for (const families of byPort.values()) {
    const anyPeer = families.get(ReservedIdentity.any) ?? [];
    const conflictOf = (peerId: number, redirects: Contribution[]): void => {
      const first = redirects[0];
      if (!first || kinds(redirects) < 2) return;
      const sorted = [...redirects].sort((a, b) => a.ruleId - b.ruleId || a.peerId - b.peerId);
      conflicts.push({ localId: first.localId, peerId, block: first.block, redirects: sorted });
      denies.push({ localId: first.localId, peerId, direction: first.direction, block: first.block, verdict: PolicyVerdict.deny, ruleId: 0 });
    };
    if (kinds(anyPeer) > 1) {
      conflictOf(ReservedIdentity.any, anyPeer); // every peer: nothing more to deny
      continue;
    }
    for (const [peerId, own] of [...families.entries()].sort((a, b) => a[0] - b[0])) {
      if (peerId !== ReservedIdentity.any) conflictOf(peerId, [...own, ...anyPeer]);
    }
  }
  return { denies, conflicts };
}
