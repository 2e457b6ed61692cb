/**
 * The given/want table of compile-http.test.ts and its inputs, in a module of their own so the compile pin
 * (scripts/generate-compile-pin.ts, compile-pin.test.ts) compiles the same inputs.
 */
import { HTTP_PORTS_REASON } from '../../../core/policy/unenforced-parts.js';
import type { BundledPolicy } from '../../../openapi/types.js';
import { input, PEERS, policy, type Rendered } from './test-cluster.js';
import type { CompileInput } from './types.js';

export const RESOLVER = { ip: '10.0.3.10', ips: ['10.0.3.10', 'fd00:10::3:10'], podName: 'coredns-1', namespace: 'kube-system', labels: { app: 'dns' } };
export const WEB = { matchLabels: { app: 'web' } };
export const TO_CLIENT = { toEndpoints: [{ matchLabels: { app: 'client', 'k8s:io.kubernetes.pod.namespace': 'other' } }] };
export const TO_RESOLVER = { toEndpoints: [{ matchLabels: { app: 'dns', 'k8s:io.kubernetes.pod.namespace': 'kube-system' } }] };
export const TCP_80 = { ports: [{ port: '80', protocol: 'TCP' as const }] };
export const TCP_53 = { ports: [{ port: '53', protocol: 'TCP' as const }] };
export const PUBLIC = [{ method: 'GET', path: '/public/.*' }];
export const PUBLIC_JSON = JSON.stringify(PUBLIC);

export const httpInput = (policies: BundledPolicy[], o: Partial<CompileInput> = {}): CompileInput => input(policies, { peers: [...PEERS, RESOLVER], httpProxy: true, ...o });

export const CONFLICT = (port: string): string =>
  `DNS and HTTP rules apply to the same port (${port}) of the same peers, and a connection goes to one proxy only (Cilium rejects conflicting L7 parsers on a port); that port is denied to those peers (fail closed)`;

export interface Case {
  name: string;
  given: BundledPolicy[];
  o?: Partial<CompileInput>;
  want: Partial<Rendered>;
}

export const cases: Case[] = [
  {
    name: 'HTTP rules → TCP/80 to the peer redirected to the HTTP proxy; the proxy checks the rules as written',
    given: [policy('p', { endpointSelector: WEB, egress: [{ ...TO_CLIENT, toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }] })],
    want: {
      policy: ['web@shop out client@other tcp/80 allow p/egress/0 proxy:http'],
      degraded: [],
      httpRules: [`web@shop client@other tcp/80: ${PUBLIC_JSON} p/egress/0`],
      endpoints: ['11 web@shop deny-out', '12 db@shop'],
    },
  },
  {
    name: 'several TCP ports: one redirect each',
    given: [policy('p', { endpointSelector: WEB, egress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }, { port: '8080', protocol: 'TCP' }], rules: { http: PUBLIC } }] }] })],
    want: {
      policy: ['web@shop out * tcp/80 allow p/egress/0 proxy:http', 'web@shop out * tcp/8080 allow p/egress/0 proxy:http'],
      httpRules: [`web@shop * tcp/80: ${PUBLIC_JSON} p/egress/0`, `web@shop * tcp/8080: ${PUBLIC_JSON} p/egress/0`],
    },
  },
  {
    name: 'HTTP rules + a plain TCP/80 allow for the same peer: one key, redirected; the plain rule allows every request ({})',
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ ...TO_CLIENT, toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }] }),
      policy('b', { endpointSelector: WEB, egress: [{ ...TO_CLIENT, toPorts: [TCP_80] }] }),
    ],
    want: {
      policy: ['web@shop out client@other tcp/80 allow b/egress/0 proxy:http'],
      httpRules: [`web@shop client@other tcp/80: [{}] b/egress/0; ${PUBLIC_JSON} a/egress/0`],
    },
  },
  {
    name: 'HTTP rules (any peer) + an L3-only allow to one peer: the peer family gets the redirect on TCP/80 too; its plain rule allows every request',
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }] }),
      policy('b', { endpointSelector: WEB, egress: [TO_CLIENT] }),
    ],
    want: {
      policy: ['web@shop out * tcp/80 allow a/egress/0 proxy:http', 'web@shop out client@other any allow b/egress/0', 'web@shop out client@other tcp/80 allow a/egress/0 proxy:http'],
      httpRules: [`web@shop * tcp/80: ${PUBLIC_JSON} a/egress/0`, 'web@shop client@other tcp/80: [{}] b/egress/0'],
    },
  },
  {
    name: 'HTTP rules to one peer + plain TCP/80 to any peer: only that peer is redirected; the any-peer allow is a wildcard there',
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ ...TO_CLIENT, toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }] }),
      policy('b', { endpointSelector: WEB, egress: [{ toPorts: [TCP_80] }] }),
    ],
    want: {
      policy: ['web@shop out * tcp/80 allow b/egress/0', 'web@shop out client@other tcp/80 allow a/egress/0 proxy:http'],
      httpRules: ['web@shop * tcp/80: [{}] b/egress/0', `web@shop client@other tcp/80: ${PUBLIC_JSON} a/egress/0`],
    },
  },
  {
    name: 'a deny of TCP wins over the redirect (no bit on deny keys)',
    given: [
      policy('a', {
        endpointSelector: WEB,
        egress: [{ ...TO_CLIENT, toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }],
        egressDeny: [{ ...TO_CLIENT, toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }] }] }],
      }),
    ],
    want: { policy: ['web@shop out client@other tcp deny a/egressDeny/0', 'web@shop out client@other tcp/80 deny a/egressDeny/0'] },
  },
  {
    name: 'HTTP rules of an audit-mode policy: redirected, sets marked audit',
    given: [policy('p', { endpointSelector: WEB, egress: [{ ...TO_CLIENT, toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }] }, { mode: 'audit' })],
    want: {
      policy: ['web@shop out client@other tcp/80 allow p/egress/0 proxy:http'],
      httpRules: [`web@shop client@other tcp/80: ${PUBLIC_JSON} (audit) p/egress/0`],
      endpoints: ['11 web@shop deny-out,audit-out', '12 db@shop'],
    },
  },
  {
    name: 'headerMatches[].secret: reported at the field; still redirected (that rule matches nothing in the proxy)',
    given: [
      policy('p', {
        endpointSelector: WEB,
        egress: [{ ...TO_CLIENT, toPorts: [{ ...TCP_80, rules: { http: [{ path: '/a', headerMatches: [{ name: 'X-Token', secret: { name: 's', namespace: 'shop' } }] }, { path: '/b' }] } }] }],
      }),
    ],
    want: {
      policy: ['web@shop out client@other tcp/80 allow p/egress/0 proxy:http'],
      degraded: ['p/egress/0/toPorts/0/rules/http/0/headerMatches/0/secret: header values from Kubernetes secrets are not available to the agent; the rule matches nothing'],
    },
  },
  {
    name: 'a pattern outside the linear-time subset: reported at the field',
    given: [policy('p', { endpointSelector: WEB, egress: [{ toPorts: [{ ...TCP_80, rules: { http: [{ path: '/a\\b' }] } }] }] })],
    want: { policy: ['web@shop out * tcp/80 allow p/egress/0 proxy:http'] },
  },
  {
    name: 'HTTP rules on ingress: the server pod\'s port is redirected for the allowed clients (the ingress redirect)',
    given: [policy('p', { endpointSelector: WEB, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'db' } }], toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }] })],
    want: { policy: ['web@shop in db@shop tcp/80 allow p/ingress/0 proxy:http'], httpRules: ['web@shop in db@shop tcp/80: [{"method":"GET","path":"/public/.*"}] p/ingress/0'], endpoints: ['11 web@shop deny-in', '12 db@shop'] },
  },
  {
    name: 'HTTP rules on a port without protocol TCP, or on a range: reported, no L4 allow',
    given: [
      policy('p', {
        endpointSelector: WEB,
        egress: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: PUBLIC } }] }, { toPorts: [{ ports: [{ port: '8000', endPort: 8010, protocol: 'TCP' }], rules: { http: PUBLIC } }] }],
      }),
    ],
    want: { policy: [], degraded: [`p/egress/0/toPorts/0/rules/http: ${HTTP_PORTS_REASON}`, `p/egress/1/toPorts/0/rules/http: ${HTTP_PORTS_REASON}`] },
  },
  {
    name: 'allow-all HTTP rule {}: redirected in both directions (the proxy sees the requests)',
    given: [policy('p', { endpointSelector: WEB, egress: [{ toPorts: [{ ...TCP_80, rules: { http: [{}] } }] }], ingress: [{ toPorts: [{ ...TCP_80, rules: { http: [{}] } }] }] })],
    want: { policy: ['web@shop in * tcp/80 allow p/ingress/0 proxy:http', 'web@shop out * tcp/80 allow p/egress/0 proxy:http'], degraded: [], httpRules: ['web@shop * tcp/80: [{}] p/egress/0', 'web@shop in * tcp/80: [{}] p/ingress/0'] },
  },
  {
    name: 'DNS and HTTP rules on TCP/53 of the same peer: denied there and reported at both rule sets',
    o: { dnsProxy: true },
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...TCP_53, rules: { dns: [{ matchPattern: '*' }] } }] }] }),
      policy('b', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...TCP_53, rules: { http: PUBLIC } }] }] }),
    ],
    want: {
      policy: ['web@shop out dns@kube-system tcp/53 deny 0'],
      degraded: [`a/egress/0/toPorts/0/rules/dns: ${CONFLICT('TCP/53')}`, `b/egress/0/toPorts/0/rules/http: ${CONFLICT('TCP/53')}`],
    },
  },
  {
    name: 'DNS rules on TCP/53 to any peer, HTTP rules on TCP/53 to the resolver: only the resolver is denied; others go to the DNS proxy',
    o: { dnsProxy: true },
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ toPorts: [{ ...TCP_53, rules: { dns: [{ matchPattern: '*' }] } }] }] }),
      policy('b', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...TCP_53, rules: { http: PUBLIC } }] }] }),
    ],
    want: {
      policy: ['web@shop out * tcp/53 allow a/egress/0 proxy:dns', 'web@shop out dns@kube-system tcp/53 deny 0'],
      degraded: [`a/egress/0/toPorts/0/rules/dns: ${CONFLICT('TCP/53')}`, `b/egress/0/toPorts/0/rules/http: ${CONFLICT('TCP/53')}`],
    },
  },
  {
    name: 'DNS on UDP/53 and HTTP on TCP/53: different ports, no conflict',
    o: { dnsProxy: true },
    given: [
      policy('a', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '*' }] } }] }] }),
      policy('b', { endpointSelector: WEB, egress: [{ ...TO_RESOLVER, toPorts: [{ ...TCP_53, rules: { http: PUBLIC } }] }] }),
    ],
    want: { policy: ['web@shop out dns@kube-system tcp/53 allow b/egress/0 proxy:http', 'web@shop out dns@kube-system udp/53 allow a/egress/0 proxy:dns'], degraded: [] },
  },
];
