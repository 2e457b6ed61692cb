/**
 * Contributions of rules → policy map entries obeying the compiler contract of agent/bpf/policy.c:
 * within one family (local, peer, direction) the LPM lookup returns only the longest matching key, so
 * every written key carries the MAXIMUM rank (deny 3 > audit-deny 2 > allow 1) of every contribution
 * whose block contains the key's whole block. Across families (peer vs any-peer) the kernel takes the
 * maximum itself. Attribution of a key: the contribution of that maximum rank with the longest block
 * (the most specific rule), then the smallest ruleId.
 *
 * Proxy bit: a key whose verdict is ALLOW carries the proxy of any ALLOW contribution with a proxy
 * whose block contains the key's block (DNS redirects are full-port blocks, so exactly their own key
 * carries it; a shorter key containing it does not, and the LPM picks the redirect's key). So within
 * a family a redirect is never lost to another allow of the same port; across families
 * (peer vs any-peer) see proxy-redirects.ts. Two redirects of different kinds on one key are a conflict
resolved before the merge (proxy-redirects.ts: a deny there). Deny and audit-deny keys never carry a proxy.
 */
import type { PolicyEntry } from '../kernel/codecs.js';
import { Direction, PolicyVerdict, ProxyKind } from '../kernel/identities.js';
import type { PortRuleHTTP } from '../../../core/policy/rules/http-match.js';
import { decidesOver } from '../../../core/policy/resolve/evaluate-flow.js';
import { blockContains, blockKey, type PortBlock } from '../../../core/policy/resolve/port-blocks.js';
import type { DnsSelector } from '../../../core/policy/resolve/resolve-port-blocks.js';

export { blockContains };

export interface Contribution {
  localId: number;
  /** 0 = any peer */
  peerId: number;
  direction: Direction;
  block: PortBlock;
  verdict: PolicyVerdict;
  ruleId: number;
  /** allow contributions only: the proxy the allowed connection is handed to */
  proxy?: ProxyKind;
  /** with proxy: the DNS rules the proxy checks (dns-rules.ts) */
  dns?: readonly DnsSelector[];
  /** with proxy http: the HTTP rules the proxy checks (http-rules.ts) */
  http?: readonly PortRuleHTTP[];
  /** with a proxy: the L7 rules' pointer into the policy spec (`…/toPorts/<j>/rules/dns|http`) */
  l7Pointer?: string;
  /** an allow of an audit-mode policy */
  auditAllow?: boolean;
}

const RANK: Record<PolicyVerdict, number> = { [PolicyVerdict.allow]: 1, [PolicyVerdict.auditDeny]: 2, [PolicyVerdict.deny]: 3 };


export function comparePolicyEntries(a: PolicyEntry, b: PolicyEntry): number {
  return a.localId - b.localId || a.peerId - b.peerId || a.direction - b.direction || a.proto - b.proto || a.port - b.port || a.portPrefixLen - b.portPrefixLen;
}

export function mergeContributions(contributions: readonly Contribution[]): PolicyEntry[] {
  const families = new Map<string, Contribution[]>();
  for (const c of contributions) {
    const k = `${c.localId}/${c.peerId}/${c.direction}`;
    const list = families.get(k);
    if (list) list.push(c);
    else families.set(k, [c]);
  }
  const out: PolicyEntry[] = [];
  for (const list of families.values()) {
    const first = list[0];
    if (!first) continue;
    const blocks = new Map<string, PortBlock>();
    for (const c of list) blocks.set(blockKey(c.block), c.block);
    for (const block of blocks.values()) {
      let best: Contribution | undefined;
      for (const c of list) {
        if (!blockContains(c.block, block)) continue;
        if (!best || decidesOver({ rank: RANK[c.verdict], block: c.block, ruleId: c.ruleId }, { rank: RANK[best.verdict], block: best.block, ruleId: best.ruleId })) best = c;
      }
      if (!best) continue;
      const entry: PolicyEntry = {
        localId: first.localId,
        peerId: first.peerId,
        direction: first.direction,
        proto: block.proto,
        port: block.port,
        portPrefixLen: block.proto === 0 ? 0 : block.prefixLen,
        verdict: best.verdict,
        ruleId: best.ruleId,
      };
      if (best.verdict === PolicyVerdict.allow) {
        const redirect = list.find((c) => c.proxy !== undefined && c.proxy !== ProxyKind.none && c.verdict === PolicyVerdict.allow && blockContains(c.block, block));
        if (redirect?.proxy !== undefined) entry.proxy = redirect.proxy;
      }
      out.push(entry);
    }
  }
  return out.sort(comparePolicyEntries);
}
