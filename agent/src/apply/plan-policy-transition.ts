/**
 * The policy map transition old → T → new (pure), the core of the apply ordering argument.
 *
 * Precondition: old and new each obey the compiler contract of policy.c (within a family a key's rank
 * is ≥ the rank of every shorter key containing it) — true for every compiled state and for T.
 * T ("tight") holds the union U of old and new keys; each key K carries the higher-ranked of O(K) and
 * N(K), where X(K) is the value of the longest X-key containing K's block (deny 3 > audit-deny 2 >
 * allow 1 > none 0). For every packet x and family (local, peer, direction): T(x) = max(O(x), N(x)),
 * and T obeys the contract too.
 *
 * Step `raise` (old → T): write T's value on every key of U whose map value differs, ordered by T rank
 * DESCENDING, then longest prefix first. Per family the LPM result stays O(x) or T(x): when key K is
 * written, every key inside it has rank ≥ K's (contract) and is therefore already written.
 * Across the two families the kernel takes the max; a family only shows a T value of rank r after
 * every T value of higher rank is in place, so:
 *   - a packet both old and new deny (rank 3, or no match with the default-deny bit) never sees a
 *     rank-1/2 result: a family showing 1 or 2 implies (case analysis in docs/agent.md) another family
 *     already shows 3, or T has no match at all;
 *   - a packet both old and new allow has ranks ≤ 1 in O and N, so T ≤ 1: never denied; and it never
 *     loses its match, since a raise only adds keys and raises values.
 * Step `settle` (T → new): the time-reverse of new → T, which is a raise from a contract state: keys
 * whose T value differs from new — upserts of the new value or deletes of old-only keys — ordered by T
 * rank ASCENDING, then shortest prefix first, upserts and deletes interleaved in that order.
 * Every intermediate state of old → T → new therefore is an intermediate state of a safe raise.
 */
import type { PolicyEntry, PolicyKey } from '../kernel/codecs.js';
import { PolicyPrefix, PolicyVerdict } from '../kernel/identities.js';

export type PolicyOp = { op: 'upsert'; entry: PolicyEntry } | { op: 'delete'; key: PolicyKey };

export interface PolicyTransition {
  /** old → T, in write order */
  raise: PolicyEntry[];
  /** T → new, in execution order (consecutive ops of one kind may be batched) */
  settle: PolicyOp[];
}

const RANK: Record<number, number> = { [PolicyVerdict.allow]: 1, [PolicyVerdict.auditDeny]: 2, [PolicyVerdict.deny]: 3 };

export function policyKeyId(k: PolicyKey): string {
  return `${k.localId}/${k.peerId}/${k.direction}/${k.proto}/${k.port}/${k.portPrefixLen}`;
}

const familyId = (k: PolicyKey): string => `${k.localId}/${k.peerId}/${k.direction}`;

function bits(k: PolicyKey): number {
  return k.proto === 0 ? PolicyPrefix.anyProto : PolicyPrefix.anyPort + k.portPrefixLen;
}

function contains(outer: PolicyKey, inner: PolicyKey): boolean {
  if (outer.proto === 0) return true;
  if (outer.proto !== inner.proto || outer.portPrefixLen > inner.portPrefixLen) return false;
  if (outer.portPrefixLen === 0) return true;
  const shift = 16 - outer.portPrefixLen;
  return outer.port >>> shift === inner.port >>> shift;
}

/** Value of the longest entry of `family` containing `k`'s block, or undefined. */
function longestContaining(family: readonly PolicyEntry[], k: PolicyKey): PolicyEntry | undefined {
  let best: PolicyEntry | undefined;
  for (const e of family) if (contains(e, k) && (!best || bits(e) > bits(best))) best = e;
  return best;
}

const sameValue = (a: PolicyEntry, b: PolicyEntry): boolean => a.verdict === b.verdict && a.ruleId === b.ruleId && (a.proxy ?? 0) === (b.proxy ?? 0);

export function planPolicyTransition(current: readonly PolicyEntry[], desired: readonly PolicyEntry[]): PolicyTransition {
  const group = (list: readonly PolicyEntry[]): Map<string, PolicyEntry[]> => {
    const m = new Map<string, PolicyEntry[]>();
    for (const e of list) {
      const f = familyId(e);
      const l = m.get(f);
      if (l) l.push(e);
      else m.set(f, [e]);
    }
    return m;
  };
  const oldFamilies = group(current);
  const newFamilies = group(desired);
  const oldByKey = new Map(current.map((e) => [policyKeyId(e), e]));
  const newByKey = new Map(desired.map((e) => [policyKeyId(e), e]));
  const raise: PolicyEntry[] = [];
  const settle: Array<PolicyOp & { rank: number; bits: number; id: string }> = [];

  for (const f of new Set([...oldFamilies.keys(), ...newFamilies.keys()])) {
    const olds = oldFamilies.get(f) ?? [];
    const news = newFamilies.get(f) ?? [];
    if (olds.length === news.length && news.every((e) => { const o = oldByKey.get(policyKeyId(e)); return o !== undefined && sameValue(o, e); })) continue;
    const union = new Map<string, PolicyKey>();
    for (const e of [...olds, ...news]) union.set(policyKeyId(e), e);
    for (const [id, k] of union) {
      const o = longestContaining(olds, k);
      const n = longestContaining(news, k);
      const t = !o ? n : !n ? o : (RANK[n.verdict] ?? 0) >= (RANK[o.verdict] ?? 0) ? n : o;
      if (!t) continue;
      const tight: PolicyEntry = { localId: k.localId, peerId: k.peerId, direction: k.direction, proto: k.proto, port: k.port, portPrefixLen: k.portPrefixLen, verdict: t.verdict, ruleId: t.ruleId };
      const inMap = oldByKey.get(id);
      if (!inMap || !sameValue(inMap, tight)) raise.push(tight);
      const wanted = newByKey.get(id);
      const order = { rank: RANK[tight.verdict] ?? 0, bits: bits(k), id };
      if (wanted && !sameValue(wanted, tight)) settle.push({ op: 'upsert', entry: wanted, ...order });
      if (!wanted) {
        settle.push({ op: 'delete', key: { localId: k.localId, peerId: k.peerId, direction: k.direction, proto: k.proto, port: k.port, portPrefixLen: k.portPrefixLen }, ...order });
      }
    }
  }
  const tie = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const rankOf = (e: PolicyEntry): number => RANK[e.verdict] ?? 0;
  raise.sort((a, b) => rankOf(b) - rankOf(a) || bits(b) - bits(a) || tie(policyKeyId(a), policyKeyId(b)));
  settle.sort((a, b) => a.rank - b.rank || a.bits - b.bits || tie(a.id, b.id));
  return { raise, settle: settle.map((s) => (s.op === 'upsert' ? { op: 'upsert', entry: s.entry } : { op: 'delete', key: s.key })) };
}
