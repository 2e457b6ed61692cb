/**
 * Redirects to the DNS proxy that survive the kernel's choice between the two policy lookups (pure).
 *
 * The kernel (agent/bpf/policy.c `decide`) looks up the exact-peer family E = (local, peer, …) and the
 * any-peer family W = (local, 0, …), takes the higher rank and, on equal rank, E — and uses that
 * entry's proxy bit. Cilium's semantics: when several allows cover one (endpoint, peer, port) and
 * only some carry DNS rules, the port is still redirected (the others allow every query there).
 *
 * Within a family mergeContributions keeps the redirect (an allow key carries the proxy of any
 * covering redirect). Across families one case loses it: a redirect in W and a plain allow in E
 * covering the same port — the tie goes to E's entry, without the bit. Contract of
 * `propagateRedirects`: for every block b redirected in W and every exact-peer family of the same
 * local identity and direction holding an allow whose block contains b, a copy of W's redirect on b
 * (the one with the smallest ruleId) with that peer is added, so E's longest key for b is b itself, carrying the bit (or a higher-ranked
 * verdict: a deny still wins). A redirect in E needs nothing: E wins the tie, and a W allow cannot
 * outrank it.
 *
 * Known limit (kernel ranks): an AUDIT-DENY (rank 2, forwarded) in either family outranks an allow
 * (rank 1) with its redirect, so traffic an audit-mode deny covers is forwarded without the proxy
 * (counted as audit; its DNS rules are not checked). A kernel that ranked a redirecting allow above
 * audit-deny would close this.
 */
import { PolicyVerdict, ProxyKind, ReservedIdentity } from '../kernel/identities.js';
import { blockContains, type Contribution } from './merge-entries.js';

const isRedirect = (c: Contribution): boolean => c.verdict === PolicyVerdict.allow && c.proxy !== undefined && c.proxy !== ProxyKind.none;

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
  // One representative per (local, direction, block): the smallest ruleId, which is also what the
  // merge would attribute among equal redirects — the copies only need to carry the bit.
  const representative = new Map<string, Contribution>();
  for (const r of anyPeerRedirects) {
    const k = `${r.localId}/${r.direction}/${r.block.proto}/${r.block.port}/${r.block.prefixLen}`;
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
