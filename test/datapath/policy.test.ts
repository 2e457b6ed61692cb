/**
 * Real packets through the fleetnet programs: 3 pod namespaces behind a node namespace, programs
 * attached (TCX) to the node's host-side veths, map entries written through Datapath.
 * Runs as root only (CI runs as root); otherwise skipped with a loud reason.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { EndpointEntry, IpcacheEntry, PolicyEntry } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { Direction, FlowVerdict, IpProto, PolicyVerdict, ReservedIdentity } from '../../agent/src/kernel/identities.js';
import { splitPortRange } from '../../agent/src/kernel/port-range.js';
import { createTopology, ensureBpffs, isRoot, Peer, pingFrom, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/datapath/policy.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const ID = { pod1: 1001, pod2: 1002, pod3: 1003, cidr: 16777217 } as const;
const { ingress, egress } = Direction;
const { allow, deny, auditDeny } = PolicyVerdict;

type PodName = 'pod1' | 'pod2' | 'pod3';
const IP: Record<PodName, string> = { pod1: '10.200.1.2', pod2: '10.200.2.2', pod3: '10.200.3.2' };

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
  /** icmp: the ICMP type the policy sees (8 = echo) */
  port: number;
  want: 'pass' | 'drop';
}

interface Case {
  name: string;
  endpoints: Partial<Record<PodName, Partial<EndpointEntry>>>;
  ipcache?: IpcacheEntry[];
  policy: PolicyEntry[];
  probes: Probe[];
}

const TCP_PORTS = [80, 81, 8079, 8080, 8087, 8090, 8091];
const UDP_PORTS = [53, 5353];

const cases: Case[] = [
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
  },
  {
    name: 'CIDR identity via ipcache, longer-prefix except carved out back to world',
    endpoints: { pod1: { defaultDenyEgress: true } },
    ipcache: [
      { cidr: '10.200.0.0/16', identity: ID.cidr },
      { cidr: '10.200.3.0/28', identity: ReservedIdentity.world },
    ],
    policy: [rule(ID.pod1, egress, ID.cidr, IpProto.tcp, 80, allow, 60)],
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'pass' }, // 10.200.2.2 ∈ /16
      { from: 'pod1', to: 'pod3', proto: 'tcp', port: 80, want: 'drop' }, // 10.200.3.2 ∈ except
    ],
  },
  {
    name: 'world: a peer outside the ipcache is identity world',
    endpoints: { pod1: { defaultDenyEgress: true } },
    ipcache: [],
    policy: [rule(ID.pod1, egress, ReservedIdentity.world, IpProto.udp, 5353, allow, 70)],
    probes: [
      { from: 'pod1', to: 'pod3', proto: 'udp', port: 5353, want: 'pass' },
      { from: 'pod1', to: 'pod3', proto: 'tcp', port: 80, want: 'drop' },
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
    name: 'ICMP echo allowed by type; the echo reply passes via conntrack, the reverse ping does not',
    endpoints: {
      pod1: { defaultDenyIngress: true, defaultDenyEgress: true },
      pod2: { defaultDenyIngress: true, defaultDenyEgress: true },
    },
    policy: [
      rule(ID.pod1, egress, ID.pod2, IpProto.icmp, 8, allow, 84),
      rule(ID.pod2, ingress, ID.pod1, IpProto.icmp, 8, allow, 85),
    ],
    probes: [
      { from: 'pod1', to: 'pod2', proto: 'icmp', port: 8, want: 'pass' },
      { from: 'pod2', to: 'pod1', proto: 'icmp', port: 8, want: 'drop' },
      { from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'drop' },
    ],
  },
  {
    name: 'audit endpoint: default-deny only counted, traffic passes',
    endpoints: { pod2: { defaultDenyIngress: true, auditIngress: true } },
    policy: [],
    probes: [{ from: 'pod1', to: 'pod2', proto: 'tcp', port: 80, want: 'pass' }],
  },
];

describe.skipIf(!ROOT)('datapath policy with real packets', { timeout: 120_000 }, () => {
  let topo: Topology | undefined;
  let dp: Datapath | undefined;
  const peers = new Map<PodName, Peer>();
  const pinDir = `/sys/fs/bpf/fleetnet-test-policy-${process.pid}`;
  const pods: PodName[] = ['pod1', 'pod2', 'pod3'];

  const ifindex = (p: PodName): number => {
    const pod = topo?.pods[pods.indexOf(p)];
    if (!pod) throw new Error(`no ${p}`);
    return pod.hostIfindex;
  };
  const peer = (p: PodName): Peer => {
    const x = peers.get(p);
    if (!x) throw new Error(`no peer ${p}`);
    return x;
  };
  const d = (): Datapath => {
    if (!dp) throw new Error('datapath not loaded');
    return dp;
  };

  /** Pods' own /32s (and the node's gateways as host), like the agent would write them. */
  const baseIpcache = (): IpcacheEntry[] => [
    ...pods.map((p) => ({ cidr: `${IP[p]}/32`, identity: ID[p] })),
    ...pods.map((_p, i) => ({ cidr: `10.200.${i + 1}.1/32`, identity: ReservedIdentity.host })),
  ];

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
  const probeOnce = async (p: Probe, timeoutMs: number): Promise<'pass' | 'drop'> => {
    if (p.proto === 'icmp') {
      const pod = topo?.pods[pods.indexOf(p.from)];
      if (!pod) throw new Error(`no ${p.from}`);
      return pingFrom(pod.nsPath, IP[p.to], timeoutMs) ? 'pass' : 'drop';
    }
    if (p.proto === 'tcp') return (await peer(p.from).tcp(IP[p.to], p.port, timeoutMs)).ok ? 'pass' : 'drop';
    const r = await peer(p.from).udp(IP[p.to], p.port, { count: 3, size: 32, timeoutMs, expectReplies: true });
    return r.replies === 3 ? 'pass' : 'drop';
  };
  const probe = async (p: Probe): Promise<'pass' | 'drop'> => {
    const first = await probeOnce(p, 500);
    return first === 'drop' && p.want === 'pass' ? probeOnce(p, 3000) : first;
  };

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('pol');
    dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx' });
    dp.load();
    for (const [i, p] of pods.entries()) {
      const pod = topo.pods[i];
      if (!pod) throw new Error('topology');
      peers.set(p, await Peer.start(pod.nsPath));
      for (const port of TCP_PORTS) await peer(p).listen('tcp', port);
      for (const port of UDP_PORTS) await peer(p).listen('udp', port);
    }
    // Attach with the pods unmanaged (no endpoint entries yet): traffic passes untouched.
    for (const p of pods) {
      const r = dp.attachEndpoint(ep(p, ifindex(p)));
      expect(r).toEqual({ ingress: 'tcx-created', egress: 'tcx-created' });
    }
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

  it.each(cases)('$name', async (c) => {
    apply(c);
    const got: string[] = [];
    for (const p of c.probes) got.push(`${p.from}->${p.to} ${p.proto}/${p.port} ${await probe(p)}`);
    expect(got).toEqual(c.probes.map((p) => `${p.from}->${p.to} ${p.proto}/${p.port} ${p.want}`));
  });

  it('audit counts would-drop: default-deny audit and audit-deny entries pass and are counted', async () => {
    apply({
      endpoints: { pod2: { defaultDenyIngress: true, auditIngress: true } },
      policy: [
        rule(ID.pod2, ingress, ID.pod3, IpProto.any, 0, allow, 90),
        rule(ID.pod2, ingress, ID.pod3, IpProto.udp, 5353, auditDeny, 91),
      ],
    });
    expect(await probe({ from: 'pod1', to: 'pod2', proto: 'udp', port: 5353, want: 'pass' })).toBe('pass');
    expect(await probe({ from: 'pod3', to: 'pod2', proto: 'udp', port: 5353, want: 'pass' })).toBe('pass');
    const flows = d().readAndResetFlows().filter((f) => f.direction === ingress && f.localId === ID.pod2 && f.verdict !== FlowVerdict.reply);
    const summary = flows.map((f) => ({ peer: f.peerId, verdict: f.verdict, rule: f.ruleId, packets: f.packets, flows: f.flows })).sort((a, b) => a.peer - b.peer);
    expect(summary).toEqual([
      { peer: ID.pod1, verdict: FlowVerdict.audit, rule: 0, packets: 3, flows: 1 },
      { peer: ID.pod3, verdict: FlowVerdict.audit, rule: 91, packets: 3, flows: 1 },
    ]);
  });

  it('a policy change applies to an already established connection (generation)', async () => {
    const allowUdp = rule(ID.pod2, ingress, ID.pod1, IpProto.udp, 5353, allow, 110);
    apply({ endpoints: { pod2: { defaultDenyIngress: true } }, policy: [allowUdp] });
    const send = (timeoutMs: number) => peer('pod1').udp(IP.pod2, 5353, { count: 3, size: 32, timeoutMs, expectReplies: true, sport: 40123 });
    expect(await send(3000)).toEqual({ sent: 3, replies: 3 });
    const ct = d().listConntrack().filter((e) => e.sport === 40123 && e.direction === ingress);
    expect(ct.map((e) => ({ rule: e.ruleId, peer: e.peerId, verdict: e.verdict }))).toEqual([{ rule: 110, peer: ID.pod1, verdict: FlowVerdict.forwarded }]);
    const before = d().generation();
    d().deletePolicy([allowUdp]);
    expect(d().generation()).toBe(before + 1);
    expect(await send(500)).toEqual({ sent: 3, replies: 0 }); // same 5-tuple, conntrack entry was live
    const drops = d().readAndResetFlows().filter((f) => f.verdict === FlowVerdict.dropped);
    expect(drops.map((f) => ({ peer: f.peerId, dport: f.dport, packets: f.packets }))).toEqual([{ peer: ID.pod1, dport: 5353, packets: 3 }]);
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
    const frame = 14 + 20 + 8 + payload; // skb->len at TC: Ethernet + IPv4 + UDP + payload
    // 5353 is allowed and echoed (replies kept open until all arrive); 53 is dropped at pod2.
    const table = [
      { port: 5353, count: 50, replies: 50, timeoutMs: 3000 }, // returns as soon as all replies are in
      { port: 53, count: 17, replies: 0, timeoutMs: 500 },
    ];
    const before = { 5353: (await peer('pod2').received(5353)).datagrams, 53: (await peer('pod2').received(53)).datagrams };
    for (const t of table) {
      const r = await peer('pod1').udp(IP.pod2, t.port, { count: t.count, size: payload, timeoutMs: t.timeoutMs, expectReplies: true });
      expect(r).toEqual({ sent: t.count, replies: t.replies });
    }
    await new Promise((r) => setTimeout(r, 100));
    expect((await peer('pod2').received(5353)).datagrams - before[5353]).toBe(50);
    expect((await peer('pod2').received(53)).datagrams - before[53]).toBe(0);

    const flows = d().readAndResetFlows();
    const pick = (local: number, dir: Direction, dport: number, verdict: FlowVerdict) =>
      flows.filter((f) => f.localId === local && f.direction === dir && f.dport === dport && f.verdict === verdict && f.proto === IpProto.udp);
    const row = (local: number, dir: Direction, dport: number, verdict: FlowVerdict) =>
      pick(local, dir, dport, verdict).map((f) => ({ peer: f.peerId, rule: f.ruleId, packets: f.packets, bytes: f.bytes, flows: f.flows }));

    expect(row(ID.pod1, egress, 5353, FlowVerdict.forwarded)).toEqual([{ peer: ID.pod2, rule: 100, packets: 50, bytes: 50 * frame, flows: 1 }]);
    expect(row(ID.pod1, egress, 53, FlowVerdict.forwarded)).toEqual([{ peer: ID.pod2, rule: 100, packets: 17, bytes: 17 * frame, flows: 1 }]);
    expect(row(ID.pod2, ingress, 5353, FlowVerdict.forwarded)).toEqual([{ peer: ID.pod1, rule: 101, packets: 50, bytes: 50 * frame, flows: 1 }]);
    expect(row(ID.pod2, ingress, 53, FlowVerdict.dropped)).toEqual([{ peer: ID.pod1, rule: 0, packets: 17, bytes: 17 * frame, flows: 17 }]);
    expect(row(ID.pod2, egress, 5353, FlowVerdict.reply)).toEqual([{ peer: ID.pod1, rule: 0, packets: 50, bytes: 50 * frame, flows: 0 }]);
    expect(row(ID.pod1, ingress, 5353, FlowVerdict.reply)).toEqual([{ peer: ID.pod2, rule: 0, packets: 50, bytes: 50 * frame, flows: 0 }]);
    // Every IPv4 packet is counted once per hook it crosses: nothing else was sent.
    const total = flows.reduce((s, f) => s + f.packets, 0);
    expect(total).toBe((50 + 17) * 2 + 50 * 2);
    const [first] = pick(ID.pod1, egress, 5353, FlowVerdict.forwarded);
    expect(first && first.firstSeenNs > 0 && first.lastSeenNs >= first.firstSeenNs).toBe(true);
    // read-and-reset: a second read is empty
    expect(d().readAndResetFlows()).toEqual([]);
  });
});
