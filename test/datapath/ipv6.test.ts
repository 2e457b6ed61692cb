/**
 * IPv6-only rules of the datapath with real packets (the family-free policy cases run for both
 * families in policy.test.ts): neighbor discovery passes under default deny in both directions and
 * is never counted; an IPv6 extension header chain is walked (hop-by-hop, routing, fragment, AH,
 * destination options; at most 6) to the upper layer, which the policy then decides; a chain the
 * program cannot walk (longer, or truncated) is dropped on a policed endpoint even when its policy
 * allows everything, and counted with drop reason invalidExtensionHeader; a non-IP EtherType is
 * dropped and counted as unsupportedL3. Hand-built frames are sent with AF_PACKET (raw-frames.ts)
 * from pod1 (through the node's forwarding) or from the node itself on pod2's host veth (for frames
 * a forwarding node would refuse to forward); pod2 counts what reaches its eth0 with AF_PACKET too.
 * Root only (CI runs as root); otherwise skipped with a loud reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EndpointEntry, FlowRecord, PolicyEntry } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { Direction, FlowDropReason, FlowVerdict, IpProto, PolicyVerdict, ReservedIdentity } from '../../agent/src/kernel/identities.js';
import { createTopology, ensureBpffs, isRoot, Peer, pingFrom, runIn, type PodNs, type Topology } from '../helpers/netns.js';
import { waitForQuietFlows } from '../helpers/quiet-flows.js';
import { etherFrame, ExtHeaderType as X, ipv6Frame, RawPort, type ExtHeader } from '../helpers/raw-frames.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/datapath/ipv6.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const ID = { pod1: 1001, pod2: 1002 } as const;
const { ingress, egress } = Direction;
const UDP_PORT = 7777;
const SPORT = 5555;
const COUNT = 3;

type PodName = 'pod1' | 'pod2';

interface Endpoints {
  pod1?: Partial<EndpointEntry>;
  pod2?: Partial<EndpointEntry>;
}

/** pod2's ingress policy for the chain cases: everything from anyone (rule 20), and UDP/7777 from
 *  pod1 (rule 21, peer-specific, so it wins attribution): a counted rule 21 proves the program
 *  found the UDP port behind the chain. */
const CHAIN_POLICY: PolicyEntry[] = [
  { localId: ID.pod2, direction: ingress, peerId: ReservedIdentity.any, proto: IpProto.any, port: 0, portPrefixLen: 0, verdict: PolicyVerdict.allow, ruleId: 20 },
  { localId: ID.pod2, direction: ingress, peerId: ID.pod1, proto: IpProto.udp, port: UDP_PORT, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 21 },
];

interface ChainCase {
  name: string;
  chain: ExtHeader[];
  /** upper layer after the chain: a UDP datagram to UDP_PORT, or nothing (the packet ends) */
  udp: boolean;
  /** pod1: an AF_PACKET frame from pod1's eth0, forwarded by the node; node: sent by the node on
   *  hv2 (pod2's host veth), for chains a forwarding node would discard itself */
  from: 'pod1' | 'node';
  want: 'pass' | 'drop';
  /** drop: the protocol number the walk stopped at (the record's proto) */
  stoppedAt?: number;
  /** pass: pod2's UDP socket receives the datagrams too (Linux accepts the chain) */
  delivered?: boolean;
}

const CHAIN_CASES: ChainCase[] = [
  {
    name: 'hop-by-hop and destination options, then UDP: walked, decided by the UDP port, delivered',
    chain: [{ type: X.hopByHop }, { type: X.destOpts }],
    udp: true,
    from: 'pod1',
    want: 'pass',
    delivered: true,
  },
  {
    name: 'six headers, every kind (hop-by-hop, dest opts, routing, fragment, AH, dest opts), then UDP: the most the program walks',
    chain: [{ type: X.hopByHop }, { type: X.destOpts }, { type: X.routing }, { type: X.fragment }, { type: X.ah }, { type: X.destOpts }],
    udp: true,
    from: 'pod1',
    want: 'pass', // pod2's kernel drops it afterwards (AH without a security association)
  },
  {
    name: 'seven destination options headers, then UDP: one more than walked',
    chain: Array.from({ length: 7 }, () => ({ type: X.destOpts })),
    udp: true,
    from: 'pod1',
    want: 'drop',
    stoppedAt: X.destOpts,
  },
  {
    name: 'hop-by-hop whose length points past the end, then destination options: truncated chain',
    chain: [{ type: X.hopByHop, lengthByte: 8 }, { type: X.destOpts }],
    udp: true,
    from: 'node',
    want: 'drop',
    stoppedAt: X.destOpts,
  },
  {
    name: 'the packet ends inside the second extension header',
    chain: [{ type: X.hopByHop }, { type: X.destOpts, keepBytes: 4 }],
    udp: false,
    from: 'node',
    want: 'drop',
    stoppedAt: X.destOpts,
  },
];

describe.skipIf(!ROOT)('IPv6 on policed endpoints: neighbor discovery, extension header chains, non-IP frames', { timeout: 60_000 }, () => {
  let topo: Topology | undefined;
  let dp: Datapath | undefined;
  const peers = new Map<PodName, Peer>();
  const raw: { pod1?: RawPort; pod2?: RawPort; node?: RawPort } = {};
  const mac = { pod1: '', pod2: '', hv1: '', hv2: '' };
  const pinDir = `/sys/fs/bpf/fleetnet-test-ipv6-${process.pid}`;

  const pod = (p: PodName): PodNs => {
    const x = topo?.pods[p === 'pod1' ? 0 : 1];
    if (!x) throw new Error(`no ${p}`);
    return x;
  };
  const d = (): Datapath => {
    if (!dp) throw new Error('datapath not loaded');
    return dp;
  };
  const rawIn = (where: 'pod1' | 'pod2' | 'node'): RawPort => {
    const r = raw[where];
    if (!r) throw new Error(`no raw port in ${where}`);
    return r;
  };
  const ep = (p: PodName, o: Partial<EndpointEntry>): EndpointEntry => ({
    ifindex: pod(p).hostIfindex, identity: ID[p], defaultDenyIngress: false, defaultDenyEgress: false, auditIngress: false, auditEgress: false, ...o,
  });

  /** Replaces endpoints and policy; conntrack and flow counters cleared. */
  const apply = (endpoints: Endpoints, policy: PolicyEntry[]): void => {
    const x = d();
    x.deleteEndpoints(x.listEndpoints().map((e) => e.ifindex));
    x.deletePolicy(x.listPolicy());
    x.clearConntrack();
    x.readAndResetFlows();
    x.upsertPolicy(policy);
    x.upsertEndpoints((['pod1', 'pod2'] as const).flatMap((p) => (endpoints[p] ? [ep(p, endpoints[p])] : [])));
  };

  /** Reads flows until `done(all read so far)` holds or maxMs passed; returns all read. */
  const collectFlows = async (done: (f: FlowRecord[]) => boolean, maxMs = 2000): Promise<FlowRecord[]> => {
    const all: FlowRecord[] = [];
    const t0 = Date.now();
    for (;;) {
      all.push(...d().readAndResetFlows());
      if (done(all) || Date.now() - t0 > maxMs) return all;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const countOf = async (where: 'pod2', marker: Buffer, atLeast: number, maxMs: number): Promise<number> => {
    const t0 = Date.now();
    for (;;) {
      const n = await rawIn(where).count('eth0', marker);
      if (n >= atLeast || Date.now() - t0 > maxMs) return n;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const neighbors = (nsPath: string): { dst: string; dev: string; lladdr?: string; state?: string[] }[] =>
    JSON.parse(runIn(nsPath, 'ip', ['-j', '-6', 'neigh', 'show'])) as { dst: string; dev: string; lladdr?: string; state?: string[] }[];
  /** The neighbor entry's state if it holds a link-layer address (NONE if absent or unresolved). */
  const neighborState = (nsPath: string, dst: string, dev: string, lladdr: string): string => {
    const n = neighbors(nsPath).find((x) => x.dst === dst && x.dev === dev);
    if (!n || n.lladdr !== lladdr) return 'NONE';
    return (n.state ?? []).join(',');
  };

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('six', 2);
    dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx' });
    dp.load();
    const t = topo;
    const [r1, r2, rn, p1, p2] = await Promise.all([
      RawPort.start(pod('pod1').nsPath), RawPort.start(pod('pod2').nsPath), RawPort.start(t.node.nsPath),
      Peer.start(pod('pod1').nsPath), Peer.start(pod('pod2').nsPath),
    ]);
    Object.assign(raw, { pod1: r1, pod2: r2, node: rn });
    peers.set('pod1', p1);
    peers.set('pod2', p2);
    await p2.listen('tcp', 80);
    await p2.listen('udp', UDP_PORT, false);
    Object.assign(mac, { pod1: await r1.mac('eth0'), pod2: await r2.mac('eth0'), hv1: await rn.mac('hv1'), hv2: await rn.mac('hv2') });
    d().upsertIpcache([
      { cidr: `${pod('pod1').ip6}/128`, identity: ID.pod1 },
      { cidr: `${pod('pod2').ip6}/128`, identity: ID.pod2 },
      { cidr: `${pod('pod1').ip}/32`, identity: ID.pod1 },
      { cidr: `${pod('pod2').ip}/32`, identity: ID.pod2 },
      ...t.pods.flatMap((p) => [{ cidr: `${p.gatewayIp6}/128`, identity: ReservedIdentity.host }, { cidr: `${p.gatewayIp}/32`, identity: ReservedIdentity.host }]),
    ]);
    for (const p of ['pod1', 'pod2'] as const) d().attachEndpoint(ep(p, {}));
    await waitForQuietFlows(d()); // the new addresses' MLD reports go by, counted, before any test
  });

  afterAll(() => {
    for (const r of Object.values(raw)) r?.stop();
    for (const p of peers.values()) p.stop();
    try {
      dp?.destroy();
    } finally {
      topo?.destroy();
    }
  });

  it('neighbor discovery passes under default deny both ways and is never counted: an allowed IPv6 TCP connection resolves its neighbors from flushed caches', async () => {
    apply({ pod1: { defaultDenyIngress: true, defaultDenyEgress: true }, pod2: { defaultDenyIngress: true, defaultDenyEgress: true } }, [
      { localId: ID.pod1, direction: egress, peerId: ID.pod2, proto: IpProto.tcp, port: 80, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 1 },
      { localId: ID.pod2, direction: ingress, peerId: ID.pod1, proto: IpProto.tcp, port: 80, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 2 },
    ]);
    const node = topo?.node.nsPath ?? '';
    const p1 = pod('pod1');
    const p2 = pod('pod2');
    // Every hop must be resolved afresh: pod1 → gateway, node → pod2, pod2 → gateway (and the
    // node → pod1 for the replies), each an NS/NA exchange across a default-deny hook.
    for (const ns of [p1.nsPath, p2.nsPath, node]) runIn(ns, 'ip', ['-6', 'neigh', 'flush', 'all']);
    const pairs = [
      { ns: p1.nsPath, dst: p1.gatewayIp6, dev: 'eth0', lladdr: mac.hv1 },
      { ns: node, dst: p2.ip6, dev: 'hv2', lladdr: mac.pod2 },
      { ns: p2.nsPath, dst: p2.gatewayIp6, dev: 'eth0', lladdr: mac.hv2 },
      { ns: node, dst: p1.ip6, dev: 'hv1', lladdr: mac.pod1 },
    ];
    expect(pairs.map((n) => neighborState(n.ns, n.dst, n.dev, n.lladdr))).toEqual(pairs.map(() => 'NONE'));
    d().readAndResetFlows();

    const p1peer = peers.get('pod1');
    expect(await p1peer?.tcp(p2.ip6, 80, 3000)).toEqual({ ok: true });
    for (const n of pairs) expect(neighborState(n.ns, n.dst, n.dev, n.lladdr), `${n.dst} on ${n.dev}`).toMatch(/^(REACHABLE|STALE|DELAY|PROBE)$/);
    // ICMPv6 other than neighbor discovery is still policed: echo is not allowed.
    expect(pingFrom(p1.nsPath, p2.ip6, 500)).toBe(false);

    const flows = await collectFlows((f) => f.some((x) => x.proto === IpProto.icmpv6), 1000);
    const ndp = flows.filter((x) => x.proto === IpProto.icmpv6 && x.dport >= 133 && x.dport <= 137);
    expect(ndp).toEqual([]);
    const rows = flows.map((x) => `${x.localId} ${x.direction === ingress ? 'in' : 'out'} peer=${x.peerId} ${x.proto}/${x.dport} v${x.verdict} rule=${x.ruleId} ipv${x.ipVersion}`).sort();
    expect(rows).toEqual([
      `${ID.pod1} in peer=${ID.pod2} 6/80 v${FlowVerdict.reply} rule=0 ipv6`,
      `${ID.pod1} out peer=${ID.pod2} 58/128 v${FlowVerdict.dropped} rule=0 ipv6`,
      `${ID.pod1} out peer=${ID.pod2} 6/80 v${FlowVerdict.forwarded} rule=1 ipv6`,
      `${ID.pod2} in peer=${ID.pod1} 6/80 v${FlowVerdict.forwarded} rule=2 ipv6`,
      `${ID.pod2} out peer=${ID.pod1} 6/80 v${FlowVerdict.reply} rule=0 ipv6`,
    ]);
  });

  describe('extension header chains to pod2, whose ingress policy allows everything', () => {
    it.each(CHAIN_CASES)('$name: $want', async (c) => {
      apply({ pod2: { defaultDenyIngress: true } }, CHAIN_POLICY);
      const p1 = pod('pod1');
      const p2 = pod('pod2');
      const tag = Buffer.from(`fleetnet-chain-${CHAIN_CASES.indexOf(c)}`);
      // The receiver matches a marker: the UDP payload, or (no payload) a source MAC of our own.
      const srcMac = c.from === 'pod1' ? mac.pod1 : c.udp ? mac.hv2 : `02:f1:e7:00:00:${(CHAIN_CASES.indexOf(c) + 16).toString(16)}`;
      const marker = c.udp ? tag : Buffer.from(srcMac.replace(/:/g, ''), 'hex');
      const frame = ipv6Frame({
        dstMac: c.from === 'pod1' ? mac.hv1 : mac.pod2,
        srcMac,
        src: p1.ip6,
        dst: p2.ip6,
        chain: c.chain,
        ...(c.udp ? { udp: { sport: SPORT, dport: UDP_PORT, payload: tag } } : {}),
      });
      await rawIn('pod2').watch('eth0', marker);
      const delivered0 = (await peers.get('pod2')?.received(UDP_PORT))?.datagrams ?? 0;

      const sent = await rawIn(c.from === 'pod1' ? 'pod1' : 'node').send(c.from === 'pod1' ? 'eth0' : p2.hostIfname, frame, COUNT);
      // Sent by the node on hv2, a frame the program drops fails the send with ENOBUFS.
      expect(sent).toEqual(c.from === 'node' && c.want === 'drop' ? { sent: 0, refused: COUNT } : { sent: COUNT, refused: 0 });

      const mine = (x: FlowRecord): boolean => x.localId === ID.pod2 && x.direction === ingress;
      const flows = (await collectFlows((f) => f.filter(mine).reduce((s, x) => s + x.packets, 0) >= COUNT)).filter(mine);
      const received = await countOf('pod2', marker, COUNT, c.want === 'pass' ? 2000 : 200);
      expect(received).toBe(c.want === 'pass' ? COUNT : 0);
      const common = { localId: ID.pod2, peerId: ID.pod1, direction: ingress, ipVersion: 6, packets: COUNT, bytes: COUNT * frame.length };
      const got = flows.map((x) => ({ localId: x.localId, peerId: x.peerId, direction: x.direction, ipVersion: x.ipVersion, packets: x.packets, bytes: x.bytes, verdict: x.verdict, proto: x.proto, dport: x.dport, ruleId: x.ruleId, dropReason: x.dropReason, flows: x.flows }));
      if (c.want === 'pass') {
        expect(got).toEqual([{ ...common, verdict: FlowVerdict.forwarded, proto: IpProto.udp, dport: UDP_PORT, ruleId: 21, dropReason: FlowDropReason.policy, flows: 1 }]);
      } else {
        expect(got).toEqual([{ ...common, verdict: FlowVerdict.dropped, proto: c.stoppedAt, dport: 0, ruleId: 0, dropReason: FlowDropReason.invalidExtensionHeader, flows: COUNT }]);
      }
      if (c.delivered) {
        await new Promise((r) => setTimeout(r, 100));
        expect(((await peers.get('pod2')?.received(UDP_PORT))?.datagrams ?? 0) - delivered0).toBe(COUNT);
      }
    });

    it('a chain too long for the walk, sent BY a policed pod, is dropped at its egress hook (whatever its policy)', async () => {
      apply({ pod1: {} }, []); // pod1 managed, no default deny, no policy: everything else it sends passes
      const p1 = pod('pod1');
      const tag = Buffer.from('fleetnet-chain-egress');
      const frame = ipv6Frame({
        dstMac: mac.hv1, srcMac: mac.pod1, src: p1.ip6, dst: pod('pod2').ip6,
        chain: Array.from({ length: 7 }, () => ({ type: X.destOpts })),
        udp: { sport: SPORT, dport: UDP_PORT, payload: tag },
      });
      await rawIn('pod2').watch('eth0', tag);
      await rawIn('pod1').send('eth0', frame, COUNT);
      const flows = await collectFlows((f) => f.reduce((s, x) => s + x.packets, 0) >= COUNT);
      expect(await countOf('pod2', tag, COUNT, 200)).toBe(0);
      expect(flows.map((x) => ({ localId: x.localId, peerId: x.peerId, direction: x.direction, verdict: x.verdict, proto: x.proto, dropReason: x.dropReason, ipVersion: x.ipVersion, packets: x.packets, bytes: x.bytes }))).toEqual([
        { localId: ID.pod1, peerId: ID.pod2, direction: egress, verdict: FlowVerdict.dropped, proto: X.destOpts, dropReason: FlowDropReason.invalidExtensionHeader, ipVersion: 6, packets: COUNT, bytes: COUNT * frame.length },
      ]);
      // The same pod's well-formed IPv6 UDP to the same port passes.
      const before = (await peers.get('pod2')?.received(UDP_PORT))?.datagrams ?? 0;
      await peers.get('pod1')?.udp(pod('pod2').ip6, UDP_PORT, { count: 1, size: 8, timeoutMs: 200 });
      await new Promise((r) => setTimeout(r, 100));
      expect(((await peers.get('pod2')?.received(UDP_PORT))?.datagrams ?? 0) - before).toBe(1);
    });

    /* The last header's length points past the end and its next header is an upper layer: the walk
     * ends beyond skb->len, so the chain was never walked to its end (found by this test: such a
     * packet used to be decided as "UDP port 0"). */
    it('a hop-by-hop header whose length points past the end, then UDP: truncated chain, dropped', async () => {
      apply({ pod2: { defaultDenyIngress: true } }, CHAIN_POLICY);
      const p2 = pod('pod2');
      const tag = Buffer.from('fleetnet-chain-hbh-udp');
      const frame = ipv6Frame({
        dstMac: mac.pod2, srcMac: mac.hv2, src: pod('pod1').ip6, dst: p2.ip6,
        chain: [{ type: X.hopByHop, lengthByte: 8 }], // claims 72 bytes; 8 + 8 + 22 are there
        udp: { sport: SPORT, dport: UDP_PORT, payload: tag },
      });
      await rawIn('pod2').watch('eth0', tag);
      const sent = await rawIn('node').send(p2.hostIfname, frame, COUNT);
      const flows = await collectFlows((f) => f.reduce((s, x) => s + x.packets, 0) >= COUNT);
      const received = await countOf('pod2', tag, COUNT, 200);
      expect({ sent, received, flows: flows.map((x) => ({ verdict: x.verdict, proto: x.proto, dport: x.dport, dropReason: x.dropReason })) }).toEqual({
        sent: { sent: 0, refused: COUNT },
        received: 0,
        flows: [{ verdict: FlowVerdict.dropped, proto: IpProto.udp, dport: 0, dropReason: FlowDropReason.invalidExtensionHeader }],
      });
    });
  });

  it('an NDP-typed message is neighbor discovery only on the link: hop limit 255 to a link-scope or node address passes uncounted; to another pod, or routed, it is policed ICMPv6', async () => {
    const p1 = pod('pod1');
    const p2 = pod('pod2');
    const tag = Buffer.from('fleetnet-ndp-typed-xxxxxxxx'); // body of a would-be NS (target + options)
    const ns = (dst: string, hopLimit: number, from: 'pod1' | 'node', src = from === 'pod1' ? p1.ip6 : p2.gatewayIp6): Buffer =>
      ipv6Frame({
        dstMac: from === 'pod1' ? mac.hv1 : mac.pod2, srcMac: from === 'pod1' ? mac.pod1 : mac.hv2,
        src, dst, chain: [], hopLimit, icmp6: { type: 135, body: tag },
      });
    const dropped = (f: FlowRecord[]) => f.filter((x) => x.proto === IpProto.icmpv6 && x.dport === 135 && x.verdict === FlowVerdict.dropped).reduce((n, x) => n + x.packets, 0);

    // Egress of pod1 (default deny): to the node's address → link traffic, passes uncounted.
    apply({ pod1: { defaultDenyEgress: true } }, []);
    await rawIn('pod1').send('eth0', ns(p1.gatewayIp6, 255, 'pod1'), COUNT);
    await rawIn('pod1').send('eth0', ns('ff02::1:ff00:1', 255, 'pod1'), COUNT); // solicited-node multicast
    await new Promise((r) => setTimeout(r, 100));
    expect((await collectFlows(() => true, 0)).filter((x) => x.proto === IpProto.icmpv6)).toEqual([]);
    // …to another pod's address, even with hop limit 255: plain ICMPv6, dropped and counted.
    await rawIn('pod1').send('eth0', ns(p2.ip6, 255, 'pod1'), COUNT);
    expect(dropped(await collectFlows((f) => dropped(f) >= COUNT))).toBe(COUNT);

    // Ingress of pod2 (default deny): from the node with hop limit 255 → passes, uncounted…
    apply({ pod2: { defaultDenyIngress: true } }, []);
    await rawIn('pod2').watch('eth0', tag);
    await rawIn('node').send(p2.hostIfname, ns(p2.ip6, 255, 'node'), COUNT);
    expect(await countOf('pod2', tag, COUNT, 2000)).toBe(COUNT);
    expect((await collectFlows(() => true, 0)).filter((x) => x.proto === IpProto.icmpv6)).toEqual([]);
    // …a routed one (hop limit below 255 at the hook, here from pod1's address) is policed.
    await rawIn('node').send(p2.hostIfname, ns(p2.ip6, 254, 'node', p1.ip6), COUNT);
    expect(dropped(await collectFlows((f) => dropped(f) >= COUNT))).toBe(COUNT);
    expect(await countOf('pod2', tag, 2 * COUNT, 200)).toBe(COUNT);
  });

  it('a non-IP EtherType reaches an unmanaged pod, and is dropped and counted (unsupportedL3) on a policed one', async () => {
    const p2 = pod('pod2');
    const tag = Buffer.from('fleetnet-non-ip');
    const frame = etherFrame({ dstMac: mac.pod2, srcMac: mac.hv2, etherType: 0x88b5, payload: tag }); // IEEE local experimental
    await rawIn('pod2').watch('eth0', tag);

    apply({}, []); // pod2 unmanaged: untouched, uncounted
    expect(await rawIn('node').send(p2.hostIfname, frame, COUNT)).toEqual({ sent: COUNT, refused: 0 });
    expect(await countOf('pod2', tag, COUNT, 2000)).toBe(COUNT);

    apply({ pod2: {} }, []); // policed, even without any default deny
    expect(await rawIn('node').send(p2.hostIfname, frame, COUNT)).toEqual({ sent: 0, refused: COUNT });
    const flows = await collectFlows((f) => f.length > 0);
    expect(await countOf('pod2', tag, 2 * COUNT, 200)).toBe(COUNT);
    expect(flows.map((x) => ({ localId: x.localId, peerId: x.peerId, direction: x.direction, verdict: x.verdict, proto: x.proto, dropReason: x.dropReason, ipVersion: x.ipVersion, packets: x.packets, bytes: x.bytes, flows: x.flows }))).toEqual([
      { localId: ID.pod2, peerId: 0, direction: ingress, verdict: FlowVerdict.dropped, proto: 0, dropReason: FlowDropReason.unsupportedL3, ipVersion: 0, packets: COUNT, bytes: COUNT * frame.length, flows: COUNT },
    ]);
  });
});
