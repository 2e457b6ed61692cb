/**
 * findUnenforcedParts / planPortRule and the environment: without the DNS proxy, toFQDNs and DNS rules
 * (other than `*`) fail closed; with it, both are enforced — DNS rules only on egress ports with a
 * number (TCP, UDP, ANY, no range). The write-time view keeps the proxy off for now.
 */
import { describe, expect, it } from 'vitest';

import type { BundledPolicy, PortRule } from '../../openapi/types.js';
import { findUnenforcedParts, planPortRule, policyWarnings, WRITE_TIME_ENVIRONMENT, type EnforcementEnvironment } from './unenforced-parts.js';

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

  it('the write-time view assumes the DNS proxy every agent runs by default: no warning for toFQDNs or DNS rules, still for HTTP rules', () => {
    expect(WRITE_TIME_ENVIRONMENT.dnsProxy).toBe(true);
    const spec = (egress: object[]) => ({ spec: { targets: { clusterIds: ['c1'] }, endpointSelector: {}, egress } }) as Parameters<typeof policyWarnings>[0];
    expect(policyWarnings(spec([{ toFQDNs: [{ matchName: 'a.example' }] }]))).toEqual([]);
    expect(policyWarnings(spec([{ toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '*.example' }] } }] }]))).toEqual([]);
    expect(policyWarnings(spec([{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/a' }] } }] }])).map((w) => w.pointer)).toEqual(['/spec/egress/0/toPorts/0/rules/http']);
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
