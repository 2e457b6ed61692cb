/**
 * compileBundle with the DNS proxy (issue 11), table-driven over the test cluster (test-cluster.ts)
 * plus a resolver pod dns@kube-system (10.0.3.10, fd00:10::3:10): DNS rules → allows redirected to
 * the proxy (` proxy:dns`) and dnsRules; toFQDNs → learned addresses as CIDR identities (rendered
 * `fqdn:<prefix>`). Without `dnsProxy` the output is today's (both fail closed, reported).
 */
import { describe, expect, it } from 'vitest';

import type { BundledPolicy } from '../../../openapi/types.js';
import type { PolicyEntry } from '../kernel/codecs.js';
import { Direction, IpProto } from '../kernel/identities.js';
import { compileBundle } from './compile-bundle.js';
import { createDnsQueryVerdict, dnsQueryVerdict } from './dns-rules.js';
import { createFqdnLearner } from './fqdn-learning.js';
import { input, PEERS, policy, render, type Rendered } from './test-cluster.js';
import type { CompiledState, LearnedName } from './types.js';
import { cases, DNS_53, GITHUB, proxyInput, RESOLVER, TCP_443, TO_RESOLVER, UDP_53, WEB } from './compile-dns-cases.js';

describe('compileBundle with the DNS proxy', () => {
  it.each(cases)('$name', ({ given, learned, o, want }) => {
    const got = render(compileBundle(proxyInput(given, learned ?? [], o)));
    // policy lines sorted as text (the state sorts by identity number)
    for (const key of Object.keys(want) as Array<keyof Rendered>) expect(key === 'policy' ? [...(got[key] ?? [])].sort() : got[key], key).toEqual(want[key]);
  });

  it('without dnsProxy: DNS rules and toFQDNs fail closed and are reported as before; no dnsRules, learned names ignored', () => {
    const policies = [policy('p', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...UDP_53, rules: { dns: GITHUB } }] }, { toFQDNs: [{ matchName: 'a.example' }] }] })];
    const learned = [{ name: 'a.example', ips: ['198.51.100.7'] }];
    const off = compileBundle(input(policies, { peers: [...PEERS, RESOLVER], fqdnNames: learned }));
    expect(off).toEqual(compileBundle(input(policies, { peers: [...PEERS, RESOLVER] })));
    expect('dnsRules' in off).toBe(false);
    expect(off.policy).toEqual([]);
    expect(render(off).degraded).toEqual([
      'p/egress/0/toPorts/0/rules/dns: DNS rules need the DNS proxy, which this node does not run (agent --no-dns-proxy, or no node address for it); no L4 allow for these ports (fail closed)',
      'p/egress/1/toFQDNs: FQDN rules need the DNS proxy, which this node does not run (agent --no-dns-proxy, or no node address for it); contributes no allow (fail closed)',
    ]);
  });

  it('learned identities carry fqdn labels of the selectors that select them, and every learned name', () => {
    const got = compileBundle(
      proxyInput(
        [
          policy('a', { endpointSelector: WEB, egress: [{ toFQDNs: [{ matchName: 'WWW.example.com.' }] }] }),
          policy('b', { endpointSelector: WEB, egress: [{ toFQDNs: [{ matchPattern: '*.example.com' }, { matchName: 'nothing.example' }] }] }),
        ],
        [{ name: 'www.example.com', ips: ['198.51.100.7'] }, { name: 'edge.cdn.example.net', ips: ['198.51.100.7'] }, { name: 'v6.example.com', ips: ['2001:db8::5'] }],
      ),
    );
    expect(got.identities.find((i) => i.cidr === '198.51.100.7/32')).toMatchObject({
      kind: 'cidr',
      labels: ['cidr:198.51.100.7/32=', 'fqdn:*.example.com=', 'fqdn:www.example.com=', 'reserved:world='],
      fqdnNames: ['edge.cdn.example.net', 'www.example.com'],
    });
    expect(got.identities.find((i) => i.cidr === '2001:db8::5/128')).toMatchObject({
      labels: ['cidr:2001-db8--5/128=', 'fqdn:*.example.com=', 'reserved:world-ipv6='],
      fqdnNames: ['v6.example.com'],
    });
  });

  it('fqdnSelectors: per local identity, the toFQDNs selectors of the policies selecting it; createFqdnLearner decides what to learn', () => {
    const state = compileBundle(
      proxyInput([
        policy('a', { endpointSelector: WEB, egress: [{ toFQDNs: [{ matchName: 'API.github.com.' }, { matchPattern: '*.example.com' }], toPorts: [TCP_443] }] }),
        policy('b', { endpointSelector: {}, egress: [{ toFQDNs: [{ matchPattern: '*.example.com' }] }] }, { mode: 'audit' }),
        policy('c', { endpointSelector: {}, egressDeny: [{ toCIDR: ['198.51.100.0/24'] }], ingress: [{ toPorts: [TCP_443] }] }),
      ]),
    );
    const id = (podName: string): number => state.identities.find((i) => i.podNames?.includes(podName))?.id ?? -1;
    expect(state.fqdnSelectors).toEqual(
      [
        { localId: id('web-1'), selectors: [{ matchPattern: '*.example.com' }, { matchName: 'api.github.com' }] },
        { localId: id('db-1'), selectors: [{ matchPattern: '*.example.com' }] },
      ].sort((x, y) => x.localId - y.localId),
    );
    const learns = createFqdnLearner(state.fqdnSelectors ?? []);
    expect(learns(id('web-1'), 'api.GitHub.com.')).toBe(true);
    expect(learns(id('db-1'), 'api.github.com')).toBe(false);
    expect(learns(id('db-1'), 'x.example.com')).toBe(true);
    expect(learns(12345, 'x.example.com')).toBe(false);
  });

  it('the world entity selects learned addresses (they are world, as in Cilium); cluster does not', () => {
    const learned = [{ name: 'a.example', ips: ['198.51.100.7'] }];
    const world = render(compileBundle(proxyInput([policy('p', { endpointSelector: WEB, egress: [{ toEntities: ['world'], toPorts: [TCP_443] }] })], learned)));
    expect(world.policy).toContain('web@shop out fqdn:198.51.100.7/32 tcp/443 allow p/egress/0');
    const cluster = render(compileBundle(proxyInput([policy('p', { endpointSelector: WEB, egress: [{ toEntities: ['cluster'], toPorts: [TCP_443] }] })], learned)));
    expect(cluster.policy.some((l) => l.includes('fqdn:'))).toBe(false);
  });

  it('dnsQueryVerdict over the compiled dnsRules: patterns, wildcard of a plain rule, attribution, fail closed', () => {
    const state = compileBundle(
      proxyInput([
        policy('a', { endpointSelector: WEB, egress: [{ toPorts: [{ ...UDP_53, rules: { dns: GITHUB } }] }] }),
        policy('b', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [UDP_53] }] }),
      ]),
    );
    const id = (podName: string): number => state.identities.find((i) => i.podNames?.includes(podName))?.id ?? -1;
    const ruleOf = (name: string): number => state.rules.find((r) => r.policy === name)?.ruleId ?? -1;
    const rules = state.dnsRules ?? [];
    const q = (peer: string, qname: string, proto: number = IpProto.udp) => dnsQueryVerdict(rules, { localId: id('web-1'), peerId: id(peer), proto, port: 53, qname });
    // another peer: only the DNS rule's patterns (case-insensitive, trailing dot)
    expect(q('client-1', 'API.github.com.')).toEqual({ allowed: true, audit: false, ruleId: ruleOf('a') });
    expect(q('client-1', 'x.blob.core.windows.net')).toEqual({ allowed: true, audit: false, ruleId: ruleOf('a') });
    expect(q('client-1', 'evil.example')).toEqual({ allowed: false, audit: false, ruleId: 0 });
    // the resolver: the plain rule allows every query; a DNS rule's match still attributes first
    expect(q('coredns-1', 'evil.example')).toEqual({ allowed: true, audit: false, ruleId: ruleOf('b') });
    expect(q('coredns-1', 'api.github.com')).toEqual({ allowed: true, audit: false, ruleId: ruleOf('a') });
    // a port the kernel never redirects: no entry, fail closed
    expect(q('coredns-1', 'api.github.com', IpProto.tcp)).toEqual({ allowed: false, audit: false, ruleId: 0 });
  });

  it('dnsQueryVerdict: an audit-mode allow never loosens an enforce-mode refusal; alone, a would-refusal is forwarded as audit', () => {
    const rules = [
      { localId: 300, peers: 'any' as const, proto: 17, port: 53, allow: [{ matchName: 'a.example', ruleId: 1 }] },
      { localId: 300, peers: [7], proto: 17, port: 53, allow: [{ matchPattern: '*', ruleId: 2, audit: true as const }] },
      { localId: 301, peers: 'any' as const, proto: 17, port: 53, allow: [{ matchName: 'a.example', ruleId: 3, audit: true as const }] },
    ];
    expect(dnsQueryVerdict(rules, { localId: 300, peerId: 7, proto: 17, port: 53, qname: 'b.example' })).toEqual({ allowed: false, audit: false, ruleId: 0 });
    expect(dnsQueryVerdict(rules, { localId: 300, peerId: 7, proto: 17, port: 53, qname: 'a.example' })).toEqual({ allowed: true, audit: false, ruleId: 1 });
    expect(dnsQueryVerdict(rules, { localId: 301, peerId: 7, proto: 17, port: 53, qname: 'a.example' })).toEqual({ allowed: true, audit: false, ruleId: 3 });
    expect(dnsQueryVerdict(rules, { localId: 301, peerId: 7, proto: 17, port: 53, qname: 'b.example' })).toEqual({ allowed: true, audit: true, ruleId: 0 });
  });

  it('is deterministic: shuffled learned names, addresses and spellings give the identical result', () => {
    const policies = [
      policy('a', { endpointSelector: WEB, egress: [{ toFQDNs: [{ matchPattern: '*.example.com' }], toPorts: [TCP_443] }, { toPorts: [{ ...DNS_53, rules: { dns: GITHUB } }] }] }),
    ];
    const learned: LearnedName[] = [
      { name: 'a.example.com', ips: ['198.51.100.7', '2001:db8::5', 'bad'] },
      { name: 'b.example.com', ips: ['198.51.100.7', '198.51.100.9'] },
    ];
    const want: CompiledState = compileBundle(proxyInput(policies, learned));
    const shuffled: LearnedName[] = [
      { name: 'B.example.com.', ips: ['198.51.100.9', '198.51.100.7'] },
      { name: 'a.example.com', ips: ['2001:0db8:0::5', '::ffff:198.51.100.7'] },
    ];
    expect(compileBundle(proxyInput([...policies].reverse(), shuffled))).toEqual(want);
    expect(want.ipcache.filter((e) => e.cidr.startsWith('198.51') || e.cidr.startsWith('2001')).map((e) => e.cidr)).toEqual(['198.51.100.7/32', '198.51.100.9/32', '2001:db8::5/128']);
  });
});

describe('compileBundle with the DNS proxy: kernel-style property over random policies', () => {
  const RANK: Record<number, number> = { 1: 1, 3: 2, 2: 3 }; // PolicyVerdict allow 1, deny 2, audit-deny 3 → rank
  const bitsOf = (e: PolicyEntry): number => (e.proto === 0 ? 72 : 80 + e.portPrefixLen);
  const covers = (e: PolicyEntry, proto: number, port: number): boolean =>
    e.proto === 0 || (e.proto === proto && (e.portPrefixLen === 0 || e.port >>> (16 - e.portPrefixLen) === port >>> (16 - e.portPrefixLen)));
  const decide = (s: CompiledState, localId: number, peerId: number, proto: number, port: number): PolicyEntry | undefined => {
    const longest = (peer: number) =>
      s.policy.filter((e) => e.localId === localId && e.peerId === peer && e.direction === Direction.egress && covers(e, proto, port)).sort((a, b) => bitsOf(b) - bitsOf(a))[0];
    const e = longest(peerId);
    const w = longest(0);
    return (w ? RANK[w.verdict] ?? 0 : 0) > (e ? RANK[e.verdict] ?? 0 : 0) ? w : e;
  };

  it('the L3/L4 decision is the one without DNS rules; every redirected packet has DNS rules to check, and only DNS ports are redirected', () => {
    let seed = 99;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    const pick = <T,>(xs: readonly T[]): T => xs[rnd(xs.length)] as T;
    const PEERS_OF: Array<Record<string, unknown>> = [
      { toEndpoints: [{ matchLabels: { app: 'dns' } }] },
      { toEndpoints: [{ matchLabels: { app: 'client' } }] },
      { toEntities: ['cluster'] },
      { toEntities: ['world'] },
      { toEntities: ['all'] },
      { toCIDR: ['198.51.100.0/24'] },
      { toFQDNs: [{ matchPattern: '*.example.com' }] },
      {},
    ];
    const PORTS = [
      [{ port: '53', protocol: 'UDP' }],
      [{ port: '53', protocol: 'TCP' }],
      [{ port: '53', protocol: 'ANY' }],
      [{ port: '53', protocol: 'UDP' }, { port: '54', protocol: 'UDP' }],
    ];
    const learned = [{ name: 'a.example.com', ips: ['198.51.100.7', '2001:db8::7'] }, { name: 'b.example.org', ips: ['203.0.113.9'] }];
    let redirected = 0;
    for (let round = 0; round < 60; round++) {
      const withDns: BundledPolicy[] = [];
      const withoutDns: BundledPolicy[] = [];
      const dnsPorts = new Set<string>();
      for (let i = 0, n = 1 + rnd(4); i < n; i++) {
        const egress: Array<Record<string, unknown>> = [];
        const plain: Array<Record<string, unknown>> = [];
        for (let j = 0, m = 1 + rnd(3); j < m; j++) {
          const peer = pick(PEERS_OF);
          const kind = rnd(4); // 0–1 DNS rule, 2 plain ports, 3 L3-only
          const ports = pick(PORTS);
          if (kind <= 1) {
            for (const p of ports) for (const proto of p.protocol === 'ANY' ? ['TCP', 'UDP'] : [p.protocol]) dnsPorts.add(`${proto === 'TCP' ? 6 : 17}/${p.port}`);
            egress.push({ ...peer, toPorts: [{ ports, rules: { dns: [pick([{ matchName: 'a.example.com' }, { matchPattern: '*.example.org' }, { matchPattern: '*' }])] } }] });
            plain.push({ ...peer, toPorts: [{ ports }] });
          } else if (kind === 2) {
            egress.push({ ...peer, toPorts: [{ ports }] });
            plain.push({ ...peer, toPorts: [{ ports }] });
          } else if (Object.keys(peer).length > 0) {
            egress.push(peer);
            plain.push(peer);
          }
        }
        const deny = rnd(3) === 0 ? [{ ...pick(PEERS_OF.filter((p) => !('toFQDNs' in p))), toPorts: [{ ports: pick(PORTS) }] }] : [];
        const selector = pick([{}, WEB, { matchLabels: { app: 'db' } }]);
        withDns.push(policy(`p${i}`, { endpointSelector: selector, egress, ...(deny.length ? { egressDeny: deny } : {}) } as BundledPolicy['spec']));
        withoutDns.push(policy(`p${i}`, { endpointSelector: selector, egress: plain, ...(deny.length ? { egressDeny: deny } : {}) } as BundledPolicy['spec']));
      }
      const a = compileBundle(proxyInput(withDns, learned));
      const b = compileBundle(proxyInput(withoutDns, learned));
      expect(a.endpoints).toEqual(b.endpoints);
      expect(a.ipcache).toEqual(b.ipcache);
      const verdict = createDnsQueryVerdict(a.dnsRules ?? []);
      const peers = [...a.identities.map((i) => i.id), 2, 10];
      for (const local of new Set(a.endpoints.map((e) => e.identity))) {
        for (const peerId of peers) {
          for (const [proto, port] of [[17, 53], [6, 53], [17, 54], [6, 54], [6, 80]] as const) {
            const x = decide(a, local, peerId, proto, port);
            const y = decide(b, local, peerId, proto, port);
            const where = JSON.stringify({ round, local, peerId, proto, port });
            expect(x ? RANK[x.verdict] : 0, where).toBe(y ? RANK[y.verdict] : 0);
            if (x?.proxy === undefined) continue;
            redirected++;
            expect(dnsPorts.has(`${proto}/${port}`), where).toBe(true);
            // the proxy has DNS rules for the packet (never "no entry"), all of enforce-mode policies
            const probe = verdict({ localId: local, peerId, proto, port, qname: 'a.example.com' });
            const anyRule = (a.dnsRules ?? []).some((e) => e.localId === local && e.proto === proto && e.port === port && (e.peers === 'any' || e.peers.includes(peerId)));
            expect(anyRule, where).toBe(true);
            expect(probe.audit).toBe(false);
          }
        }
      }
    }
    expect(redirected).toBeGreaterThan(100);
  });
});

describe('zombie learned addresses (past their TTL, a connection still uses them)', () => {
  const fqdnPolicy = (extra: Record<string, unknown>[] = []) =>
    policy('z', { endpointSelector: WEB, egress: [{ toFQDNs: [{ matchName: 'api.example.org' }], toPorts: [TCP_443] }, ...extra] });
  const learned: LearnedName[] = [{ name: 'api.example.org', ips: ['203.0.113.5', '2001:db8::5'] }];
  const entry = (c: CompiledState, cidr: string) => c.ipcache.find((e) => e.cidr === cidr);

  it('keeps the learned identity for connections that exist; a new connection gets the family\'s world', () => {
    const fresh = compileBundle(proxyInput([fqdnPolicy()], learned));
    const zombie = compileBundle(proxyInput([fqdnPolicy()], learned, { fqdnZombies: ['203.0.113.5', '2001:db8::5'] }));
    for (const [cidr, world] of [['203.0.113.5/32', 2], ['2001:db8::5/128', 10]] as const) {
      expect(entry(fresh, cidr)?.newConnectionIdentity).toBeUndefined();
      expect(entry(zombie, cidr)).toEqual({ ...entry(fresh, cidr), newConnectionIdentity: world });
    }
    // nothing else changes: same policy, same identities
    expect(zombie.policy).toEqual(fresh.policy);
  });

  it('a CIDR prefix containing the zombie gives new connections its identity; a CIDR of exactly the address keeps one identity', () => {
    const withCidr = compileBundle(proxyInput([fqdnPolicy([{ toCIDR: ['203.0.113.0/24'], toPorts: [TCP_443] }])], learned, { fqdnZombies: ['203.0.113.5'] }));
    expect(entry(withCidr, '203.0.113.5/32')?.newConnectionIdentity).toBe(entry(withCidr, '203.0.113.0/24')?.identity);
    const exact = compileBundle(proxyInput([fqdnPolicy([{ toCIDR: ['203.0.113.5/32'], toPorts: [TCP_443] }])], learned, { fqdnZombies: ['203.0.113.5'] }));
    expect(entry(exact, '203.0.113.5/32')?.newConnectionIdentity).toBeUndefined();
  });

  it('zombies are read only with the proxy, and only for learned addresses', () => {
    const noProxy = compileBundle(input([fqdnPolicy()], { peers: [...PEERS, RESOLVER], fqdnNames: learned, fqdnZombies: ['203.0.113.5'] }));
    expect(noProxy.ipcache.some((e) => e.newConnectionIdentity !== undefined)).toBe(false);
    const notLearned = compileBundle(proxyInput([fqdnPolicy()], learned, { fqdnZombies: ['198.51.100.1', RESOLVER.ip] }));
    expect(notLearned.ipcache.some((e) => e.newConnectionIdentity !== undefined)).toBe(false);
  });
});
