/**
 * A full flow map loses nothing silently (issue 8, "forced evictions of flow entries appear as
 * lost"): fn_flows is a plain per-CPU hash, so when it is full a packet's counts go to fn_counters
 * (Datapath.readCounters(), cumulative) instead. With an 8-entry flow map (maxEntries applies to
 * maps created by the load, so this suite has its own pinDir and fresh maps), 40 UDP datagrams to
 * 40 ports — 80 distinct flow keys, one per datagram per hook — must add up exactly:
 * recorded + lost = what crossed the hooks, in packets, bytes and connections. Both families.
 * Root only (CI runs as root); otherwise skipped with a loud reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EndpointEntry, KernelCounters } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { Direction, MapName } from '../../agent/src/kernel/identities.js';
import { createTopology, ensureBpffs, isRoot, Peer, type Topology } from '../helpers/netns.js';
import { waitForQuietFlows } from '../helpers/quiet-flows.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/datapath/flow-loss.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const FLOW_MAP_ENTRIES = 8;
const ID = { pod1: 1001, pod2: 1002 } as const;
const FAMILIES = [
  { name: 'IPv4', version: 4, ipHeaderBytes: 20, dst: (t: Topology) => t.pods[1]?.ip ?? '' },
  { name: 'IPv6', version: 6, ipHeaderBytes: 40, dst: (t: Topology) => t.pods[1]?.ip6 ?? '' },
] as const;

const diff = (a: KernelCounters, b: KernelCounters): KernelCounters => ({
  lostPackets: a.lostPackets - b.lostPackets,
  lostBytes: a.lostBytes - b.lostBytes,
  lostFlows: a.lostFlows - b.lostFlows,
});

describe.skipIf(!ROOT)('a full flow map: counts go to the loss counters, never silently', { timeout: 60_000 }, () => {
  let topo: Topology | undefined;
  let dp: Datapath | undefined;
  let sender: Peer | undefined;
  const pinDir = `/sys/fs/bpf/fleetnet-test-flow-loss-${process.pid}`;

  const d = (): Datapath => {
    if (!dp) throw new Error('datapath not loaded');
    return dp;
  };

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('loss', 2);
    dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx', maxEntries: { [MapName.flows]: FLOW_MAP_ENTRIES } });
    expect(dp.load().reusedMaps).toEqual([]); // fresh maps: maxEntries applied
    const [p1, p2] = topo.pods;
    if (!p1 || !p2) throw new Error('topology');
    d().upsertIpcache([
      { cidr: `${p1.ip}/32`, identity: ID.pod1 },
      { cidr: `${p1.ip6}/128`, identity: ID.pod1 },
      { cidr: `${p2.ip}/32`, identity: ID.pod2 },
      { cidr: `${p2.ip6}/128`, identity: ID.pod2 },
    ]);
    const ep = (ifindex: number, identity: number, o: Partial<EndpointEntry>): EndpointEntry => ({
      ifindex, identity, defaultDenyIngress: false, defaultDenyEgress: false, auditIngress: false, auditEgress: false, ...o,
    });
    // pod1's egress forwards (a conntrack entry, flows 1, per port); pod2's ingress default deny
    // drops every datagram (a connection attempt, flows 1, each): nothing comes back.
    d().attachEndpoint(ep(p1.hostIfindex, ID.pod1, {}));
    d().attachEndpoint(ep(p2.hostIfindex, ID.pod2, { defaultDenyIngress: true }));
    sender = await Peer.start(p1.nsPath);
    await waitForQuietFlows(d()); // the new addresses' MLD reports go by first
  });

  afterAll(() => {
    sender?.stop();
    try {
      dp?.destroy();
    } finally {
      topo?.destroy();
    }
  });

  it.each(FAMILIES)('$name: 40 datagrams to 40 ports (80 flow keys) through an 8-entry flow map add up exactly: recorded + lost', async (f) => {
    if (!topo || !sender) throw new Error('setup');
    const dst = f.dst(topo);
    const ports = Array.from({ length: 40 }, (_, i) => 7000 + i);
    const size = 64;
    const frame = 14 + f.ipHeaderBytes + 8 + size;
    const crossed = ports.length * 2; // pod1's egress hook, then pod2's ingress hook

    d().readAndResetFlows();
    const before = d().readCounters();
    for (const port of ports) expect(await sender.udp(dst, port, { count: 1, size, timeoutMs: 1000 })).toEqual({ sent: 1, replies: 0 });
    await new Promise((r) => setTimeout(r, 100));
    const records = d().readAndResetFlows();
    const lost = diff(d().readCounters(), before);

    expect(records.length).toBeLessThanOrEqual(FLOW_MAP_ENTRIES);
    expect(records.every((x) => x.packets === 1 && x.ipVersion === f.version)).toBe(true); // one key per datagram per hook
    expect(lost.lostPackets).toBeGreaterThanOrEqual(crossed - FLOW_MAP_ENTRIES);
    const recorded = records.reduce((s, x) => ({ packets: s.packets + x.packets, bytes: s.bytes + x.bytes, flows: s.flows + x.flows }), { packets: 0, bytes: 0, flows: 0 });
    expect({ packets: recorded.packets + lost.lostPackets, bytes: recorded.bytes + lost.lostBytes, flows: recorded.flows + lost.lostFlows }).toEqual({
      packets: crossed,
      bytes: crossed * frame,
      flows: crossed,
    });

    // Emptied by the read, the map records again, and nothing more is lost.
    const again = d().readCounters();
    expect(await sender.udp(dst, ports[0] ?? 0, { count: 3, size, timeoutMs: 1000 })).toEqual({ sent: 3, replies: 0 });
    await new Promise((r) => setTimeout(r, 100));
    const after = d().readAndResetFlows();
    expect(diff(d().readCounters(), again)).toEqual({ lostPackets: 0, lostBytes: 0, lostFlows: 0 });
    expect(after.map((x) => ({ local: x.localId, direction: x.direction, dport: x.dport, packets: x.packets, bytes: x.bytes })).sort((a, b) => a.local - b.local)).toEqual([
      { local: ID.pod1, direction: Direction.egress, dport: ports[0], packets: 3, bytes: 3 * frame },
      { local: ID.pod2, direction: Direction.ingress, dport: ports[0], packets: 3, bytes: 3 * frame },
    ]);
  });
});
