/**
 * The shape both proxies' rule lists share (pure): per redirected port of a local identity, the allows
 * of each peer family whose traffic can reach the proxy there, peers with identical allows grouped.
 * dns-rules.ts (`dnsRules`) and http-rules.ts (`httpRules`) each say what one allow is.
 *
 * Contract of `groupProxyRules(contributions, kind, allowsOf, keyOf, compare, direction = egress)` (run
 * on the contributions before propagateRedirects; "egress" below reads as `direction` — the HTTP proxy
 * takes ingress too, where L is the server and the peers its clients):
 * - A redirected port of local identity L is the block (proto, port) of any egress ALLOW of L with
 *   `proxy === kind` (one port).
 * - For each such port and each peer family F of L (a peer identity, or the any-peer family) whose
 *   allows cover the port and whose traffic can reach the proxy there (F is the any-peer family, or F
 *   or the any-peer family redirects the port to this kind), the allows of F there: `allowsOf(c)` of
 *   each covering egress allow c — its L7 rules for a redirect of this kind, the kind's wildcard for a
 *   plain allow (Cilium: a rule without L7 rules on a redirected port allows everything there).
 * - Allows deduplicated by `keyOf`, sorted by `compare`; one entry per (L, proto, port, allows): the
 *   any-peer family's has `peers: 'any'`, peer families with identical allows share one entry (`peers`
 *   sorted). Entries sorted by localId, proto, port, then `'any'` first and by first peer.
 */
import { Direction, PolicyVerdict, type ProxyKind } from '../kernel/identities.js';
import { blockContains, type Contribution } from './merge-entries.js';

export interface ProxyRuleEntry<A> {
  localId: number;
  proto: number;
  port: number;
  peers: number[] | 'any';
  allow: A[];
}

export function groupProxyRules<A>(
  contributions: readonly Contribution[],
  kind: ProxyKind,
  allowsOf: (c: Contribution) => A[],
  keyOf: (a: A) => string,
  compare: (a: A, b: A) => number,
  direction: Direction = Direction.egress,
): ProxyRuleEntry<A>[] {
  const egressAllows = contributions.filter((c) => c.direction === direction && c.verdict === PolicyVerdict.allow);
  // redirected ports of each local identity, with the peer families (0 = any) that redirect them
  const portsOf = new Map<number, Map<string, { proto: number; port: number; peers: Set<number> }>>();
  for (const c of egressAllows) {
    if (c.proxy !== kind) continue;
    const ports = portsOf.get(c.localId) ?? new Map<string, { proto: number; port: number; peers: Set<number> }>();
    const k = `${c.block.proto}/${c.block.port}`;
    const hit = ports.get(k) ?? { proto: c.block.proto, port: c.block.port, peers: new Set<number>() };
    hit.peers.add(c.peerId);
    ports.set(k, hit);
    portsOf.set(c.localId, ports);
  }
  // per (local, peer family, port): the allows
  const families = new Map<string, { localId: number; peerId: number; proto: number; port: number; allow: A[] }>();
  for (const c of egressAllows) {
    for (const { proto, port, peers } of portsOf.get(c.localId)?.values() ?? []) {
      // only families whose traffic can reach the proxy on this port: the any-peer family (it joins
      // every peer's lookup), and a peer family that redirects itself or under an any-peer redirect
      if (c.peerId !== 0 && !peers.has(c.peerId) && !peers.has(0)) continue;
      if (!blockContains(c.block, { proto, port, prefixLen: 16 })) continue;
      const k = `${c.localId}/${c.peerId}/${proto}/${port}`;
      const family = families.get(k) ?? { localId: c.localId, peerId: c.peerId, proto, port, allow: [] };
      family.allow.push(...allowsOf(c));
      families.set(k, family);
    }
  }
  // peer families with the same allows on one (local, port) share an entry
  const entries = new Map<string, ProxyRuleEntry<A>>();
  for (const f of families.values()) {
    const unique = new Map(f.allow.map((a) => [keyOf(a), a]));
    if (unique.size === 0) continue;
    const allow = [...unique.values()].sort(compare);
    const k = `${f.localId}/${f.proto}/${f.port}/${f.peerId === 0 ? 'any' : 'peers'}/${JSON.stringify(allow.map(keyOf))}`;
    const entry = entries.get(k);
    if (entry && entry.peers !== 'any') entry.peers.push(f.peerId);
    else entries.set(k, { localId: f.localId, proto: f.proto, port: f.port, peers: f.peerId === 0 ? 'any' : [f.peerId], allow });
  }
  const firstPeer = (e: ProxyRuleEntry<A>): number => (e.peers === 'any' ? -1 : (e.peers[0] ?? -1));
  return [...entries.values()]
    .map((e) => (e.peers === 'any' ? e : { ...e, peers: [...e.peers].sort((a, b) => a - b) }))
    .sort((a, b) => a.localId - b.localId || a.proto - b.proto || a.port - b.port || firstPeer(a) - firstPeer(b));
}
