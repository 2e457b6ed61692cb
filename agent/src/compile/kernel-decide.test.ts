import { describe, expect, it } from 'vitest';

import type { EndpointEntry, PolicyEntry } from '../kernel/codecs.js';
import { Direction, IpProto, PolicyVerdict, ProxyKind, ReservedIdentity } from '../kernel/identities.js';
import { kernelDecide, type KernelProbe } from './kernel-decide.js';

const WEB = 300;
const DB = 301;
const endpoint = (e: Partial<EndpointEntry> = {}): EndpointEntry => ({
  ifindex: 10, identity: WEB, defaultDenyIngress: false, defaultDenyEgress: false, auditIngress: false, auditEgress: false, ...e,
});
const entry = (e: Partial<PolicyEntry>): PolicyEntry => ({
  localId: WEB, peerId: DB, direction: Direction.ingress, proto: IpProto.tcp, port: 80, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 1, ...e,
});
const probe = (p: Partial<KernelProbe> = {}): KernelProbe => ({ localId: WEB, peerId: DB, direction: Direction.ingress, proto: IpProto.tcp, port: 80, ...p });

describe('kernelDecide (policy.c decide, in TypeScript)', () => {
  it.each<{ name: string; endpoint?: Partial<EndpointEntry>; policy: Partial<PolicyEntry>[]; probe?: Partial<KernelProbe>; options?: { localhostPolicy?: boolean }; want: ReturnType<typeof kernelDecide> }>([
    { name: 'an exact allow', policy: [{}], want: { verdict: 'forwarded', ruleId: 1, proxy: ProxyKind.none } },
    { name: 'no match, no default deny: forwarded, rule 0', policy: [], want: { verdict: 'forwarded', ruleId: 0, proxy: ProxyKind.none } },
    { name: 'no match under default deny: dropped, rule 0', endpoint: { defaultDenyIngress: true }, policy: [{ port: 81 }], want: { verdict: 'dropped', ruleId: 0, proxy: ProxyKind.none } },
    { name: 'no match under default deny and audit: audit', endpoint: { defaultDenyIngress: true, auditIngress: true }, policy: [], want: { verdict: 'audit', ruleId: 0, proxy: ProxyKind.none } },
    { name: 'the other direction\'s bits do not apply', endpoint: { defaultDenyEgress: true }, policy: [], want: { verdict: 'forwarded', ruleId: 0, proxy: ProxyKind.none } },
    {
      name: 'within a family the longest prefix wins: TCP/80 allow under a TCP deny (the compiler writes the deny; the kernel just takes the longer key)',
      policy: [{ port: 0, portPrefixLen: 0, verdict: PolicyVerdict.deny, ruleId: 2 }, { ruleId: 3 }],
      want: { verdict: 'forwarded', ruleId: 3, proxy: ProxyKind.none },
    },
    { name: 'a port block /12 matches inside it', policy: [{ port: 0x1230, portPrefixLen: 12, ruleId: 4 }], probe: { port: 0x123f }, endpoint: { defaultDenyIngress: true }, want: { verdict: 'forwarded', ruleId: 4, proxy: ProxyKind.none } },
    { name: '…and not outside', policy: [{ port: 0x1230, portPrefixLen: 12, ruleId: 4 }], probe: { port: 0x1240 }, endpoint: { defaultDenyIngress: true }, want: { verdict: 'dropped', ruleId: 0, proxy: ProxyKind.none } },
    { name: 'any protocol matches every protocol', policy: [{ proto: 0, port: 0, portPrefixLen: 0, ruleId: 5 }], probe: { proto: IpProto.udp, port: 53 }, endpoint: { defaultDenyIngress: true }, want: { verdict: 'forwarded', ruleId: 5, proxy: ProxyKind.none } },
    {
      name: 'across families the higher rank wins: a deny for any peer over an allow for the peer',
      policy: [{ ruleId: 6 }, { peerId: 0, verdict: PolicyVerdict.deny, ruleId: 7 }],
      want: { verdict: 'dropped', ruleId: 7, proxy: ProxyKind.none },
    },
    { name: 'a tie goes to the peer\'s own entry', policy: [{ ruleId: 8 }, { peerId: 0, ruleId: 9 }], want: { verdict: 'forwarded', ruleId: 8, proxy: ProxyKind.none } },
    { name: 'audit-deny: audit, its rule', policy: [{ verdict: PolicyVerdict.auditDeny, ruleId: 10 }], want: { verdict: 'audit', ruleId: 10, proxy: ProxyKind.none } },
    { name: 'a deny under the audit bit: audit, the deny\'s rule', endpoint: { auditIngress: true }, policy: [{ verdict: PolicyVerdict.deny, ruleId: 11 }], want: { verdict: 'audit', ruleId: 11, proxy: ProxyKind.none } },
    { name: 'host, no match: allowed (allow-localhost)', endpoint: { defaultDenyIngress: true }, policy: [], probe: { peerId: ReservedIdentity.host }, want: { verdict: 'forwarded', ruleId: 0, proxy: ProxyKind.none } },
    { name: 'host, no match, localhostPolicy: default deny applies', endpoint: { defaultDenyIngress: true }, policy: [], probe: { peerId: ReservedIdentity.host }, options: { localhostPolicy: true }, want: { verdict: 'dropped', ruleId: 0, proxy: ProxyKind.none } },
    { name: 'host on egress gets no exemption', endpoint: { defaultDenyEgress: true }, policy: [], probe: { peerId: ReservedIdentity.host, direction: Direction.egress }, want: { verdict: 'dropped', ruleId: 0, proxy: ProxyKind.none } },
    { name: 'host, a deny still wins', policy: [{ peerId: ReservedIdentity.host, verdict: PolicyVerdict.deny, ruleId: 12 }], probe: { peerId: ReservedIdentity.host }, want: { verdict: 'dropped', ruleId: 12, proxy: ProxyKind.none } },
    { name: 'the proxy of the peer\'s allow', policy: [{ proxy: ProxyKind.http, ruleId: 13 }, { peerId: 0, proxy: ProxyKind.dns, ruleId: 14 }], want: { verdict: 'forwarded', ruleId: 13, proxy: ProxyKind.http } },
    { name: 'else the any-peer allow\'s, even when the peer\'s allow decided', policy: [{ ruleId: 15 }, { peerId: 0, proxy: ProxyKind.http, ruleId: 16 }], want: { verdict: 'forwarded', ruleId: 15, proxy: ProxyKind.http } },
    { name: 'audited traffic is still handed to the proxy', policy: [{ verdict: PolicyVerdict.auditDeny, ruleId: 17 }, { peerId: 0, proxy: ProxyKind.http, ruleId: 18 }], want: { verdict: 'audit', ruleId: 17, proxy: ProxyKind.http } },
    { name: 'dropped traffic never is', policy: [{ verdict: PolicyVerdict.deny, ruleId: 19 }, { peerId: 0, proxy: ProxyKind.http, ruleId: 20 }], want: { verdict: 'dropped', ruleId: 19, proxy: ProxyKind.none } },
    { name: 'an ICMP type is the port', policy: [{ proto: IpProto.icmp, port: 8, ruleId: 21 }], probe: { proto: IpProto.icmp, port: 8 }, endpoint: { defaultDenyIngress: true }, want: { verdict: 'forwarded', ruleId: 21, proxy: ProxyKind.none } },
  ])('$name', ({ endpoint: ep, policy, probe: p, options, want }) => {
    expect(kernelDecide({ endpoints: [endpoint(ep)], policy: policy.map(entry) }, probe(p), options)).toEqual(want);
  });

  it('an identity with no endpoint is not decided (the kernel leaves unmanaged veths alone)', () => {
    expect(kernelDecide({ endpoints: [endpoint()], policy: [] }, probe({ localId: DB }))).toBeUndefined();
  });
});
