/**
 * Property: for random allows (plain and redirecting to the DNS or the HTTP proxy) and denies over the
 * peer and any-peer families, a kernel-style decision (agent/bpf/policy.c `decide`: LPM in each
 * family, the higher rank, ties to the exact peer; the proxy of E's ALLOW entry, else of W's) over
 * encodePolicyEntries(rows + resolveRedirectConflicts(…).denies + propagateRedirects(…)) redirects exactly the
 * allowed packets some redirecting allow covers, to that proxy — and the entry ranked first carries it
 * too —; packets that redirects of both kinds cover are denied; dnsQueryVerdict over buildDnsRules(…)
 * allows exactly the names, createHttpRuleLookup over buildHttpRules(…) exactly the requests, one
 * covering allow allows (a plain allow: everything).
 * Audit-deny is left out: it outranks a redirect in its family (documented limit, proxy-redirects.ts).
 */
import { describe, expect, it } from 'vitest';

import { fqdnSelectorMatcher } from '../../../core/policy/rules/fqdn.js';
import { compileHttpRules, type PortRuleHTTP } from '../../../core/policy/rules/http-match.js';
import type { PolicyEntry } from '../kernel/codecs.js';
import { Direction, IpProto, PolicyVerdict, ProxyKind } from '../kernel/identities.js';
import { propagateRedirects, resolveRedirectConflicts } from '../../../core/policy/resolve/proxy-redirects.js';
import type { VerdictRow } from '../../../core/policy/resolve/verdict-table.js';
import { buildDnsRules, dnsQueryVerdict } from './dns-rules.js';
import { buildHttpRules, createHttpRuleLookup } from './http-rules.js';
import type { PortBlock as L4Block } from '../../../core/policy/resolve/port-blocks.js';
import type { DnsSelector } from '../../../core/policy/resolve/resolve-port-blocks.js';
import { encodePolicyEntries } from './encode-verdict-table.js';
import { policyPrefixLen } from '../kernel/codecs.js';
import { blockContains, type Contribution } from './merge-entries.js';

const RANK: Record<number, number> = { [PolicyVerdict.allow]: 1, [PolicyVerdict.auditDeny]: 2, [PolicyVerdict.deny]: 3 };
const LOCAL = 300;
const b = (proto: number, port = 0, prefixLen = 0): L4Block => ({ proto, port, prefixLen });
const BLOCKS = [b(0), b(IpProto.udp), b(IpProto.tcp), b(IpProto.udp, 53, 16), b(IpProto.tcp, 53, 16), b(IpProto.udp, 54, 16), b(IpProto.udp, 52, 15)];
const DNS_BLOCKS = BLOCKS.filter((x) => x.prefixLen === 16);
const SELECTORS: DnsSelector[][] = [[{ matchName: 'a.example' }], [{ matchPattern: '*.example' }], [{ matchPattern: '**.b.example' }, { matchName: 'c.example' }], []];
const NAMES = ['a.example', 'x.example', 'b.example', 'y.z.b.example', 'c.example', 'other.test'];
const HTTP_RULES: PortRuleHTTP[][] = [[{ method: 'GET' }], [{ path: '/a/.*' }, { method: 'POST', path: '/b' }], [{ headers: ['X-Ok'] }], [{}], []];
const REQUESTS = [
  { method: 'GET', path: '/x', headers: [] },
  { method: 'POST', path: '/b', headers: [] },
  { method: 'PUT', path: '/a/1', headers: [] },
  { method: 'DELETE', path: '/z', headers: [['x-ok', '1']] as Array<[string, string]> },
  { method: 'PATCH', path: '/z', headers: [] },
];

/** core's row for one of these egress contributions */
const asRow = (c: Contribution): VerdictRow => ({
  subject: c.localId,
  peer: c.peerId,
  direction: 'egress',
  block: c.block,
  verdict: c.verdict === PolicyVerdict.deny ? 'deny' : 'allow',
  ruleId: c.ruleId,
  origin: 'rule',
  ...(c.proxy !== undefined ? { proxy: c.proxy === ProxyKind.dns ? ('dns' as const) : ('http' as const) } : {}),
  ...(c.dns !== undefined ? { dns: c.dns } : {}),
  ...(c.http !== undefined ? { http: c.http } : {}),
});

const entryBlock = (e: PolicyEntry): L4Block => ({ proto: e.proto, port: e.port, prefixLen: e.portPrefixLen });

function lookup(entries: readonly PolicyEntry[], peerId: number, pkt: L4Block): PolicyEntry | undefined {
  return entries
    .filter((e) => e.peerId === peerId && blockContains(entryBlock(e), pkt))
    .sort((x, y) => policyPrefixLen(y) - policyPrefixLen(x))[0];
}

describe('proxy redirects, dnsRules and httpRules against a kernel-style decision', () => {
  it('property: redirected iff a covering redirect (to its proxy), denied on a kind conflict, allowed names and requests iff a covering allow allows them', () => {
    let seed = 4242;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    let redirected = 0;
    let refused = 0;
    let http = 0;
    let conflicted = 0;
    for (let round = 0; round < 400; round++) {
      const contributions: Contribution[] = [];
      for (let i = 0, n = 1 + rnd(6); i < n; i++) {
        const peerId = [0, 7, 8][rnd(3)] ?? 0;
        const kind = rnd(8); // 0–2 DNS redirect, 3–4 HTTP redirect, 5–6 plain allow, 7 deny
        const ruleId = i + 1;
        if (kind <= 2) {
          const block = DNS_BLOCKS[rnd(DNS_BLOCKS.length)] ?? b(IpProto.udp, 53, 16);
          contributions.push({ localId: LOCAL, peerId, direction: Direction.egress, block, verdict: PolicyVerdict.allow, ruleId, proxy: ProxyKind.dns, dns: SELECTORS[rnd(SELECTORS.length)] ?? [] });
        } else if (kind <= 4) {
          const block = b(IpProto.tcp, [53, 80][rnd(2)] ?? 80, 16);
          contributions.push({ localId: LOCAL, peerId, direction: Direction.egress, block, verdict: PolicyVerdict.allow, ruleId, proxy: ProxyKind.http, http: HTTP_RULES[rnd(HTTP_RULES.length)] ?? [] });
        } else {
          const block = BLOCKS[rnd(BLOCKS.length)] ?? b(0);
          contributions.push({ localId: LOCAL, peerId, direction: Direction.egress, block, verdict: kind === 7 ? PolicyVerdict.deny : PolicyVerdict.allow, ruleId });
        }
      }
      const rows = contributions.map(asRow);
      const withDenies = [...rows, ...resolveRedirectConflicts(rows).denies];
      const entries = encodePolicyEntries([...withDenies, ...propagateRedirects(withDenies)]);
      const dnsRules = buildDnsRules(contributions);
      const httpLookup = createHttpRuleLookup(buildHttpRules(contributions));
      for (const peerId of [7, 8, 9]) {
        for (const pkt of [b(IpProto.udp, 53, 16), b(IpProto.tcp, 53, 16), b(IpProto.udp, 54, 16), b(IpProto.udp, 52, 16), b(IpProto.tcp, 80, 16)]) {
          const e = lookup(entries, peerId, pkt);
          const w = lookup(entries, 0, pkt);
          const best = (w ? RANK[w.verdict] ?? 0 : 0) > (e ? RANK[e.verdict] ?? 0 : 0) ? w : e;
          const covering = contributions.filter((c) => (c.peerId === peerId || c.peerId === 0) && blockContains(c.block, pkt));
          const redirects = covering.filter((c) => c.proxy !== undefined);
          const kinds = new Set(redirects.map((c) => c.proxy));
          const maxRank = kinds.size > 1 ? 3 : Math.max(0, ...covering.map((c) => RANK[c.verdict] ?? 0));
          const where = JSON.stringify({ contributions, peerId, pkt });
          expect(best ? RANK[best.verdict] : 0, where).toBe(maxRank);
          if (kinds.size > 1) conflicted++;
          // the kernel's proxy: E's allow entry with a proxy, else W's
          const kernelProxy = maxRank === 1 ? (e?.verdict === PolicyVerdict.allow && e.proxy ? e.proxy : w?.verdict === PolicyVerdict.allow && w.proxy ? w.proxy : undefined) : undefined;
          const wantProxy = maxRank === 1 ? redirects[0]?.proxy : undefined;
          expect(kernelProxy, where).toBe(wantProxy);
          expect(maxRank === 1 ? best?.proxy : undefined, where).toBe(wantProxy); // the entry ranked first carries it too
          if (wantProxy === undefined) continue;
          redirected++;
          if (wantProxy === ProxyKind.dns) {
            for (const qname of NAMES) {
              const want = covering.some((c) => c.verdict === PolicyVerdict.allow && (c.proxy === undefined || (c.dns ?? []).some((s) => fqdnSelectorMatcher(s)(qname))));
              const got = dnsQueryVerdict(dnsRules, { localId: LOCAL, peerId, proto: pkt.proto, port: pkt.port, qname });
              expect(got.allowed, JSON.stringify({ contributions, peerId, pkt, qname })).toBe(want);
              if (!want) refused++;
              else expect(covering.some((c) => c.ruleId === got.ruleId)).toBe(true);
            }
          } else {
            http++;
            const rules = httpLookup(LOCAL, peerId, pkt.port);
            expect(rules, where).toBeDefined();
            for (const request of REQUESTS) {
              const want = covering.some((c) => c.verdict === PolicyVerdict.allow && (c.proxy === undefined || compileHttpRules(c.http ?? []).match(request).allowed));
              const got = rules?.match(request);
              expect(got?.allowed, JSON.stringify({ contributions, peerId, pkt, request })).toBe(want);
              if (!want) refused++;
              else expect(covering.some((c) => c.ruleId === got?.ruleId)).toBe(true);
            }
          }
        }
      }
    }
    expect(redirected).toBeGreaterThan(200);
    expect(http).toBeGreaterThan(100);
    expect(conflicted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(100);
  });

  it('propagateRedirects adds nothing without any-peer redirects, and only where an exact-peer allow covers the port', () => {
    const c = (peerId: number, block: L4Block, extra: Partial<Contribution> = {}): Contribution => ({ localId: LOCAL, peerId, direction: Direction.egress, block, verdict: PolicyVerdict.allow, ruleId: 1, ...extra });
    const plain = [c(7, b(IpProto.udp)), c(8, b(IpProto.tcp, 53, 16))];
    expect(propagateRedirects(plain.map(asRow))).toEqual([]);
    const redirect = asRow(c(0, b(IpProto.udp, 53, 16), { proxy: ProxyKind.dns, dns: [], ruleId: 2 }));
    expect(propagateRedirects([...plain.map(asRow), redirect])).toEqual([{ ...redirect, peer: 7, origin: 'redirect-copy' }]);
  });
});
