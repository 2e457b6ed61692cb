/**
 * compileBundle with the HTTP proxy (issue 12 groundwork), table-driven over the test cluster
 * (test-cluster.ts): egress HTTP rules on numbered TCP ports → allows redirected to the proxy
 * (` proxy:http`) and httpRules; what cannot be enforced is reported. Without `httpProxy` the output
 * is today's (HTTP rules fail closed, reported). Also createHttpRuleLookup's decisions.
 */
import { describe, expect, it } from 'vitest';

import { HTTP_PORTS_REASON } from '../../../core/policy/unenforced-parts.js';
import type { BundledPolicy } from '../../../openapi/types.js';
import { compileBundle } from './compile-bundle.js';
import { Direction } from '../kernel/identities.js';
import { createHttpRuleLookup } from './http-rules.js';
import { input, PEERS, policy, render, type Rendered } from './test-cluster.js';
import type { CompileInput, HttpRuleEntry } from './types.js';

const RESOLVER = { ip: '10.0.3.10', ips: ['10.0.3.10', 'fd00:10::3:10'], podName: 'coredns-1', namespace: 'kube-system', labels: { app: 'dns' } };
const WEB = { matchLabels: { app: 'web' } };
const TO_CLIENT = { toEndpoints: [{ matchLabels: { app: 'client', 'k8s:io.kubernetes.pod.namespace': 'other' } }] };
const TO_RESOLVER = { toEndpoints: [{ matchLabels: { app: 'dns', 'k8s:io.kubernetes.pod.namespace': 'kube-system' } }] };
const TCP_80 = { ports: [{ port: '80', protocol: 'TCP' as const }] };
const TCP_53 = { ports: [{ port: '53', protocol: 'TCP' as const }] };
const PUBLIC = [{ method: 'GET', path: '/public/.*' }];
const PUBLIC_JSON = JSON.stringify(PUBLIC);

const httpInput = (policies: BundledPolicy[], o: Partial<CompileInput> = {}): CompileInput => input(policies, { peers: [...PEERS, RESOLVER], httpProxy: true, ...o });

const CONFLICT = (port: string): string =>
  `DNS and HTTP rules apply to the same port (${port}) of the same peers, and a connection goes to one proxy only (Cilium rejects conflicting L7 parsers on a port); that port is denied to those peers (fail closed)`;

interface Case {
  name: string;
  given: BundledPolicy[];
  o?: Partial<CompileInput>;
  want: Partial<Rendered>;
}

const cases: Case[] = [
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

describe('compileBundle with the HTTP proxy', () => {
  it.each(cases)('$name', ({ given, o, want }) => {
    const got = render(compileBundle(httpInput(given, o)));
    // policy lines sorted as text (the state sorts by identity number)
    for (const key of Object.keys(want) as Array<keyof Rendered>) expect(key === 'policy' ? [...(got[key] ?? [])].sort() : got[key], key).toEqual(want[key]);
  });

  it('a pattern the safe matcher rejects is reported at its field', () => {
    const got = render(compileBundle(httpInput([policy('p', { endpointSelector: WEB, egress: [{ toPorts: [{ ...TCP_80, rules: { http: [{ path: '/a\\b' }] } }] }] })])));
    expect(got.degraded).toHaveLength(1);
    expect(got.degraded[0]).toMatch(/^p\/egress\/0\/toPorts\/0\/rules\/http\/0\/path: the path pattern cannot be matched in linear time .*; the rule matches nothing$/);
  });

  it('without httpProxy: HTTP rules fail closed and are reported as before; no httpRules; identical to an absent flag', () => {
    const policies = [policy('p', { endpointSelector: WEB, egress: [{ ...TO_CLIENT, toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }] })];
    const off = compileBundle(input(policies, { httpProxy: false }));
    expect(off).toEqual(compileBundle(input(policies)));
    expect('httpRules' in off).toBe(false);
    expect(off.policy).toEqual([]);
    expect(render(off).degraded).toEqual(['p/egress/0/toPorts/0/rules/http: L7 http rules need a proxy the datapath does not have; no L4 allow for these ports (fail closed)']);
  });

  it('createHttpRuleLookup over the compiled httpRules: per connection, then per request; plain rules allow everything; no entry = refuse', () => {
    const state = compileBundle(
      httpInput([
        policy('a', {
          endpointSelector: WEB,
          egress: [{ toPorts: [{ ...TCP_80, rules: { http: [...PUBLIC, { path: '/s', headerMatches: [{ name: 'X-Token', secret: { name: 's' } }] }, { method: 'PUT', headers: ['X-Ok: yes'] }] } }] }],
        }),
        policy('b', { endpointSelector: WEB, egress: [TO_CLIENT] }),
      ]),
    );
    const id = (podName: string): number => state.identities.find((i) => i.podNames?.includes(podName))?.id ?? -1;
    const ruleOf = (name: string): number => state.rules.find((r) => r.policy === name)?.ruleId ?? -1;
    const lookup = createHttpRuleLookup(state.httpRules ?? []);
    const req = (method: string, path: string, headers: Array<[string, string]> = []) => ({ method, path, headers });
    const toDb = lookup(id('web-1'), id('db-1'), 80);
    expect(toDb).toBeDefined();
    expect(toDb?.match(req('GET', '/public/x'))).toEqual({ allowed: true, audit: false, ruleId: ruleOf('a') });
    expect(toDb?.match(req('POST', '/public/x'))).toEqual({ allowed: false, audit: false, ruleId: 0 });
    expect(toDb?.match(req('GET', '/private'))).toEqual({ allowed: false, audit: false, ruleId: 0 });
    expect(toDb?.match(req('PUT', '/any', [['x-ok', 'yes']]))).toEqual({ allowed: true, audit: false, ruleId: ruleOf('a') });
    // the secret rule matches nothing, whatever the header
    expect(toDb?.match(req('GET', '/s', [['X-Token', 'anything']]))).toEqual({ allowed: false, audit: false, ruleId: 0 });
    // the client is also allowed by b's L3-only rule: every request passes; a's match attributes first
    const toClient = lookup(id('web-1'), id('client-1'), 80);
    expect(toClient?.match(req('DELETE', '/x'))).toEqual({ allowed: true, audit: false, ruleId: ruleOf('b') });
    expect(toClient?.match(req('GET', '/public/y'))).toEqual({ allowed: true, audit: false, ruleId: ruleOf('a') });
    // not redirected there: refuse
    expect(lookup(id('web-1'), id('db-1'), 81)).toBeUndefined();
    expect(lookup(id('db-1'), id('web-1'), 80)).toBeUndefined();
    expect(lookup(id('web-1'), id('db-1'), 80)).toBe(toDb); // cached per connection key
  });

  it('createHttpRuleLookup: ingress entries answer for (server, client) in the ingress direction only', () => {
    const lookup = createHttpRuleLookup([{ direction: Direction.ingress, localId: 300, proto: 6, port: 80, peers: [7], rules: [{ ruleId: 5, http: [{ method: 'GET' }] }] }]);
    const get = { method: 'GET', path: '/', headers: [] as Array<[string, string]> };
    expect(lookup(300, 7, 80, Direction.ingress)?.match(get)).toEqual({ allowed: true, audit: false, ruleId: 5 });
    expect(lookup(300, 7, 80, Direction.ingress)?.match({ ...get, method: 'POST' })).toEqual({ allowed: false, audit: false, ruleId: 0 });
    expect(lookup(300, 7, 80)).toBeUndefined(); // egress: pod 300 as a client has no rules
    expect(lookup(300, 8, 80, Direction.ingress)).toBeUndefined();
  });

  it('createHttpRuleLookup: an audit-mode allow never loosens an enforce-mode denial; alone, a would-denial is forwarded as audit; header actions', () => {
    const rules: HttpRuleEntry[] = [
      { direction: Direction.egress, localId: 300, proto: 6, port: 80, peers: 'any', rules: [{ ruleId: 1, http: [{ method: 'GET' }] }] },
      { direction: Direction.egress, localId: 300, proto: 6, port: 80, peers: [7], rules: [{ ruleId: 2, audit: true, http: [{}] }] },
      { direction: Direction.egress, localId: 301, proto: 6, port: 80, peers: 'any', rules: [{ ruleId: 3, audit: true, http: [{ method: 'GET' }] }] },
      { direction: Direction.egress, localId: 302, proto: 6, port: 80, peers: 'any', rules: [{ ruleId: 4, http: [{ headerMatches: [{ name: 'X-Env', value: 'prod', mismatch: 'REPLACE' }] }] }] },
    ];
    const lookup = createHttpRuleLookup(rules);
    const req = (method: string) => ({ method, path: '/', headers: [] as Array<[string, string]> });
    expect(lookup(300, 7, 80)?.match(req('POST'))).toEqual({ allowed: false, audit: false, ruleId: 0 });
    expect(lookup(300, 7, 80)?.match(req('GET'))).toEqual({ allowed: true, audit: false, ruleId: 1 });
    expect(lookup(301, 7, 80)?.match(req('GET'))).toEqual({ allowed: true, audit: false, ruleId: 3 });
    expect(lookup(301, 7, 80)?.match(req('POST'))).toEqual({ allowed: true, audit: true, ruleId: 0 });
    expect(lookup(302, 9, 80)?.match(req('GET'))).toEqual({
      allowed: true,
      audit: false,
      ruleId: 4,
      actions: [{ rule: 0, headerMatch: 0, name: 'x-env', mismatch: 'REPLACE', value: 'prod' }],
    });
  });

  it('is deterministic: policies in any order give the identical result', () => {
    const policies = [
      policy('a', { endpointSelector: WEB, egress: [{ toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }] }),
      policy('b', { endpointSelector: {}, egress: [{ ...TO_CLIENT, toPorts: [{ ...TCP_80, rules: { http: [{ method: 'POST' }] } }] }, TO_CLIENT] }),
    ];
    expect(compileBundle(httpInput([...policies].reverse()))).toEqual(compileBundle(httpInput(policies)));
  });
});
