/**
 * Real packets through the fleetnet programs: 3 dual-stack pod namespaces behind a node namespace,
 * programs attached (TCX) to the node's host-side veths, map entries written through Datapath.
 * Every case runs once per address family, with the same policy entries (they are family-free):
 * IPv6 must be allowed and dropped exactly as IPv4. What differs per family is given by `Family`
 * (addresses, the world identity of an ipcache miss, the ICMP protocol and echo type).
 * Runs as root only (CI runs as root); otherwise skipped with a loud reason.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { EndpointEntry, FlowRecord, IpcacheEntry, PolicyEntry } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { Direction, FlowVerdict, IpProto, PolicyVerdict, ReservedIdentity } from '../../agent/src/kernel/identities.js';
import { splitPortRange } from '../../core/policy/resolve/port-blocks.js';
import { kernelDecide } from '../../agent/src/compile/kernel-decide.js';
import { ipcacheLookup } from '../../agent/src/dns-service/ipcache-lookup.js';
import { createTopology, ensureBpffs, isRoot, Peer, pingFrom, type Topology } from '../helpers/netns.js';
import { waitForQuietFlows } from '../helpers/quiet-flows.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/datapath/policy.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const ID = { pod1: 1001, pod2: 1002, pod3: 1003, cidr: 16777217 } as const;
const { ingress, egress } = Direction;
const { allow, deny, auditDeny } = PolicyVerdict;

type PodName = 'pod1' | 'pod2' | 'pod3';
const PODS: PodName[] = ['pod1', 'pod2', 'pod3'];
const INDEX: Record<PodName, number> = { pod1: 1, pod2: 2, pod3: 3 };

/** What a case needs to know about the address family it runs in. */
interface Family {
  name: 'IPv4' | 'IPv6';
  version: 4 | 6;
  /** the pods' addresses in this family (netns.ts) */
  ip: Record<PodName, string>;
  /** identity of an address missing from the ipcache (fleetnet.h: world / world-ipv6) */
  world: number;
  /** the other family's world: an allow for it must not admit this family's peers */
  otherWorld: number;
  /** ICMP of this family and its echo request type ("port" of ICMP policy entries) */
  icmp: { proto: number; echo: number };
  /** the other family's ICMP echo (an allow for it must not admit this family's echo) */
  otherIcmp: { proto: number; echo: number };
  /** bytes of the IP header of the probes (no options / extension headers) */
  ipHeaderBytes: number;
  /** a CIDR covering every pod, and an `except` inside it covering pod3 only */
  cidr: { range: string; except: string };
}

const V4: Family = {
  name: 'IPv4',
  version: 4,
  ip: { pod1: '10.200.1.2', pod2: '10.200.2.2', pod3: '10.200.3.2' },
  world: ReservedIdentity.world,
  otherWorld: ReservedIdentity.worldIpv6,
  icmp: { proto: IpProto.icmp, echo: 8 },
  otherIcmp: { proto: IpProto.icmpv6, echo: 128 },
  ipHeaderBytes: 20,
  cidr: { range: '10.200.0.0/16', except: '10.200.3.0/28' },
};
const V6: Family = {
  name: 'IPv6',
  version: 6,
  ip: { pod1: 'fd00:200:1::2', pod2: 'fd00:200:2::2', pod3: 'fd00:200:3::2' },
  world: ReservedIdentity.worldIpv6,
  otherWorld: ReservedIdentity.world,
  icmp: { proto: IpProto.icmpv6, echo: 128 },
  otherIcmp: { proto: IpProto.icmp, echo: 8 },
  ipHeaderBytes: 40,
  cidr: { range: 'fd00:200::/32', except: 'fd00:200:3::/64' },
};
const FAMILIES = [V4, V6];

function ep(pod: PodName, ifindex: number, o: Partial<EndpointEntry> = {}): EndpointEntry {
  return { ifindex, identity: ID[pod], defaultDenyIngress: false, defaultDenyEgress: false, auditIngress: false, auditEgress: false, ...o };
}

function rule(localId: number, direction: Direction, peerId: number, proto: number, port: number, verdict: PolicyEntry['verdict'], ruleId: number, portPrefixLen = port ? 16 : 0): PolicyEntry {
  return { localId, direction, peerId, proto, port, portPrefixLen, verdict, ruleId };
}

interface Probe {
  from: PodName;
  to: PodName;
  proto: 'tcp' | 'udp' | 'icmp';
  /** icmp: the ICMP type the policy sees (echo request: 8 / 128) */
  port: number;
  want: 'pass' | 'drop';
}

/** A flow record that must be among the case's counts (the identity a peer resolved to). */
interface Counted {
  local: number;
  direction: Direction;
  peer: number;
  proto: number;
  dport: number;
  verdict: FlowVerdict;
  /** the deciding rule (0 = default verdict) */
  rule: number;
}

interface Case {
  name: string;
  endpoints: Partial<Record<PodName, Partial<EndpointEntry>>>;
  /** replaces the default ipcache (every pod's and gateway's address of BOTH families) */
  ipcache?: IpcacheEntry[];
  policy: PolicyEntry[];
  probes: Probe[];
  counted?: Counted[];
}

const TCP_PORTS = [80, 81, 8079, 8080, 8087, 8090, 8091];
const UDP_PORTS = [53, 5353];

/** The case table, for one family: same policies, the family's addresses / world / ICMP. */
const cases = (f: Family): Case[] => [
  {
    name: 'allowed by peer identity, everything else dropped by default-deny',
    endpoints: { pod1: { defaultDenyEgress: true }, pod2: { defaultDenyIngress: true } },
    policy: [
      rule(ID.pod1, egress, ID.pod2, IpProto.tcp, 80, allow, 11),
      rule(ID.pod2, ingress, ID.pod1, IpProto.tcp, 80, allow, 12),
    ],
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'pass' },
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 81, want: 'drop' },
      { from: 'pod3', to: 'pod2', proto: 'tcp', port: 80, want: 'drop' },
      { from: 'pod1', to: 'pod3', proto: 'tcp', port: 80, want: 'drop' },
      { from: 'pod3', to: 'pod1', proto: 'tcp', port: 80, want: 'pass' },
    ],
  },
  {
    name: 'unenforced egress of the client opens no bypass of the server ingress default-deny',
    endpoints: { pod1: {}, pod2: { defaultDenyIngress: true } },
    policy: [],
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'drop' },
      { from: 'pod1', to: 'pod2', proto: 'udp', port: 5353, want: 'drop' },
      { from: 'pod2', to: 'pod1', proto: 'tcp', port: 80, want: 'pass' },
    ],
  },
  {
    name: 'any-peer and any-protocol wildcards',
    endpoints: { pod2: { defaultDenyIngress: true } },
    policy: [rule(ID.pod2, ingress, ReservedIdentity.any, IpProto.any, 0, allow, 20)],
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'pass' },
      { from: 'pod3', to: 'pod2', proto: 'udp', port: 53, want: 'pass' },
    ],
  },
  {
    name: 'port range 8080-8090 split into prefix blocks',
    endpoints: { pod2: { defaultDenyIngress: true } },
    policy: splitPortRange(8080, 8090).map((b) => rule(ID.pod2, ingress, ID.pod1, IpProto.tcp, b.port, allow, 30, b.prefixLen)),
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 8079, want: 'drop' },
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 8080, want: 'pass' },
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 8087, want: 'pass' },
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 8090, want: 'pass' },
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 8091, want: 'drop' },
    ],
  },
  {
    name: 'deny beats allow: specific-peer deny over any-peer allow',
    endpoints: { pod2: { defaultDenyIngress: true } },
    policy: [
      rule(ID.pod2, ingress, ReservedIdentity.any, IpProto.any, 0, allow, 40),
      rule(ID.pod2, ingress, ID.pod1, IpProto.tcp, 80, deny, 41),
    ],
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'drop' },
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 81, want: 'pass' },
      { from: 'pod3', to: 'pod2', proto: 'tcp', port: 80, want: 'pass' },
    ],
    counted: [
      { local: ID.pod2, direction: ingress, peer: ID.pod1, proto: IpProto.tcp, dport: 80, verdict: FlowVerdict.dropped, rule: 41 },
      { local: ID.pod2, direction: ingress, peer: ID.pod3, proto: IpProto.tcp, dport: 80, verdict: FlowVerdict.forwarded, rule: 40 },
    ],
  },
  {
    name: 'deny beats allow: any-peer protocol deny over a longer specific-peer port allow',
    endpoints: { pod2: {} },
    policy: [
      rule(ID.pod2, ingress, ID.pod1, IpProto.tcp, 80, allow, 50),
      rule(ID.pod2, ingress, ReservedIdentity.any, IpProto.tcp, 0, deny, 51),
    ],
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'drop' },
      { from: 'pod1', to: 'pod2', proto: 'udp', port: 5353, want: 'pass' },
    ],
    counted: [{ local: ID.pod2, direction: ingress, peer: ID.pod1, proto: IpProto.tcp, dport: 80, verdict: FlowVerdict.dropped, rule: 51 }],
  },
  {
    name: 'CIDR identity via ipcache, longer-prefix except carved out back to world',
    endpoints: { pod1: { defaultDenyEgress: true } },
    ipcache: [
      { cidr: f.cidr.range, identity: ID.cidr },
      { cidr: f.cidr.except, identity: f.world },
    ],
    policy: [rule(ID.pod1, egress, ID.cidr, IpProto.tcp, 80, allow, 60)],
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'pass' }, // pod2 ∈ range
      { from: 'pod1', to: 'pod3', proto: 'tcp', port: 80, want: 'drop' }, // pod3 ∈ except
    ],
    counted: [
      { local: ID.pod1, direction: egress, peer: ID.cidr, proto: IpProto.tcp, dport: 80, verdict: FlowVerdict.forwarded, rule: 60 },
      { local: ID.pod1, direction: egress, peer: f.world, proto: IpProto.tcp, dport: 80, verdict: FlowVerdict.dropped, rule: 0 },
    ],
  },
  {
    name: "world: a peer outside the ipcache is the family's world identity (world / world-ipv6), not the other's",
    endpoints: { pod1: { defaultDenyEgress: true } },
    ipcache: [],
    policy: [
      rule(ID.pod1, egress, f.world, IpProto.udp, 5353, allow, 70),
      rule(ID.pod1, egress, f.otherWorld, IpProto.tcp, 80, allow, 71),
    ],
    probes: [
      { from: 'pod1', to: 'pod3', proto: 'udp', port: 5353, want: 'pass' },
      { from: 'pod1', to: 'pod3', proto: 'tcp', port: 80, want: 'drop' },
    ],
    counted: [
      { local: ID.pod1, direction: egress, peer: f.world, proto: IpProto.udp, dport: 5353, verdict: FlowVerdict.forwarded, rule: 70 },
      { local: ID.pod1, direction: egress, peer: f.world, proto: IpProto.tcp, dport: 80, verdict: FlowVerdict.dropped, rule: 0 },
    ],
  },
  {
    name: 'replies of an allowed connection pass, the reverse direction does not',
    endpoints: {
      pod1: { defaultDenyIngress: true, defaultDenyEgress: true },
      pod2: { defaultDenyIngress: true, defaultDenyEgress: true },
    },
    policy: [
      rule(ID.pod1, egress, ID.pod2, IpProto.tcp, 80, allow, 80),
      rule(ID.pod1, egress, ID.pod2, IpProto.udp, 5353, allow, 81),
      rule(ID.pod2, ingress, ID.pod1, IpProto.tcp, 80, allow, 82),
      rule(ID.pod2, ingress, ID.pod1, IpProto.udp, 5353, allow, 83),
    ],
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'pass' },
      { from: 'pod1', to: 'pod2', proto: 'udp', port: 5353, want: 'pass' },
      { from: 'pod2', to: 'pod1', proto: 'tcp', port: 80, want: 'drop' },
      { from: 'pod2', to: 'pod1', proto: 'udp', port: 5353, want: 'drop' },
    ],
  },
  {
    name: "ICMP echo allowed by type; the echo reply passes via conntrack, the reverse ping does not, the other family's ICMP allow admits nothing",
    endpoints: {
      pod1: { defaultDenyIngress: true, defaultDenyEgress: true },
      pod2: { defaultDenyIngress: true, defaultDenyEgress: true },
    },
    policy: [
      rule(ID.pod1, egress, ID.pod2, f.icmp.proto, f.icmp.echo, allow, 84),
      rule(ID.pod2, ingress, ID.pod1, f.icmp.proto, f.icmp.echo, allow, 85),
      rule(ID.pod2, ingress, ID.pod3, f.otherIcmp.proto, f.otherIcmp.echo, allow, 86),
    ],
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'icmp', port: f.icmp.echo, want: 'pass' },
      { from: 'pod2', to: 'pod1', proto: 'icmp', port: f.icmp.echo, want: 'drop' },
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'drop' },
      { from: 'pod3', to: 'pod2', proto: 'icmp', port: f.icmp.echo, want: 'drop' },
    ],
    counted: [
      { local: ID.pod2, direction: ingress, peer: ID.pod1, proto: f.icmp.proto, dport: f.icmp.echo, verdict: FlowVerdict.forwarded, rule: 85 },
      { local: ID.pod2, direction: ingress, peer: ID.pod3, proto: f.icmp.proto, dport: f.icmp.echo, verdict: FlowVerdict.dropped, rule: 0 },
    ],
  },
  {
    name: 'audit endpoint: default-deny only counted, traffic passes',
    endpoints: { pod2: { defaultDenyIngress: true, auditIngress: true } },
    policy: [],
    probes: [{ from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'pass' }],
    counted: [{ local: ID.pod2, direction: ingress, peer: ID.pod1, proto: IpProto.tcp, dport: 80, verdict: FlowVerdict.audit, rule: 0 }],
  },
];


/** Same-node delivery: through the node's stack (both hooks decide), or decided at the source's hook
 *  and delivered with bpf_redirect_peer. Every case must come out the same either way. */
const HOST_ROUTING = [
  { mode: 'stack', tag: 'pol' },
  { mode: 'bpf', tag: 'polbpf' },
] as const;

describe.skipIf(!ROOT).each(HOST_ROUTING)('datapath policy with real packets, host routing $mode', { timeout: 120_000 }, ({ mode, tag }) => {
  let topo: Topology | undefined;
  let dp: Datapath | undefined;
  const peers = new Map<PodName, Peer>();
  const pinDir = `/sys/fs/bpf/fleetnet-test-policy-${mode}-${process.pid}`;

  const pod = (p: PodName) => {
    const x = topo?.pods[INDEX[p] - 1];
    if (!x) throw new Error(`no ${p}`);
    return x;
  };
  const ifindex = (p: PodName): number => pod(p).hostIfindex;
  const peer = (p: PodName): Peer => {
    const x = peers.get(p);
    if (!x) throw new Error(`no peer ${p}`);
    return x;
  };
  const d = (): Datapath => {
    if (!dp) throw new Error('datapath not loaded');
    return dp;
  };

  /** Pods' own addresses (/32 and /128) and the node's gateways as host, like the agent writes them. */
  const baseIpcache = (): IpcacheEntry[] => [
    ...PODS.flatMap((p) => [
      { cidr: `${V4.ip[p]}/32`, identity: ID[p] },
      { cidr: `${V6.ip[p]}/128`, identity: ID[p] },
    ]),
    ...PODS.flatMap((p) => [
      { cidr: `${pod(p).gatewayIp}/32`, identity: ReservedIdentity.host },
      { cidr: `${pod(p).gatewayIp6}/128`, identity: ReservedIdentity.host },
    ]),
  ];

  /** What kernelDecide predicts for a probe: it passes when the source's egress and the destination's
   *  ingress both let it through (replies pass by conntrack); peers resolved through the case's ipcache. */
  const modelVerdict = (c: Case, f: Family, p: Probe): 'pass' | 'drop' => {
    const identityOf = ipcacheLookup(c.ipcache ?? baseIpcache());
    const endpoints = Object.entries(c.endpoints).map(([name, o]) => ep(name as PodName, ifindex(name as PodName), o));
    const proto = p.proto === 'icmp' ? f.icmp.proto : p.proto === 'tcp' ? IpProto.tcp : IpProto.udp;
    const through = (local: PodName, direction: Direction, peer: PodName): boolean =>
      kernelDecide({ endpoints, policy: c.policy }, { localId: ID[local], peerId: identityOf(f.ip[peer]), direction, proto, port: p.port })?.verdict !== 'dropped';
    return through(p.from, egress, p.to) && through(p.to, ingress, p.from) ? 'pass' : 'drop';
  };

  /** Resets maps to the case's state: endpoints, ipcache, policy replaced; conntrack and flows cleared. */
  const apply = (c: Omit<Case, 'probes' | 'name'>): void => {
    const dpx = d();
    dpx.deleteEndpoints(dpx.listEndpoints().map((e) => e.ifindex));
    dpx.deletePolicy(dpx.listPolicy());
    dpx.deleteIpcache(dpx.listIpcache().map((e) => e.cidr));
    dpx.clearConntrack();
    dpx.readAndResetFlows();
    dpx.upsertIpcache(c.ipcache ?? baseIpcache());
    dpx.upsertPolicy(c.policy);
    dpx.upsertEndpoints(Object.entries(c.endpoints).map(([p, o]) => ep(p as PodName, ifindex(p as PodName), o)));
  };

  /** A drop is a timeout, so a starved CI machine could turn a slow pass into a drop: an expected
   *  pass that did not arrive within 500 ms is retried once with 3 s. A pass is always final. */
  const probeOnce = async (f: Family, p: Probe, timeoutMs: number): Promise<'pass' | 'drop'> => {
    const to = f.ip[p.to];
    if (p.proto === 'icmp') return pingFrom(pod(p.from).nsPath, to, timeoutMs) ? 'pass' : 'drop';
    if (p.proto === 'tcp') return (await peer(p.from).tcp(to, p.port, timeoutMs)).ok ? 'pass' : 'drop';
    const r = await peer(p.from).udp(to, p.port, { count: 3, size: 32, timeoutMs, expectReplies: true });
    return r.replies === 3 ? 'pass' : 'drop';
  };
  const probe = async (f: Family, p: Probe): Promise<'pass' | 'drop'> => {
    const first = await probeOnce(f, p, 500);
    return first === 'drop' && p.want === 'pass' ? probeOnce(f, p, 3000) : first;
  };

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology(tag);
    dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx', hostRouting: mode });
    dp.load();
    for (const p of PODS) {
      peers.set(p, await Peer.start(pod(p).nsPath));
      for (const port of TCP_PORTS) await peer(p).listen('tcp', port);
      for (const port of UDP_PORTS) await peer(p).listen('udp', port);
    }
    // Attach with the pods unmanaged (no endpoint entries yet): traffic passes untouched.
    for (const p of PODS) {
      const r = dp.attachEndpoint(ep(p, ifindex(p)));
      expect(r).toEqual({ ingress: 'tcx-created', egress: 'tcx-created' });
    }
    // Let the new addresses' MLD reports go by while counted, so no case sees them.
    apply({ endpoints: { pod1: {}, pod2: {}, pod3: {} }, policy: [] });
    await waitForQuietFlows(dp);
  });

  afterAll(() => {
    for (const p of peers.values()) p.stop();
    try {
      dp?.destroy();
    } finally {
      topo?.destroy();
    }
  });

  beforeEach(() => apply({ endpoints: {}, policy: [] }));

  describe.each(FAMILIES)('$name', (f) => {
    it.each(cases(f))('$name', async (c) => {
      apply(c);
      const got: string[] = [];
      for (const p of c.probes) got.push(`${p.from}->${p.to} ${p.proto}/${p.port} ${await probe(f, p)}`);
      expect(got).toEqual(c.probes.map((p) => `${p.from}->${p.to} ${p.proto}/${p.port} ${p.want}`));
      // the TypeScript model of the kernel's decision (agent/src/compile/kernel-decide.ts) predicts the same
      expect(c.probes.map((p) => `${p.from}->${p.to} ${p.proto}/${p.port} ${modelVerdict(c, f, p)}`)).toEqual(got);
      const flows = d().readAndResetFlows();
      // Every probe was of this family (ARP and NDP pass uncounted): so is every count.
      expect([...new Set(flows.map((x) => x.ipVersion))]).toEqual([f.version]);
      // The identities the peers resolved to, and the deciding rule, as counted.
      const asCounted = (x: FlowRecord): Counted => ({ local: x.localId, direction: x.direction, peer: x.peerId, proto: x.proto, dport: x.dport, verdict: x.verdict, rule: x.ruleId });
      const sameKey = (a: Counted, b: Counted): boolean => a.local === b.local && a.direction === b.direction && a.peer === b.peer && a.proto === b.proto && a.dport === b.dport && a.verdict === b.verdict;
      for (const w of c.counted ?? []) expect(flows.map(asCounted).filter((x) => sameKey(x, w))).toEqual([w]);
    });

    it('audit counts would-drop: default-deny audit and audit-deny entries pass and are counted', async () => {
      apply({
        endpoints: { pod2: { defaultDenyIngress: true, auditIngress: true } },
        policy: [
          rule(ID.pod2, ingress, ID.pod3, IpProto.any, 0, allow, 90),
          rule(ID.pod2, ingress, ID.pod3, IpProto.udp, 5353, auditDeny, 91),
        ],
      });
      expect(await probe(f, { from: 'pod1', to: 'pod2', proto: 'udp', port: 5353, want: 'pass' })).toBe('pass');
      expect(await probe(f, { from: 'pod3', to: 'pod2', proto: 'udp', port: 5353, want: 'pass' })).toBe('pass');
      const flows = d().readAndResetFlows().filter((x) => x.direction === ingress && x.localId === ID.pod2 && x.verdict !== FlowVerdict.reply);
      const summary = flows.map((x) => ({ peer: x.peerId, verdict: x.verdict, rule: x.ruleId, packets: x.packets, flows: x.flows, ipVersion: x.ipVersion })).sort((a, b) => a.peer - b.peer);
      expect(summary).toEqual([
        { peer: ID.pod1, verdict: FlowVerdict.audit, rule: 0, packets: 3, flows: 1, ipVersion: f.version },
        { peer: ID.pod3, verdict: FlowVerdict.audit, rule: 91, packets: 3, flows: 1, ipVersion: f.version },
      ]);
    });

    it('a policy change applies to an already established connection (generation)', async () => {
      const allowUdp = rule(ID.pod2, ingress, ID.pod1, IpProto.udp, 5353, allow, 110);
      apply({ endpoints: { pod2: { defaultDenyIngress: true } }, policy: [allowUdp] });
      const send = (timeoutMs: number) => peer('pod1').udp(f.ip.pod2, 5353, { count: 3, size: 32, timeoutMs, expectReplies: true, sport: 40123 });
      expect(await send(3000)).toEqual({ sent: 3, replies: 3 });
      const ct = d().listConntrack().filter((e) => e.sport === 40123 && e.direction === ingress);
      expect(ct.map((e) => ({ saddr: e.saddr, rule: e.ruleId, peer: e.peerId, verdict: e.verdict }))).toEqual([{ saddr: f.ip.pod1, rule: 110, peer: ID.pod1, verdict: FlowVerdict.forwarded }]);
      const before = d().generation();
      d().deletePolicy([allowUdp]);
      expect(d().generation()).toBe(before + 1);
      expect(await send(500)).toEqual({ sent: 3, replies: 0 }); // same 5-tuple, conntrack entry was live
      const drops = d().readAndResetFlows().filter((x) => x.verdict === FlowVerdict.dropped);
      expect(drops.map((x) => ({ peer: x.peerId, dport: x.dport, packets: x.packets, ipVersion: x.ipVersion }))).toEqual([{ peer: ID.pod1, dport: 5353, packets: 3, ipVersion: f.version }]);
    });

    it('flow counters add up exactly to the packets and bytes sent', async () => {
      apply({
        endpoints: { pod1: { defaultDenyEgress: true }, pod2: { defaultDenyIngress: true } },
        policy: [
          rule(ID.pod1, egress, ID.pod2, IpProto.udp, 0, allow, 100, 0),
          rule(ID.pod2, ingress, ID.pod1, IpProto.udp, 5353, allow, 101),
        ],
      });
      const payload = 200;
      const frame = 14 + f.ipHeaderBytes + 8 + payload; // skb->len at TC: Ethernet + IP + UDP + payload
      // 5353 is allowed and echoed (replies kept open until all arrive); 53 is dropped at pod2.
      const table = [
        { port: 5353, count: 50, replies: 50, timeoutMs: 3000 }, // returns as soon as all replies are in
        { port: 53, count: 17, replies: 0, timeoutMs: 500 },
      ];
      const before = { 5353: (await peer('pod2').received(5353)).datagrams, 53: (await peer('pod2').received(53)).datagrams };
      for (const t of table) {
        const r = await peer('pod1').udp(f.ip.pod2, t.port, { count: t.count, size: payload, timeoutMs: t.timeoutMs, expectReplies: true });
        expect(r).toEqual({ sent: t.count, replies: t.replies });
      }
      await new Promise((r) => setTimeout(r, 100));
      expect((await peer('pod2').received(5353)).datagrams - before[5353]).toBe(50);
      expect((await peer('pod2').received(53)).datagrams - before[53]).toBe(0);

      const flows = d().readAndResetFlows();
      const pick = (local: number, dir: Direction, dport: number, verdict: FlowVerdict) =>
        flows.filter((x) => x.localId === local && x.direction === dir && x.dport === dport && x.verdict === verdict && x.proto === IpProto.udp);
      const row = (local: number, dir: Direction, dport: number, verdict: FlowVerdict) =>
        pick(local, dir, dport, verdict).map((x) => ({ peer: x.peerId, rule: x.ruleId, packets: x.packets, bytes: x.bytes, flows: x.flows }));

      expect(row(ID.pod1, egress, 5353, FlowVerdict.forwarded)).toEqual([{ peer: ID.pod2, rule: 100, packets: 50, bytes: 50 * frame, flows: 1 }]);
      expect(row(ID.pod1, egress, 53, FlowVerdict.forwarded)).toEqual([{ peer: ID.pod2, rule: 100, packets: 17, bytes: 17 * frame, flows: 1 }]);
      expect(row(ID.pod2, ingress, 5353, FlowVerdict.forwarded)).toEqual([{ peer: ID.pod1, rule: 101, packets: 50, bytes: 50 * frame, flows: 1 }]);
      expect(row(ID.pod2, ingress, 53, FlowVerdict.dropped)).toEqual([{ peer: ID.pod1, rule: 0, packets: 17, bytes: 17 * frame, flows: 17 }]);
      expect(row(ID.pod2, egress, 5353, FlowVerdict.reply)).toEqual([{ peer: ID.pod1, rule: 0, packets: 50, bytes: 50 * frame, flows: 0 }]);
      expect(row(ID.pod1, ingress, 5353, FlowVerdict.reply)).toEqual([{ peer: ID.pod2, rule: 0, packets: 50, bytes: 50 * frame, flows: 0 }]);
      // Every packet is counted once per hook it crosses, with its family: nothing else was sent
      // (ARP and neighbor discovery pass uncounted).
      const total = flows.reduce((s, x) => s + x.packets, 0);
      expect(total).toBe((50 + 17) * 2 + 50 * 2);
      const totalBytes = flows.reduce((s, x) => s + x.bytes, 0);
      expect(totalBytes).toBe(((50 + 17) * 2 + 50 * 2) * frame);
      expect(flows.filter((x) => x.ipVersion !== f.version)).toEqual([]);
      const [first] = pick(ID.pod1, egress, 5353, FlowVerdict.forwarded);
      expect(first && first.firstSeenNs > 0 && first.lastSeenNs >= first.firstSeenNs).toBe(true);
      // read-and-reset: a second read is empty
      expect(d().readAndResetFlows()).toEqual([]);
    });
  });
});
