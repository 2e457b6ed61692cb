/**
 * Host routing 'bpf' (bpf_redirect_peer) really skips the node's stack between two pods of the node,
 * and only where it may: the node namespace's netfilter FORWARD chain counts what crossed the stack.
 * With 'stack' every datagram crosses it; with 'bpf' none does once the neighbour is resolved, while the
 * destination's ingress policy still decides (a pod with no allow gets nothing, counted as its ingress
 * drop), and traffic to an address that is not a policed pod of this node keeps taking the stack.
 * (Verdict parity for every policy case: test/datapath/policy.test.ts runs its table in both modes.)
 * Root only (CI runs as root); otherwise skipped with a loud reason.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EndpointEntry, PolicyEntry } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { Direction, FlowVerdict, IpProto, NodeNat, PolicyVerdict } from '../../agent/src/kernel/identities.js';
import { createTopology, ensureBpffs, isRoot, Peer, pingFrom, podIpcacheEntries, tearDownDatapathTest, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/datapath/host-routing.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const ID = { pod1: 2001, pod2: 2002, pod3: 2003 } as const;
const PORT = 5353;
const ECHO_PORT = 5454;
const DATAGRAMS = 200;
/** A ClusterIP-style service address the node DNATs to pod 2's echo port (kube-proxy's iptables way). */
const SERVICE = { 4: { ip: '10.250.0.10', port: 9999 }, 6: { ip: 'fd00:250::10', port: 9999 } } as const;

describe.skipIf(!ROOT).each([{ mode: 'stack' as const, tag: 'hrstack' }, { mode: 'bpf' as const, tag: 'hrbpf' }])(
  'same-node delivery, host routing $mode',
  { timeout: 60_000 },
  ({ mode, tag }) => {
    let topo: Topology | undefined;
    let dp: Datapath | undefined;
    const peers: Peer[] = [];
    const pinDir = `/sys/fs/bpf/fleetnet-test-host-routing-${mode}-${process.pid}`;
    const nodeNs = () => topo!.node.ns;
    const pod = (i: 1 | 2 | 3) => topo!.pods[i - 1]!;
    /** Packets the node's FORWARD chain saw from pod 1 to `to` (iptables or ip6tables counter rule). */
    const forwarded = (family: 4 | 6, to: string): number => {
      const tool = family === 4 ? 'iptables' : 'ip6tables';
      const out = execFileSync('ip', ['netns', 'exec', nodeNs(), tool, '-L', 'FORWARD', '-v', '-x', '-n'], { encoding: 'utf8' });
      const line = out.split('\n').find((l) => l.includes(to) && l.includes(family === 4 ? pod(1).ip : pod(1).ip6));
      return Number(line?.trim().split(/\s+/)[0] ?? NaN);
    };

    beforeAll(async () => {
      ensureBpffs();
      topo = createTopology(tag, 3);
      for (const [family, tool] of [[4, 'iptables'], [6, 'ip6tables']] as const) {
        for (const to of [2, 3] as const) {
          const src = family === 4 ? pod(1).ip : pod(1).ip6;
          const dst = family === 4 ? pod(to).ip : pod(to).ip6;
          execFileSync('ip', ['netns', 'exec', nodeNs(), tool, '-A', 'FORWARD', '-s', src, '-d', dst, '-j', 'ACCEPT']);
        }
      }
      execFileSync('ip', ['netns', 'exec', nodeNs(), 'iptables', '-t', 'nat', '-A', 'PREROUTING', '-d', SERVICE[4].ip, '-p', 'udp', '--dport', String(SERVICE[4].port), '-j', 'DNAT', '--to-destination', `${pod(2).ip}:${ECHO_PORT}`]);
      execFileSync('ip', ['netns', 'exec', nodeNs(), 'ip6tables', '-t', 'nat', '-A', 'PREROUTING', '-d', SERVICE[6].ip, '-p', 'udp', '--dport', String(SERVICE[6].port), '-j', 'DNAT', '--to-destination', `[${pod(2).ip6}]:${ECHO_PORT}`]);
      dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx', hostRouting: mode });
      dp.load();
      dp.upsertIpcache(podIpcacheEntries(topo.pods, (p) => ID[`pod${p.index as 1 | 2 | 3}`]));
      const allowUdp: PolicyEntry = { localId: ID.pod2, peerId: ID.pod1, direction: Direction.ingress, proto: IpProto.udp, port: PORT, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 41 };
      const allowPing = (v6: boolean): PolicyEntry => ({ localId: ID.pod2, peerId: ID.pod1, direction: Direction.ingress, proto: v6 ? IpProto.icmpv6 : IpProto.icmp, port: v6 ? 128 : 8, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 42 });
      const allowEcho: PolicyEntry = { ...allowUdp, port: ECHO_PORT, ruleId: 43 };
      dp.upsertPolicy([allowUdp, allowEcho, allowPing(false), allowPing(true)]);
      const ep = (ifindex: number, identity: number, denyIngress: boolean): EndpointEntry => ({ ifindex, identity, defaultDenyIngress: denyIngress, defaultDenyEgress: false, auditIngress: false, auditEgress: false });
      dp.attachEndpoint(ep(pod(1).hostIfindex, ID.pod1, false));
      dp.attachEndpoint(ep(pod(2).hostIfindex, ID.pod2, true));
      dp.attachEndpoint(ep(pod(3).hostIfindex, ID.pod3, true));
      for (const i of [1, 2, 3] as const) peers.push(await Peer.start(pod(i).nsPath));
      await peers[1]!.listen('udp', PORT, false);
      await peers[2]!.listen('udp', PORT, false);
      await peers[1]!.listen('udp', ECHO_PORT, true);
      // Resolve the node's neighbours of every pod (while unknown, packets take the stack): the node
      // may always reach its pods (allow-localhost), and pod 1 may ping pod 2.
      for (const i of [1, 2, 3] as const) {
        expect(pingFrom(topo.node.nsPath, pod(i).ip, 2000)).toBe(true);
        expect(pingFrom(topo.node.nsPath, pod(i).ip6, 2000)).toBe(true);
      }
      expect(pingFrom(pod(1).nsPath, pod(2).ip, 2000)).toBe(true);
      expect(pingFrom(pod(1).nsPath, pod(2).ip6, 2000)).toBe(true);
    });

    afterAll(() => tearDownDatapathTest({ helpers: peers, datapath: dp, topology: topo }));

    it.each([4, 6] as const)('IPv%s: allowed datagrams reach pod 2 — through the stack, or past it — counted at both ends', async (family) => {
      const to = family === 4 ? pod(2).ip : pod(2).ip6;
      dp!.readAndResetFlows();
      const before = forwarded(family, to);
      const received0 = (await peers[1]!.received(PORT)).datagrams;
      const sent = (await peers[0]!.udp(to, PORT, { count: DATAGRAMS, size: 16, timeoutMs: 10_000 })).sent;
      await new Promise((r) => setTimeout(r, 200));
      const crossed = forwarded(family, to) - before;
      expect(sent).toBe(DATAGRAMS);
      expect((await peers[1]!.received(PORT)).datagrams - received0).toBe(DATAGRAMS);
      if (mode === 'stack') expect(crossed).toBe(DATAGRAMS);
      else expect(crossed).toBe(0);
      const flows = dp!.readAndResetFlows().filter((f) => f.proto === IpProto.udp && f.dport === PORT);
      const packets = (local: number, direction: Direction) => flows.filter((f) => f.localId === local && f.direction === direction && f.verdict === FlowVerdict.forwarded).reduce((n, f) => n + f.packets, 0);
      expect(packets(ID.pod1, Direction.egress)).toBe(DATAGRAMS);
      expect(packets(ID.pod2, Direction.ingress)).toBe(DATAGRAMS);
    });

    it.each([4, 6] as const)('IPv%s: pod 3 allows nothing in: its ingress drops what pod 1 sends, counted as pod 3\'s drop', async (family) => {
      const to = family === 4 ? pod(3).ip : pod(3).ip6;
      dp!.readAndResetFlows();
      const received0 = (await peers[2]!.received(PORT)).datagrams;
      await peers[0]!.udp(to, PORT, { count: 20, size: 16, timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 200));
      expect((await peers[2]!.received(PORT)).datagrams - received0).toBe(0);
      const dropped = dp!.readAndResetFlows().filter((f) => f.localId === ID.pod3 && f.direction === Direction.ingress && f.verdict === FlowVerdict.dropped && f.dport === PORT);
      expect(dropped.reduce((n, f) => n + f.packets, 0)).toBe(20);
    });

    it.each([4, 6] as const)('IPv%s: a flow the node NATs (a ClusterIP to a pod of this node) keeps crossing the node: the replies come back translated', async (family) => {
      const service = SERVICE[family];
      // a connected UDP socket: only replies from the service address count
      const r = await peers[0]!.udp(service.ip, service.port, { count: 20, size: 16, timeoutMs: 5000, expectReplies: true });
      expect(r).toEqual({ sent: 20, replies: 20 });
      // The node's answer is asked once and kept in the entry the replies match (pod 2's ingress
      // entry of the translated flow); 'stack' never asks.
      const backend = family === 4 ? pod(2).ip : pod(2).ip6;
      const entry = dp!.listConntrack().find((e) => e.ifindex === pod(2).hostIfindex && e.direction === Direction.ingress && e.daddr === backend && e.dport === ECHO_PORT);
      expect(entry?.nodeNat).toBe(mode === 'bpf' ? NodeNat.yes : NodeNat.unknown);
    });

    it.each([4, 6] as const)('IPv%s: a pod → pod flow the node does not translate is asked about once and delivered past the stack from then on', async (family) => {
      const to = family === 4 ? pod(2).ip : pod(2).ip6;
      await peers[0]!.udp(to, PORT, { count: 5, size: 16, timeoutMs: 5000 });
      const from = family === 4 ? pod(1).ip : pod(1).ip6;
      const entry = dp!.listConntrack().find((e) => e.ifindex === pod(1).hostIfindex && e.direction === Direction.egress && e.saddr === from && e.daddr === to && e.dport === PORT);
      expect(entry?.nodeNat).toBe(mode === 'bpf' ? NodeNat.no : NodeNat.unknown);
    });
  },
);
