/**
 * Flow counters are exact while traffic flows: reads taken every millisecond DURING a blast of UDP
 * datagrams add up, over all reads, to exactly the datagrams sent and received. Each read flips the
 * programs to the other flow map, waits for an RCU grace period and only then takes the map they
 * counted into (Datapath.readAndResetFlowsRaw), so no increment can race the read.
 * Root only (CI runs as root); otherwise skipped with a loud reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EndpointEntry, FlowRecord } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { Direction, FlowVerdict, IpProto } from '../../agent/src/kernel/identities.js';
import { createTopology, ensureBpffs, isRoot, Peer, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/datapath/flow-exact.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const ID = { pod1: 1001, pod2: 1002 } as const;
const PORT = 6000;
const DATAGRAMS = 20_000;

describe.skipIf(!ROOT)('flow counters read during traffic add up exactly', { timeout: 60_000 }, () => {
  let topo: Topology | undefined;
  let dp: Datapath | undefined;
  let sender: Peer | undefined;
  let receiver: Peer | undefined;
  const pinDir = `/sys/fs/bpf/fleetnet-test-flow-exact-${process.pid}`;

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('exact', 2);
    dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx' });
    dp.load();
    const [p1, p2] = topo.pods;
    if (!p1 || !p2) throw new Error('topology');
    dp.upsertIpcache([
      { cidr: `${p1.ip}/32`, identity: ID.pod1 },
      { cidr: `${p2.ip}/32`, identity: ID.pod2 },
    ]);
    const ep = (ifindex: number, identity: number): EndpointEntry => ({ ifindex, identity, defaultDenyIngress: false, defaultDenyEgress: false, auditIngress: false, auditEgress: false });
    dp.attachEndpoint(ep(p1.hostIfindex, ID.pod1));
    dp.attachEndpoint(ep(p2.hostIfindex, ID.pod2));
    sender = await Peer.start(p1.nsPath);
    receiver = await Peer.start(p2.nsPath);
    await receiver.listen('udp', PORT, false);
  });

  afterAll(() => {
    sender?.stop();
    receiver?.stop();
    try {
      dp?.destroy();
    } finally {
      topo?.destroy();
    }
  });

  it(`${DATAGRAMS} datagrams, read every millisecond while they flow: sent = counted at the sender's egress`, async () => {
    const d = dp;
    const p2 = topo?.pods[1];
    if (!d || !sender || !receiver || !p2) throw new Error('setup');
    d.readAndResetFlows();
    const lostBefore = d.readCounters();
    const records: FlowRecord[] = [];
    let reads = 0;
    const reader = setInterval(() => {
      records.push(...d.readAndResetFlows());
      reads += 1;
    }, 1);
    let sent = 0;
    try {
      sent = (await sender.udp(p2.ip, PORT, { count: DATAGRAMS, size: 16, timeoutMs: 20_000 })).sent;
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      clearInterval(reader);
    }
    records.push(...d.readAndResetFlows());
    const received = (await receiver.received(PORT)).datagrams;
    const sum = (localId: number, direction: Direction): number =>
      records.filter((r) => r.localId === localId && r.direction === direction && r.proto === IpProto.udp && r.dport === PORT && r.verdict === FlowVerdict.forwarded).reduce((n, r) => n + r.packets, 0);

    expect(sent).toBe(DATAGRAMS);
    expect(reads).toBeGreaterThan(20); // the reads really interleaved with the traffic
    expect(sum(ID.pod1, Direction.egress)).toBe(sent);
    // Every datagram that reached pod2's veth was counted there; its socket may drop some after
    // the hook (a full receive buffer), never before it.
    expect(sum(ID.pod2, Direction.ingress)).toBeGreaterThanOrEqual(received);
    expect(sum(ID.pod2, Direction.ingress)).toBeLessThanOrEqual(sent);
    expect(received).toBeGreaterThan(0);
    expect(d.readCounters()).toEqual(lostBefore);
  });
});
