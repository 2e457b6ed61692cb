/**
 * Drift check between agent/bpf/fleetnet.h (as compiled: BTF of agent/bpf/build/fleetnet.bpf.o)
 * and the TypeScript codecs/constants. Needs the object (scripts/build-bpf.sh) and bpftool; no root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  LAYOUTS,
  readFlow,
  readIpcache,
  readPolicy,
  readEndpoint,
  readConfig,
  writeConfig,
  writeEndpointKey,
  writeEndpointValue,
  writeFlowKey,
  writeFlowValue,
  writeIpcacheKey,
  writeIpcacheValue,
  writePolicyKey,
  writePolicyValue,
  type PolicyEntry,
} from '../../agent/src/kernel/codecs.js';
import {
  ConfigFlag,
  CtState,
  Direction,
  EndpointFlag,
  FIRST_USER_IDENTITY,
  FlowDropReason,
  FlowVerdict,
  MapName,
  PolicyPrefix,
  PolicyVerdict,
  ProxyKind,
  ProxyMark,
  ProxyRedirectFlag,
  UpstreamFlag,
  ReservedIdentity,
} from '../../agent/src/kernel/identities.js';
import { V4_MAPPED_PREFIX } from '../../agent/src/kernel/ip-address.js';
import { findRepoRoot } from '../../agent/src/kernel/native-binding.js';
import { splitPortRange } from '../../core/policy/resolve/port-blocks.js';

const root = findRepoRoot();
const objectPath = join(root, 'agent', 'bpf', 'build', 'fleetnet.bpf.o');

interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
  vars?: { type_id: number }[];
}

function loadBtf(): Map<number, BtfType> {
  if (!existsSync(objectPath)) throw new Error(`${objectPath} missing — run scripts/build-bpf.sh first`);
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', objectPath], { encoding: 'utf8' });
  const types = (JSON.parse(out) as { types: BtfType[] }).types;
  return new Map(types.map((t) => [t.id, t]));
}

const btf = loadBtf();

function resolve(id: number): BtfType {
  let t = btf.get(id);
  while (t && (t.kind === 'TYPEDEF' || t.kind === 'CONST' || t.kind === 'VOLATILE')) t = btf.get(t.type_id ?? -1);
  if (!t) throw new Error(`BTF type ${id} not found`);
  return t;
}

function sizeOf(id: number): number {
  const t = resolve(id);
  if (t.kind === 'ARRAY') return (t.nr_elems ?? 0) * sizeOf(t.type_id ?? -1);
  if (t.size === undefined) throw new Error(`BTF type ${id} (${t.kind}) has no size`);
  return t.size;
}

function struct(name: string): BtfType {
  const t = [...btf.values()].find((x) => x.kind === 'STRUCT' && x.name === name);
  if (!t) throw new Error(`struct ${name} not in BTF`);
  return t;
}

describe('fleetnet.h layouts match the TypeScript codecs', () => {
  it.each(Object.entries(LAYOUTS))('%s', (_key, layout) => {
    const s = struct(layout.name);
    const fromBtf = Object.fromEntries((s.members ?? []).map((m) => [m.name, { offset: m.bits_offset / 8, size: sizeOf(m.type_id) }]));
    expect({ size: s.size, fields: fromBtf }).toEqual({ size: layout.size, fields: layout.fields });
  });

  const mapTypes: [MapName, string | number, string][] = [
    [MapName.endpoints, 4, 'fn_endpoint'],
    [MapName.ipcache, 'fn_ipcache_key', 'fn_ipcache_value'],
    [MapName.policy, 'fn_policy_key', 'fn_policy_value'],
    [MapName.conntrack, 'fn_ct_key', 'fn_ct_value'],
    [MapName.flows, 'fn_flow_key', 'fn_flow_value'],
    [MapName.flowsAlt, 'fn_flow_key', 'fn_flow_value'],
    [MapName.config, 4, 'fn_config'],
    [MapName.counters, 4, 'fn_counters'],
    [MapName.proxyNat, 'fn_proxy_key', 'fn_proxy_value'],
    [MapName.proxyUpstreams, 'fn_upstream_key', 'fn_upstream_value'],
  ];
  it.each(mapTypes)('map %s uses key %s and value %s', (map, key, value) => {
    const v = [...btf.values()].find((t) => t.kind === 'VAR' && t.name === map);
    expect(v, `map ${map} in BTF`).toBeDefined();
    const def = resolve(v?.type_id ?? -1);
    const member = (n: string): BtfType => {
      const m = def.members?.find((x) => x.name === n);
      if (!m) throw new Error(`${map}.${n}`);
      return resolve(resolve(m.type_id).type_id ?? -1); // PTR → pointee
    };
    const k = member('key');
    expect(typeof key === 'number' ? k.size : k.name).toBe(key);
    expect(member('value').name).toBe(value);
  });

  const header = readFileSync(join(root, 'agent', 'bpf', 'fleetnet.h'), 'utf8');
  const defines = new Map([...header.matchAll(/^#define\s+(FN_\w+)\s+\(?(0x[0-9a-f]+|\d+)u?\s*(?:<<\s*(\d+))?/gm)].map((m) => [m[1], m[3] ? Number(m[2]) << Number(m[3]) : Number(m[2])]));
  const constants: [string, number][] = [
    ['FN_ID_ANY', ReservedIdentity.any],
    ['FN_ID_HOST', ReservedIdentity.host],
    ['FN_ID_WORLD', ReservedIdentity.world],
    ['FN_ID_UNMANAGED', ReservedIdentity.unmanaged],
    ['FN_ID_HEALTH', ReservedIdentity.health],
    ['FN_ID_INIT', ReservedIdentity.init],
    ['FN_ID_REMOTE_NODE', ReservedIdentity.remoteNode],
    ['FN_ID_KUBE_APISERVER', ReservedIdentity.kubeApiserver],
    ['FN_ID_INGRESS', ReservedIdentity.ingress],
    ['FN_ID_WORLD_IPV4', ReservedIdentity.worldIpv4],
    ['FN_ID_WORLD_IPV6', ReservedIdentity.worldIpv6],
    ['FN_ID_FIRST_USER', FIRST_USER_IDENTITY],
    ['FN_DIR_INGRESS', Direction.ingress],
    ['FN_DIR_EGRESS', Direction.egress],
    ['FN_EP_DENY_INGRESS', EndpointFlag.denyIngress],
    ['FN_EP_DENY_EGRESS', EndpointFlag.denyEgress],
    ['FN_EP_AUDIT_INGRESS', EndpointFlag.auditIngress],
    ['FN_EP_AUDIT_EGRESS', EndpointFlag.auditEgress],
    ['FN_POLICY_PREFIX_ANY_PROTO', PolicyPrefix.anyProto],
    ['FN_POLICY_PREFIX_ANY_PORT', PolicyPrefix.anyPort],
    ['FN_POLICY_PREFIX_FULL', PolicyPrefix.full],
    ['FN_VERDICT_ALLOW', PolicyVerdict.allow],
    ['FN_VERDICT_DENY', PolicyVerdict.deny],
    ['FN_VERDICT_AUDIT_DENY', PolicyVerdict.auditDeny],
    ['FN_FLOW_FORWARDED', FlowVerdict.forwarded],
    ['FN_FLOW_DROPPED', FlowVerdict.dropped],
    ['FN_FLOW_AUDIT', FlowVerdict.audit],
    ['FN_FLOW_REPLY', FlowVerdict.reply],
    ['FN_DROP_POLICY', FlowDropReason.policy],
    ['FN_DROP_CT_INSERT', FlowDropReason.ctInsertFailed],
    ['FN_DROP_INVALID_EXTHDR', FlowDropReason.invalidExtensionHeader],
    ['FN_DROP_UNSUPPORTED_L3', FlowDropReason.unsupportedL3],
    ['FN_CT_SYN_SENT', CtState.synSent],
    ['FN_CT_ESTABLISHED', CtState.established],
    ['FN_CT_CLOSING', CtState.closing],
    ['FN_CFG_LOCALHOST_POLICY', ConfigFlag.localhostPolicy],
    ['FN_V4_MAPPED_PREFIX', V4_MAPPED_PREFIX],
    ['FN_PROXY_F_INGRESS', ProxyRedirectFlag.ingress],
    ['FN_UPSTREAM_DECIDED', UpstreamFlag.decided],
    ['FN_MARK_TO_PROXY', ProxyMark.toProxy],
    ['FN_MARK_MASK', ProxyMark.mask],
  ];
  it.each(constants)('%s = %i', (name, value) => {
    expect(defines.get(name)).toBe(value);
  });
});

describe('codecs', () => {
  it('encodes a policy key big-endian with the LPM prefix length (table)', () => {
    const table: { key: Omit<PolicyEntry, 'verdict' | 'ruleId'>; hex: string }[] = [
      { key: { localId: 256, peerId: 0, direction: Direction.ingress, proto: 0, port: 0, portPrefixLen: 0 }, hex: '48000000' + '00000100' + '00000000' + '00' + '00' + '0000' },
      { key: { localId: 256, peerId: 2, direction: Direction.egress, proto: 6, port: 0, portPrefixLen: 0 }, hex: '50000000' + '00000100' + '00000002' + '01' + '06' + '0000' },
      { key: { localId: 1, peerId: 0x01020304, direction: Direction.egress, proto: 17, port: 8080, portPrefixLen: 13 }, hex: '5d000000' + '00000001' + '01020304' + '01' + '11' + '1f90' },
      { key: { localId: 1, peerId: 7, direction: Direction.ingress, proto: 6, port: 443, portPrefixLen: 16 }, hex: '60000000' + '00000001' + '00000007' + '00' + '06' + '01bb' },
    ];
    for (const t of table) {
      const b = Buffer.alloc(LAYOUTS.policyKey.size);
      writePolicyKey(b, 0, t.key);
      expect(b.toString('hex')).toBe(t.hex);
    }
  });

  it('rejects keys the LPM cannot represent (table)', () => {
    const bad: Omit<PolicyEntry, 'verdict' | 'ruleId'>[] = [
      { localId: 1, peerId: 0, direction: Direction.ingress, proto: 0, port: 80, portPrefixLen: 16 },
      { localId: 1, peerId: 0, direction: Direction.ingress, proto: 6, port: 8081, portPrefixLen: 13 },
      { localId: 1, peerId: 0, direction: Direction.ingress, proto: 6, port: 80, portPrefixLen: 17 },
      { localId: -1, peerId: 0, direction: Direction.ingress, proto: 6, port: 80, portPrefixLen: 16 },
    ];
    for (const k of bad) expect(() => writePolicyKey(Buffer.alloc(16), 0, k)).toThrow(RangeError);
  });

  it('fn_config: the proxies\' ports (network order) and their one pair of node addresses round-trip; the two must agree on the addresses', () => {
    const base = { generation: 7, flags: 2, ctSynMs: 0, ctEstablishedMs: 0, ctClosingMs: 500, ctOtherMs: 0, flowSlot: 1 as const };
    const b = Buffer.alloc(LAYOUTS.config.size, 0xff);
    writeConfig(b, 0, { ...base, dnsProxy: { port: 10053, ipv4: '10.0.0.4', ipv6: 'fd00::4' }, httpProxy: { port: 10080, ipv4: '10.0.0.4', ipv6: 'fd00::4' } });
    expect(b.subarray(28, 40).toString('hex')).toBe('2745' + '2760' + '0a000004' + '00000000');
    expect(readConfig(b, 0)).toEqual({ ...base, dnsProxy: { port: 10053, ipv4: '10.0.0.4', ipv6: 'fd00::4' }, httpProxy: { port: 10080, ipv4: '10.0.0.4', ipv6: 'fd00::4' } });
    writeConfig(b, 0, { ...base, httpProxy: { port: 10080, ipv4: '10.0.0.4' } });
    expect(readConfig(b, 0)).toEqual({ ...base, httpProxy: { port: 10080, ipv4: '10.0.0.4' } });
    writeConfig(b, 0, base);
    expect(readConfig(b, 0)).toEqual(base);
    expect(() => writeConfig(b, 0, { ...base, dnsProxy: { port: 1, ipv4: '10.0.0.4' }, httpProxy: { port: 2, ipv4: '10.0.0.5' } })).toThrow(/same node addresses/);
    expect(() => writeConfig(b, 0, { ...base, dnsProxy: { port: 0, ipv4: '10.0.0.4' } })).toThrow(/invalid DNS proxy port/);
  });

  it('round-trips entries of every map', () => {
    const pe: PolicyEntry = { localId: 300, peerId: 2, direction: Direction.egress, proto: 6, port: 8080, portPrefixLen: 13, verdict: PolicyVerdict.deny, ruleId: 0xdeadbeef };
    const pk = Buffer.alloc(16);
    const pv = Buffer.alloc(8);
    writePolicyKey(pk, 0, pe);
    writePolicyValue(pv, 0, pe);
    expect(readPolicy(pk, 0, pv, 0)).toEqual(pe);
    // an allow handed to the DNS proxy: proxy byte 1; only allows may redirect
    const redirected: PolicyEntry = { ...pe, port: 53, portPrefixLen: 16, proto: 17, verdict: PolicyVerdict.allow, proxy: ProxyKind.dns };
    writePolicyKey(pk, 0, redirected);
    writePolicyValue(pv, 0, redirected);
    expect(pv.toString('hex')).toBe('efbeadde' + '0101' + '0000');
    expect(readPolicy(pk, 0, pv, 0)).toEqual(redirected);
    expect(() => writePolicyValue(pv, 0, { ...redirected, verdict: PolicyVerdict.deny })).toThrow(RangeError);

    const ik = Buffer.alloc(20);
    const iv = Buffer.alloc(12);
    writeIpcacheKey(ik, 0, '10.1.0.0/16');
    writeIpcacheValue(iv, 0, { cidr: '10.1.0.0/16', identity: 16777217 });
    // IPv4 as the IPv4-mapped IPv6 address, prefix 96 + 16
    expect(ik.toString('hex')).toBe('70000000' + '00000000000000000000ffff0a010000');
    expect(readIpcache(ik, 0, iv, 0)).toEqual({ cidr: '10.1.0.0/16', identity: 16777217 });
    // a zombie: flags bit 0 and the identity of new connections
    writeIpcacheValue(iv, 0, { cidr: '10.1.0.0/16', identity: 16777217, newConnectionIdentity: 2 });
    expect(iv.toString('hex')).toBe('01000001' + '04010000' + '02000000');
    expect(readIpcache(ik, 0, iv, 0)).toEqual({ cidr: '10.1.0.0/16', identity: 16777217, newConnectionIdentity: 2 });
    writeIpcacheValue(iv, 0, { cidr: '10.1.0.0/16', identity: 16777217 });
    expect(readIpcache(ik, 0, iv, 0)).toEqual({ cidr: '10.1.0.0/16', identity: 16777217 });
    expect(() => writeIpcacheKey(ik, 0, '10.1.0.1/16')).toThrow(RangeError);
    const table6: { cidr: string; hex: string; back: string }[] = [
      { cidr: 'fd00:200:1::2', hex: '80000000' + 'fd000200000100000000000000000002', back: 'fd00:200:1::2/128' },
      { cidr: '2001:DB8::/32', hex: '20000000' + '20010db8000000000000000000000000', back: '2001:db8::/32' },
      { cidr: '::/0', hex: '00000000' + '00000000000000000000000000000000', back: '::/0' },
      { cidr: '0.0.0.0/0', hex: '60000000' + '00000000000000000000ffff00000000', back: '0.0.0.0/0' },
      { cidr: 'fd00:0:0:1::/64', hex: '40000000' + 'fd000000000000010000000000000000', back: 'fd00:0:0:1::/64' },
      // IPv6 prefixes around or inside the IPv4-mapped block stay IPv6 (the value's family says so)
      { cidr: '::fffe:0:0/95', hex: '5f000000' + '00000000000000000000fffe00000000', back: '::fffe:0:0/95' },
      { cidr: '::ffff:10.0.0.0/104', hex: '68000000' + '00000000000000000000ffff0a000000', back: '::ffff:10.0.0.0/104' },
    ];
    for (const t of table6) {
      writeIpcacheKey(ik, 0, t.cidr);
      writeIpcacheValue(iv, 0, { cidr: t.cidr, identity: 2 });
      expect(ik.toString('hex'), t.cidr).toBe(t.hex);
      expect(readIpcache(ik, 0, iv, 0).cidr).toBe(t.back);
    }
    expect(() => writeIpcacheKey(ik, 0, 'fd00::1/64')).toThrow(RangeError);
    expect(() => writeIpcacheKey(ik, 0, 'fd00::g')).toThrow(RangeError);

    const ep = { ifindex: 7, identity: 1001, defaultDenyIngress: true, defaultDenyEgress: false, auditIngress: false, auditEgress: true };
    const ek = Buffer.alloc(4);
    const ev = Buffer.alloc(8);
    writeEndpointKey(ek, 0, ep.ifindex);
    writeEndpointValue(ev, 0, ep);
    expect(ev.toString('hex')).toBe('e903000009000000');
    expect(readEndpoint(ek, 0, ev, 0)).toEqual(ep);

    const flow = { localId: 1, peerId: 2, ruleId: 3, dport: 443, proto: 6, direction: Direction.ingress, verdict: FlowVerdict.dropped, ipVersion: 6 as const, dropReason: FlowDropReason.ctInsertFailed, packets: 10, bytes: 1500, flows: 1, firstSeenNs: 2 ** 52 + 5, lastSeenNs: 2 ** 52 + 9 };
    const fk = Buffer.alloc(20);
    const fv = Buffer.alloc(40);
    writeFlowKey(fk, 0, flow);
    writeFlowValue(fv, 0, flow);
    expect(readFlow(fk, 0, fv, 0)).toEqual(flow);
  });
});

describe('splitPortRange', () => {
  const table: { range: [number, number]; want: string[] }[] = [
    { range: [80, 80], want: ['80/16'] },
    { range: [8080, 8090], want: ['8080/13', '8088/15', '8090/16'] },
    { range: [0, 65535], want: ['0/0'] },
    { range: [1, 65535], want: ['1/16', '2/15', '4/14', '8/13', '16/12', '32/11', '64/10', '128/9', '256/8', '512/7', '1024/6', '2048/5', '4096/4', '8192/3', '16384/2', '32768/1'] },
    { range: [1024, 2047], want: ['1024/6'] },
  ];
  it.each(table)('$range', ({ range, want }) => {
    const blocks = splitPortRange(range[0], range[1]);
    expect(blocks.map((b) => `${b.port}/${b.prefixLen}`)).toEqual(want);
    // blocks tile the range exactly
    const covered = blocks.reduce((n, b) => n + 2 ** (16 - b.prefixLen), 0);
    expect(covered).toBe(range[1] - range[0] + 1);
  });
  it('rejects invalid ranges', () => {
    expect(() => splitPortRange(10, 9)).toThrow(RangeError);
    expect(() => splitPortRange(0, 65536)).toThrow(RangeError);
  });
});
