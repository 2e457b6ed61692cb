import { describe, expect, it } from 'vitest';

import type { BundledPolicy } from '../../../openapi/types.js';
import { explainProbe, podSide, V1, V1_PROBES, V2, V2_PROBES, V3, V3_PROBES, V4, V4_PROBES, type Probe } from '../../../test/helpers/policy-flow-cases.js';
import { explainFlow } from './explain-flow.js';

describe('explainFlow on the real-packet suite\'s table (test/helpers/policy-flow-cases.ts)', () => {
  it.each<[string, BundledPolicy[], Probe[], { apiserver?: 'web3' }]>([
    ['v1', V1, V1_PROBES, {}],
    ['v2', V2, V2_PROBES, {}],
    ['v3', V3, V3_PROBES, {}],
    ['v4', V4, V4_PROBES, { apiserver: 'web3' }],
  ])('%s: explain\'s verdict is the packets\' fate', (_name, policies, probes, o) => {
    expect(probes.map((p) => `${p.from}->${p.to}:${p.port} ${explainProbe(policies, p, o)}`)).toEqual(probes.map((p) => `${p.from}->${p.to}:${p.port} ${p.want}`));
  });
});

describe('explainFlow: what it says about a flow', () => {
  const base = { protocol: 6 };

  it('names the deciding rule at each hook, the policies selecting each side, and the port range', () => {
    const e = explainFlow({ ...base, policies: V3, source: podSide('web3'), destination: podSide('db'), port: 81 });
    expect(e.verdict).toBe('dropped');
    expect(e.hooks.map((h) => [h.direction, h.verdict, h.by, h.rule?.policy, h.rule?.pointer, h.rule?.generation])).toEqual([
      ['egress', 'forwarded', 'no-policy', undefined, undefined, undefined],
      ['ingress', 'dropped', 'row', 'shop.db', '/ingressDeny/0', 3],
    ]);
    expect(e.hooks[1]?.ports).toEqual({ protocol: 6, first: 81, last: 81 });
    expect(e.selecting).toEqual({ source: [{ policy: 'web3-from-sa', generation: 1, mode: 'enforce', rules: [''] }], destination: [{ policy: 'shop.db', generation: 3, mode: 'enforce', rules: [''] }] });
  });

  it('an allow by a port range shows the whole range; a default deny names no rule', () => {
    const allowed = explainFlow({ ...base, policies: V3, source: podSide('web1'), destination: podSide('db'), port: 80 });
    expect(allowed.hooks[1]).toMatchObject({ direction: 'ingress', verdict: 'forwarded', rule: { policy: 'shop.db', pointer: '/ingress/0' }, ports: { protocol: 6, first: 80, last: 81 } });
    const denied = explainFlow({ ...base, policies: V1, source: podSide('web1'), destination: podSide('db'), port: 81 });
    expect(denied.hooks[1]).toEqual({ direction: 'ingress', verdict: 'dropped', by: 'default-deny' });
  });

  it('an audit policy\'s default deny: audit, not dropped', () => {
    const e = explainFlow({ ...base, policies: V3, source: podSide('db'), destination: podSide('web1'), port: 81 });
    expect(e.verdict).toBe('audit');
    expect(e.hooks[1]).toMatchObject({ verdict: 'audit', by: 'default-deny' });
    expect(e.selecting.destination.map((p) => [p.policy, p.mode])).toEqual([['shop.web-trial', 'audit']]);
  });

  it('an address inside a policy\'s CIDR gets its prefix; outside, world; entities are Cilium\'s', () => {
    const policies: BundledPolicy[] = [{ name: 'egress', generation: 2, mode: 'enforce', spec: { endpointSelector: { matchLabels: { app: 'web' } }, egress: [{ toCIDRSet: [{ cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] }] }] } }];
    const to = (address: string): ReturnType<typeof explainFlow> => explainFlow({ ...base, policies, source: podSide('web1'), destination: { address }, port: 443 });
    expect([to('203.0.113.7').destination.cidr, to('203.0.113.7').verdict]).toEqual(['203.0.113.0/24', 'forwarded']);
    expect([to('203.0.113.200').destination.identity, to('203.0.113.200').verdict]).toEqual([2, 'dropped']);
    expect([to('2001:db8::1').destination.identity, to('2001:db8::1').verdict]).toEqual([10, 'dropped']);
    expect(to('203.0.113.7').hooks).toHaveLength(1);
    const host = explainFlow({ ...base, policies: V1, source: { entity: 'host' }, destination: podSide('db'), port: 81 });
    expect([host.source.identity, host.verdict, host.hooks[0]?.by]).toEqual([1, 'forwarded', 'host']);
    expect(explainFlow({ ...base, policies: V1, source: { entity: 'host' }, destination: podSide('db'), port: 81, localhostPolicy: true }).verdict).toBe('dropped');
  });

  it('lists the parts of the selecting policies the datapath does not enforce', () => {
    const policies: BundledPolicy[] = [{ name: 'kafka', generation: 4, mode: 'enforce', spec: { endpointSelector: { matchLabels: { app: 'db' } }, ingress: [{ toPorts: [{ ports: [{ port: '9092', protocol: 'TCP' }], rules: { kafka: [{ topic: 'orders' }] } }] }] } }];
    const e = explainFlow({ ...base, policies, source: podSide('web1'), destination: podSide('db'), port: 9092 });
    expect(e.verdict).toBe('dropped');
    expect(e.unenforced.map((u) => [u.policy, u.generation, u.pointer])).toEqual([['kafka', 4, '/ingress/0/toPorts/0/rules/kafka']]);
  });
});
