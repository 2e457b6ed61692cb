/**
 * findUnenforcedParts / planPortRule and the environment: without the DNS proxy, toFQDNs and DNS rules
 * (other than `*`) fail closed; with it, both are enforced — DNS rules only on egress ports with a
 * number (TCP, UDP, ANY, no range). Likewise the HTTP proxy for HTTP rules on egress TCP ports with a
 * number; its unsupported fields are reported at the field. The write-time view assumes the DNS proxy
 * and not (yet) the HTTP proxy.
 */
import { describe, expect, it } from 'vitest';

import type { BundledPolicy, PortRule } from '../../openapi/types.js';
import { findUnenforcedParts, HTTP_PORTS_REASON, planPortRule, policyWarnings, WRITE_TIME_ENVIRONMENT, type EnforcementEnvironment } from './unenforced-parts.js';

const OFF: EnforcementEnvironment = { kubeApiserverAddressed: true, dnsProxy: false, httpProxy: false };
const ON: EnforcementEnvironment = { kubeApiserverAddressed: true, dnsProxy: true, httpProxy: false };
const DNS = { dns: [{ matchName: 'api.github.com' }] };
const egress = (spec: BundledPolicy['spec']): Pick<BundledPolicy, 'spec' | 'mode'> => ({ spec: { endpointSelector: {}, ...spec }, mode: 'enforce' });

describe('unenforced parts and the DNS proxy', () => {
  const cases: Array<{ name: string; given: Pick<BundledPolicy, 'spec' | 'mode'>; off: string[]; on: string[] }> = [
    {
      name: 'toFQDNs',
      given: egress({ egress: [{ toFQDNs: [{ matchName: 'a.example' }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }] }),
      off: ['/egress/0/toFQDNs'],
      on: [],
    },
    {
      name: 'DNS rules on 53/ANY',
      given: egress({ egress: [{ toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: DNS }] }] }),
      off: ['/egress/0/toPorts/0/rules/dns'],
      on: [],
    },
    {
      name: 'DNS matchPattern "*" (an L4 allow without the proxy, a redirect with it)',
      given: egress({ egress: [{ toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '*' }] } }] }] }),
      off: [],
      on: [],
    },
    {
      name: 'DNS rules on port 0 or a range: not redirectable',
      given: egress({ egress: [{ toPorts: [{ ports: [{ port: '0', protocol: 'UDP' }], rules: DNS }, { ports: [{ port: '53', endPort: 60, protocol: 'UDP' }], rules: DNS }] }] }),
      off: ['/egress/0/toPorts/0/rules/dns', '/egress/0/toPorts/1/rules/dns'],
      on: ['/egress/0/toPorts/0/rules/dns', '/egress/0/toPorts/1/rules/dns'],
    },
    {
      name: 'DNS rules on ingress: not redirectable',
      given: egress({ ingress: [{ toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: DNS }] }] }),
      off: ['/ingress/0/toPorts/0/rules/dns'],
      on: ['/ingress/0/toPorts/0/rules/dns'],
    },
    {
      name: 'HTTP rules: still no proxy',
      given: egress({ egress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/a' }] } }] }] }),
      off: ['/egress/0/toPorts/0/rules/http'],
      on: ['/egress/0/toPorts/0/rules/http'],
    },
  ];
  it.each(cases)('$name', ({ given, off, on }) => {
    expect(findUnenforcedParts(given, OFF).map((p) => p.pointer)).toEqual(off);
    expect(findUnenforcedParts(given, ON).map((p) => p.pointer)).toEqual(on);
  });

  it('the write-time view assumes the DNS proxy every agent runs by default: no warning for toFQDNs or DNS rules', () => {
    expect(WRITE_TIME_ENVIRONMENT.dnsProxy).toBe(true);
    const spec = (egress: object[]) => ({ spec: { targets: { clusterIds: ['c1'] }, endpointSelector: {}, egress } }) as Parameters<typeof policyWarnings>[0];
    expect(policyWarnings(spec([{ toFQDNs: [{ matchName: 'a.example' }] }]))).toEqual([]);
    expect(policyWarnings(spec([{ toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '*.example' }] } }] }]))).toEqual([]);
  });

  it('planPortRule: DNS ports with the proxy (ANY = TCP + UDP), L4 or unenforced otherwise', () => {
    const pr = (ports: PortRule['ports'], rules?: PortRule['rules']): PortRule => ({ ports, ...(rules ? { rules } : {}) });
    const ctx = { dir: 'egress' as const, environment: ON };
    expect(planPortRule(pr([{ port: '53' }, { port: '5353', protocol: 'UDP' }], DNS), 'allow', ctx)).toEqual({ kind: 'dns-proxy', ports: [{ protocols: [6, 17], port: 53 }, { protocols: [17], port: 5353 }] });
    expect(planPortRule(pr([{ port: '53', protocol: 'UDP' }], DNS), 'allow', { ...ctx, environment: OFF })).toMatchObject({ kind: 'unenforced', field: 'rules/dns' });
    expect(planPortRule(pr([{ port: '53', protocol: 'SCTP' }], DNS), 'allow', ctx)).toMatchObject({ kind: 'unenforced', field: 'rules/dns' });
    expect(planPortRule(pr([{ port: 'dns', protocol: 'UDP' }], DNS), 'allow', ctx)).toMatchObject({ kind: 'unenforced', field: 'rules/dns' });
    expect(planPortRule(pr([{ port: '53', protocol: 'UDP' }]), 'allow', ctx)).toEqual({ kind: 'l4' });
    expect(planPortRule(pr([{ port: '53', protocol: 'UDP' }]), 'deny', ctx)).toEqual({ kind: 'l4' });
    expect(planPortRule({ ...pr([{ port: '53', protocol: 'UDP' }], DNS), serverNames: ['a.example'] }, 'allow', ctx)).toMatchObject({ kind: 'unenforced', field: 'serverNames' });
  });
});

describe('unenforced parts and the HTTP proxy', () => {
  const HTTP_ON: EnforcementEnvironment = { kubeApiserverAddressed: true, dnsProxy: true, httpProxy: true };
  const TCP_80 = [{ port: '80', protocol: 'TCP' as const }];
  const cases: Array<{ name: string; given: Pick<BundledPolicy, 'spec' | 'mode'>; off: string[]; on: Array<[string, string?]> }> = [
    {
      name: 'HTTP rules on egress TCP/80: redirected',
      given: egress({ egress: [{ toPorts: [{ ports: TCP_80, rules: { http: [{ method: 'GET', path: '/a' }] } }] }] }),
      off: ['/egress/0/toPorts/0/rules/http'],
      on: [],
    },
    {
      name: 'an allow-all rule {} stays unreported either way',
      given: egress({ egress: [{ toPorts: [{ ports: TCP_80, rules: { http: [{}] } }] }], ingress: [{ toPorts: [{ ports: TCP_80, rules: { http: [{}] } }] }] }),
      off: [],
      on: [],
    },
    {
      name: 'HTTP rules on ingress: redirected to the proxy like egress ones',
      given: egress({ ingress: [{ toPorts: [{ ports: TCP_80, rules: { http: [{ path: '/a' }] } }] }] }),
      off: ['/ingress/0/toPorts/0/rules/http'],
      on: [],
    },
    {
      name: 'HTTP rules on ANY, a range, port 0 or a named port: not redirectable',
      given: egress({
        egress: [
          { toPorts: [{ ports: [{ port: '80' }], rules: { http: [{ path: '/a' }] } }] },
          { toPorts: [{ ports: [{ port: '80', endPort: 90, protocol: 'TCP' }], rules: { http: [{ path: '/a' }] } }] },
          { toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }], rules: { http: [{ path: '/a' }] } }] },
          { toPorts: [{ ports: [{ port: 'http', protocol: 'TCP' }], rules: { http: [{ path: '/a' }] } }] },
        ],
      }),
      off: ['/egress/0/toPorts/0/rules/http', '/egress/1/toPorts/0/rules/http', '/egress/2/toPorts/0/rules/http', '/egress/3/toPorts/0/rules/http'],
      on: [
        ['/egress/0/toPorts/0/rules/http', HTTP_PORTS_REASON],
        ['/egress/1/toPorts/0/rules/http', HTTP_PORTS_REASON],
        ['/egress/2/toPorts/0/rules/http', HTTP_PORTS_REASON],
        ['/egress/3/toPorts/0/rules/http', HTTP_PORTS_REASON],
      ],
    },
    {
      name: 'a secret in headerMatches: reported at the field (that HTTP rule matches nothing)',
      given: egress({ egress: [{ toPorts: [{ ports: TCP_80, rules: { http: [{ path: '/a' }, { headerMatches: [{ name: 'X-A', value: 'v' }, { name: 'X-Token', secret: { name: 's' } }] }] } }] }] }),
      off: ['/egress/0/toPorts/0/rules/http'],
      on: [['/egress/0/toPorts/0/rules/http/1/headerMatches/1/secret']],
    },
    {
      name: 'HTTP rules together with other L7 kinds are not redirected',
      given: egress({ egress: [{ toPorts: [{ ports: TCP_80, rules: { http: [{ path: '/a' }], kafka: [{ topic: 't' }] } }] }] }),
      off: ['/egress/0/toPorts/0/rules/http'],
      on: [['/egress/0/toPorts/0/rules/http']],
    },
  ];
  it.each(cases)('$name', ({ given, off, on }) => {
    expect(findUnenforcedParts(given, ON).map((p) => p.pointer)).toEqual(off);
    const got = findUnenforcedParts(given, HTTP_ON);
    expect(got.map((p) => p.pointer)).toEqual(on.map(([pointer]) => pointer));
    on.forEach(([, reason], i) => {
      if (reason !== undefined) expect(got[i]?.reason).toBe(reason);
      expect(got[i]?.consequence).toBe('failsClosed');
    });
  });

  it('the write-time view assumes the HTTP proxy every agent runs by default: HTTP rules of both directions enforced', () => {
    expect(WRITE_TIME_ENVIRONMENT.httpProxy).toBe(true);
    const spec = (rule: object) => ({ spec: { targets: { clusterIds: ['c1'] }, endpointSelector: {}, ...rule } }) as Parameters<typeof policyWarnings>[0];
    const http = { toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/a' }] } }] };
    expect(policyWarnings(spec({ egress: [http] }))).toEqual([]);
    expect(policyWarnings(spec({ ingress: [http] }))).toEqual([]);
  });

  it('planPortRule: HTTP ports with the proxy, with the unsupported fields relative to the port rule', () => {
    const ctx = { dir: 'egress' as const, environment: HTTP_ON };
    expect(planPortRule({ ports: [{ port: '80', protocol: 'TCP' }, { port: '8080', protocol: 'TCP' }], rules: { http: [{ path: '/a' }] } }, 'allow', ctx)).toEqual({
      kind: 'http-proxy',
      ports: [{ port: 80 }, { port: 8080 }],
      unsupported: [],
    });
    expect(planPortRule({ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '(?P<x>a)' }] } }, 'allow', ctx)).toMatchObject({
      kind: 'http-proxy',
      unsupported: [{ field: 'rules/http/0/path' }],
    });
    expect(planPortRule({ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [] } }, 'allow', ctx)).toEqual({ kind: 'http-proxy', ports: [{ port: 80 }], unsupported: [] });
    expect(planPortRule({ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/a' }] } }, 'allow', { ...ctx, dir: 'ingress' })).toEqual({ kind: 'http-proxy', ports: [{ port: 80 }], unsupported: [] });
  });
});
