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
import { compileBundle, TO_FQDNS_WITHOUT_DNS_RULE } from './compile-bundle.js';
import { createDnsQueryVerdict, dnsQueryVerdict } from './dns-rules.js';
import { createFqdnLearner } from './fqdn-learning.js';
import { input, PEERS, policy, render, type Rendered } from './test-cluster.js';
import type { CompiledState, CompileInput, LearnedName } from './types.js';

const RESOLVER = { ip: '10.0.3.10', ips: ['10.0.3.10', 'fd00:10::3:10'], podName: 'coredns-1', namespace: 'kube-system', labels: { app: 'dns' } };
const TO_RESOLVER = { toEndpoints: [{ matchLabels: { app: 'dns', 'k8s:io.kubernetes.pod.namespace': 'kube-system' } }] };
const WEB = { matchLabels: { app: 'web' } };
const DNS_53 = { ports: [{ port: '53', protocol: 'ANY' as const }] };
const UDP_53 = { ports: [{ port: '53', protocol: 'UDP' as const }] };
const TCP_443 = { ports: [{ port: '443', protocol: 'TCP' as const }] };
const GITHUB = [{ matchName: 'api.github.com' }, { matchPattern: '*.blob.core.windows.net' }];

const proxyInput = (policies: BundledPolicy[], fqdnNames: LearnedName[] = [], o: Partial<CompileInput> = {}): CompileInput =>
  input(policies, { peers: [...PEERS, RESOLVER], dnsProxy: true, fqdnNames, ...o });

interface Case {
  name: string;
  given: BundledPolicy[];
  learned?: LearnedName[];
  o?: Partial<CompileInput>;
  want: Partial<Rendered>;
}

const cases: Case[] = [
  {
    name: 'DNS rules → TCP and UDP 53 to the resolver redirected to the proxy; the proxy checks the patterns',
    given: [policy('p', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...DNS_53, rules: { dns: GITHUB } }] }] })],
    want: {
      policy: ['web@shop out dns@kube-system tcp/53 allow p/egress/0 proxy:dns', 'web@shop out dns@kube-system udp/53 allow p/egress/0 proxy:dns'],
      degraded: [],
      dnsRules: [
        'web@shop dns@kube-system tcp/53: *.blob.core.windows.net p/egress/0, api.github.com p/egress/0',
        'web@shop dns@kube-system udp/53: *.blob.core.windows.net p/egress/0, api.github.com p/egress/0',
      ],
    },
  },
  {
    name: 'matchPattern "*" is redirected too (the proxy sees the answers it learns from)',
    given: [policy('p', { endpointSelector: WEB, egress: [{ toPorts: [{ ...UDP_53, rules: { dns: [{ matchPattern: '*' }] } }] }] })],
    want: { policy: ['web@shop out * udp/53 allow p/egress/0 proxy:dns'], dnsRules: ['web@shop * udp/53: * p/egress/0'] },
  },
  {
    name: 'DNS rule (any peer) + plain UDP/53 allow to the resolver: the exact-peer key carries the bit; the plain rule allows every query there',
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ toPorts: [{ ...UDP_53, rules: { dns: GITHUB } }] }] }),
      policy('b', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [UDP_53] }] }),
    ],
    want: {
      policy: ['web@shop out * udp/53 allow a/egress/0 proxy:dns', 'web@shop out dns@kube-system udp/53 allow b/egress/0 proxy:dns'],
      dnsRules: [
        'web@shop * udp/53: *.blob.core.windows.net a/egress/0, api.github.com a/egress/0',
        'web@shop dns@kube-system udp/53: * b/egress/0',
      ],
    },
  },
  {
    name: 'DNS rule + plain UDP/53 allow for the same resolver: one key, redirected; every query allowed (the plain rule)',
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...UDP_53, rules: { dns: GITHUB } }] }] }),
      policy('b', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [UDP_53] }] }),
    ],
    want: {
      policy: ['web@shop out dns@kube-system udp/53 allow b/egress/0 proxy:dns'],
      dnsRules: ['web@shop dns@kube-system udp/53: * b/egress/0, *.blob.core.windows.net a/egress/0, api.github.com a/egress/0'],
    },
  },
  {
    name: 'DNS rule (any peer) + L3-only allow to the resolver: a redirect key is added under the any-port allow',
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ toPorts: [{ ...UDP_53, rules: { dns: GITHUB } }] }] }),
      policy('b', { endpointSelector: WEB, egress: [TO_RESOLVER] }),
    ],
    want: {
      policy: [
        'web@shop out * udp/53 allow a/egress/0 proxy:dns',
        'web@shop out dns@kube-system any allow b/egress/0',
        'web@shop out dns@kube-system udp/53 allow a/egress/0 proxy:dns',
      ],
      dnsRules: [
        'web@shop * udp/53: *.blob.core.windows.net a/egress/0, api.github.com a/egress/0',
        'web@shop dns@kube-system udp/53: * b/egress/0',
      ],
    },
  },
  {
    name: 'DNS rule to the resolver + plain UDP/53 to any peer: only the resolver is redirected; the any-peer allow is a wildcard there',
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...UDP_53, rules: { dns: GITHUB } }] }] }),
      policy('b', { endpointSelector: WEB, egress: [{ toPorts: [UDP_53] }] }),
    ],
    want: {
      policy: ['web@shop out * udp/53 allow b/egress/0', 'web@shop out dns@kube-system udp/53 allow a/egress/0 proxy:dns'],
      dnsRules: ['web@shop * udp/53: * b/egress/0', 'web@shop dns@kube-system udp/53: *.blob.core.windows.net a/egress/0, api.github.com a/egress/0'],
    },
  },
  {
    name: 'a deny of UDP/53 wins over the redirect (no bit on deny keys)',
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...UDP_53, rules: { dns: GITHUB } }] }], egressDeny: [{ ...TO_RESOLVER, toPorts: [{ ports: [{ port: '0', protocol: 'UDP' }] }] }] }),
    ],
    want: { policy: ['web@shop out dns@kube-system udp deny a/egressDeny/0', 'web@shop out dns@kube-system udp/53 deny a/egressDeny/0'] },
  },
  {
    name: 'DNS rules of an audit-mode policy: redirected, allows marked audit',
    given: [policy('p', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...UDP_53, rules: { dns: [{ matchName: 'a.example' }] } }] }] }, { mode: 'audit' })],
    want: { policy: ['web@shop out dns@kube-system udp/53 allow p/egress/0 proxy:dns'], dnsRules: ['web@shop dns@kube-system udp/53: a.example (audit) p/egress/0'] },
  },
  {
    name: 'an audit-mode deny over an enforce DNS redirect is not clipped onto it (it would forward past the proxy)',
    given: [
      policy('e', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...UDP_53, rules: { dns: GITHUB } }] }, { toCIDR: ['198.51.100.0/24'] }] }),
      policy('a', { endpointSelector: WEB, egressDeny: [{ toEntities: ['all'] }] }, { mode: 'audit' }),
    ],
    want: {
      policy: ['web@shop out cidr:198.51.100.0/24 any audit-deny a/egressDeny/0', 'web@shop out dns@kube-system udp/53 allow e/egress/0 proxy:dns'],
      endpoints: ['11 web@shop deny-out', '12 db@shop'],
    },
  },
  {
    name: 'toFQDNs: learned IPv4 and IPv6 addresses get CIDR identities; the rule allows its ports to them',
    given: [policy('p', { endpointSelector: WEB, egress: [{ toFQDNs: [{ matchName: 'api.github.com' }], toPorts: [TCP_443] }] })],
    learned: [{ name: 'api.github.com', ips: ['140.82.112.5', '2606:50c0::5'] }, { name: 'other.example', ips: ['198.51.100.1'] }],
    want: {
      policy: ['web@shop out fqdn:140.82.112.5/32 tcp/443 allow p/egress/0', 'web@shop out fqdn:2606:50c0::5/128 tcp/443 allow p/egress/0'],
      ipcache: [
        '10.0.1.1/32 web@shop', '10.0.1.2/32 db@shop', '10.0.1.3/32 web@shop', '10.0.2.1/32 client@other', '10.0.2.2/32 web@other', '10.0.3.10/32 dns@kube-system',
        '140.82.112.5/32 fqdn:140.82.112.5/32', '192.168.0.1/32 host', '192.168.0.2/32 remote-node', '198.51.100.1/32 fqdn:198.51.100.1/32',
        '2606:50c0::5/128 fqdn:2606:50c0::5/128',
        'fd00:10::1:1/128 web@shop', 'fd00:10::1:2/128 db@shop', 'fd00:10::1:3/128 web@shop', 'fd00:10::2:1/128 client@other', 'fd00:10::3:10/128 dns@kube-system',
        'fd00:192::1/128 host', 'fd00:192::2/128 remote-node',
      ],
      // no DNS rule applies to web: its own lookups are not learned (these names came from elsewhere)
      degraded: [`p/egress/0/toFQDNs: ${TO_FQDNS_WITHOUT_DNS_RULE}`],
    },
  },
  {
    name: 'a learned address that is a pod address stays the pod; toFQDNs never selects it',
    given: [policy('p', { endpointSelector: WEB, egress: [{ toFQDNs: [{ matchPattern: '*.example' }] }] })],
    learned: [{ name: 'client.example', ips: ['10.0.2.1', 'fd00:10::2:1'] }, { name: 'ext.example', ips: ['198.51.100.7'] }],
    want: { policy: ['web@shop out fqdn:198.51.100.7/32 any allow p/egress/0'] },
  },
  {
    name: 'one address, two selectors of different rules with different ports',
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ toFQDNs: [{ matchName: 'www.example.com' }], toPorts: [TCP_443] }] }),
      policy('b', { endpointSelector: WEB, egress: [{ toFQDNs: [{ matchPattern: '*.example.com' }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] }),
    ],
    learned: [{ name: 'www.example.com', ips: ['198.51.100.7'] }],
    want: { policy: ['web@shop out fqdn:198.51.100.7/32 tcp/443 allow a/egress/0', 'web@shop out fqdn:198.51.100.7/32 tcp/80 allow b/egress/0'] },
  },
  {
    name: 'CNAME: names of a chain share the address; a selector of any of them selects it',
    given: [policy('p', { endpointSelector: WEB, egress: [{ toFQDNs: [{ matchName: 'www.example.com' }], toPorts: [TCP_443] }] })],
    learned: [{ name: 'WWW.Example.com.', ips: ['198.51.100.7'] }, { name: 'edge.cdn.example.net', ips: ['198.51.100.7', '198.51.100.8'] }],
    want: { policy: ['web@shop out fqdn:198.51.100.7/32 tcp/443 allow p/egress/0'] },
  },
  {
    name: 'an egressDeny toCIDR containing a learned address still denies it; the allowing toCIDR keeps selecting it',
    given: [
      policy('p', {
        endpointSelector: WEB,
        egress: [{ toFQDNs: [{ matchName: 'a.example' }], toPorts: [TCP_443] }, { toCIDR: ['198.51.100.0/24'], toPorts: [{ ports: [{ port: '22', protocol: 'TCP' }] }] }],
        egressDeny: [{ toCIDRSet: [{ cidr: '198.51.0.0/16', except: ['198.51.200.0/24'] }], toPorts: [TCP_443] }],
      }),
    ],
    learned: [{ name: 'a.example', ips: ['198.51.100.7'] }],
    want: {
      policy: [
        'web@shop out cidr:198.51.0.0/16 tcp/443 deny p/egressDeny/0',
        'web@shop out cidr:198.51.100.0/24 tcp/22 allow p/egress/1',
        'web@shop out cidr:198.51.100.0/24 tcp/443 deny p/egressDeny/0',
        'web@shop out fqdn:198.51.100.7/32 tcp/22 allow p/egress/1',
        'web@shop out fqdn:198.51.100.7/32 tcp/443 deny p/egressDeny/0',
      ],
    },
  },
];

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
