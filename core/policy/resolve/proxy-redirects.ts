/**
 * Redirects to the proxies (DNS, HTTP) as rows of the verdict table (pure). Both change what a flow's
 * verdict and attribution are, so they are resolution, not encoding.
 *
 * Precedence they complete (evaluate-flow.ts): the exact-peer family E and the any-peer family W are
 * each decided alone, the higher rank wins (ties to E), and an allowed flow goes to the proxy of E's
 * deciding allow when it redirects, else of W's. Cilium's semantics: when several allows cover one
 * (endpoint, peer, port) and only some carry L7 rules, the port is still redirected (the others allow
 * every query or request there).
 *
 * `propagateRedirects` — for every block b redirected in W and every exact-peer family of the same
 * subject and direction holding an allow whose block contains b, a copy of W's redirect on b (per
 * proxy, the one with the smallest ruleId) with that peer is added (origin `redirect-copy`), so the
 * row deciding in E redirects too and carries the redirect's rule (a deny still wins). A redirect in E
 * needs nothing: E wins the tie, and a W allow cannot outrank it.
 *
 * `resolveRedirectConflicts` — one connection goes to one proxy. When the redirects that apply to one
 * (subject, peer family, block) are of different proxies (DNS rules and HTTP rules on TCP/53, in one
 * family or split between E and W), that (subject, family, block) is DENIED (ruleId 0: no rule allows
 * it; origin `conflict`), and every redirect involved is returned, to be reported. A conflict in W
 * denies the block to every peer.
 *
 * Known limit (ranks): an audit-deny (rank 2) in the same family as a redirect, on a block containing
 * it, outranks the redirect's allow, so that traffic is forwarded without the proxy; hence resolution
 * never clips audit denies onto redirected allows. In the other family the redirect still applies.
 */
import { ReservedId } from './reserved-identities.js';
import { blockContains, blockKey } from './port-blocks.js';
import type { RedirectConflict, VerdictRow } from './verdict-table.js';

export const isRedirect = (r: VerdictRow): boolean => r.verdict === 'allow' && r.proxy !== undefined;

/** The copies described in the module contract, in a deterministic order. */
export function propagateRedirects(rows: readonly VerdictRow[]): VerdictRow[] {
  const anyPeerRedirects = rows.filter((r) => r.peer === ReservedId.any && isRedirect(r));
  if (anyPeerRedirects.length === 0) return [];
  const allowsOf = new Map<string, VerdictRow[]>();
  for (const r of rows) {
    if (r.peer === ReservedId.any || r.verdict !== 'allow') continue;
    const k = `${r.subject}/${r.direction}`;
    const list = allowsOf.get(k);
    if (list) list.push(r);
    else allowsOf.set(k, [r]);
  }
  const representative = new Map<string, VerdictRow>();
  for (const r of anyPeerRedirects) {
    const k = `${r.subject}/${r.direction}/${blockKey(r.block)}/${r.proxy}`;
    const best = representative.get(k);
    if (!best || r.ruleId < best.ruleId) representative.set(k, r);
  }
  const copies: VerdictRow[] = [];
  for (const r of representative.values()) {
    const peers = new Set<number>();
    for (const c of allowsOf.get(`${r.subject}/${r.direction}`) ?? []) if (blockContains(c.block, r.block)) peers.add(c.peer);
    for (const peer of [...peers].sort((a, b) => a - b)) copies.push({ ...r, peer, origin: 'redirect-copy' });
  }
  return copies;
}

/** The conflicts of the module contract and the deny rows that close them. */
export function resolveRedirectConflicts(rows: readonly VerdictRow[]): { denies: VerdictRow[]; conflicts: RedirectConflict[] } {
  const byBlock = new Map<string, Map<number, VerdictRow[]>>();
  for (const r of rows) {
    if (!isRedirect(r)) continue;
    const k = `${r.subject}/${r.direction}/${blockKey(r.block)}`;
    const families = byBlock.get(k) ?? new Map<number, VerdictRow[]>();
    families.set(r.peer, [...(families.get(r.peer) ?? []), r]);
    byBlock.set(k, families);
  }
  const kinds = (list: readonly VerdictRow[]): number => new Set(list.map((r) => r.proxy)).size;
  const denies: VerdictRow[] = [];
  const conflicts: RedirectConflict[] = [];
  for (const families of byBlock.values()) {
    const anyPeer = families.get(ReservedId.any) ?? [];
    const conflictOf = (peer: number, redirects: VerdictRow[]): void => {
      const first = redirects[0];
      if (!first || kinds(redirects) < 2) return;
      const sorted = [...redirects].sort((a, b) => a.ruleId - b.ruleId || a.peer - b.peer);
      conflicts.push({ subject: first.subject, peer, block: first.block, redirects: sorted });
      denies.push({ subject: first.subject, peer, direction: first.direction, block: first.block, verdict: 'deny', ruleId: 0, origin: 'conflict' });
    };
    if (kinds(anyPeer) > 1) {
      conflictOf(ReservedId.any, anyPeer);
      continue;
    }
    for (const [peer, own] of [...families.entries()].sort((a, b) => a[0] - b[0])) {
      if (peer !== ReservedId.any) conflictOf(peer, [...own, ...anyPeer]);
    }
  }
  return { denies, conflicts };
}
