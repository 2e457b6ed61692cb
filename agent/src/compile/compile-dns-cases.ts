/**
 * The given/want table of compile-dns.test.ts and its inputs, in a module of their own so the compile pin
 * (scripts/generate-compile-pin.ts, compile-pin.test.ts) compiles the same inputs.
 */
import type { BundledPolicy } from '../../../openapi/types.js';
import { TO_FQDNS_WITHOUT_DNS_RULE } from './compile-bundle.js';
import { input, PEERS, policy, type Rendered } from './test-cluster.js';
import type { CompileInput, LearnedName } from './types.js';

export const RESOLVER = { ip: '10.0.3.10', ips: ['10.0.3.10', 'fd00:10::3:10'], podName: 'coredns-1', namespace: 'kube-system', labels: { app: 'dns' } };
export const TO_RESOLVER = { toEndpoints: [{ matchLabels: { app: 'dns', 'k8s:io.kubernetes.pod.namespace': 'kube-system' } }] };
export const WEB = { matchLabels: { app: 'web' } };
export const DNS_53 = { ports: [{ port: '53', protocol: 'ANY' as const }] };
export const UDP_53 = { ports: [{ port: '53', protocol: 'UDP' as const }] };
export const TCP_443 = { ports: [{ port: '443', protocol: 'TCP' as const }] };
export const GITHUB = [{ matchName: 'api.github.com' }, { matchPattern: '*.blob.core.windows.net' }];

export const proxyInput = (policies: BundledPolicy[], fqdnNames: LearnedName[] = [], o: Partial<CompileInput> = {}): CompileInput =>
  input(policies, { peers: [...PEERS, RESOLVER], dnsProxy: true, fqdnNames, ...o });

export interface Case {
  name: string;
  given: BundledPolicy[];
  learned?: LearnedName[];
  o?: Partial<CompileInput>;
  want: Partial<Rendered>;
}

export const cases: Case[] = [
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
