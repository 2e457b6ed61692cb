/**
 * The redirect to the agent's DNS proxy, with real packets: a policy entry with `proxy: dns` hands an
 * allowed connection to whatever listens on the proxy's address and port in the node's namespace,
 * transparently for the pod — it addresses the resolver (pod 2, which runs NO server on port 53
 * here), and the answers come back from the resolver's address and port, as replies of the pod's
 * connection. The L3/L4 decision comes first: what the pod may not send never reaches the proxy.
 * A stand-in for the proxy (an echo server in the node's namespace) answers; the real proxy is
 * agent/src/dns. Root only (CI runs as root); otherwise skipped with a loud reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EndpointEntry, PolicyEntry } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { Direction, FlowDropReason, FlowVerdict, IpProto, PolicyVerdict, ProxyKind } from '../../agent/src/kernel/identities.js';
import { createTopology, ensureBpffs, isRoot, Peer, podIpcacheEntries, tearDownDatapathTest, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/datapath/dns-redirect.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const ID = { pod1: 3001, pod2: 3002, pod3: 3003 } as const;
const DNS = 53;
const PROXY_PORT = 10053;
const HTTP = 8080;
const HTTP_PROXY_PORT = 10080;
const QUERIES = 20;

describe.skipIf(!ROOT).each([{ mode: 'stack' as const, tag: 'dnsstack' }, { mode: 'bpf' as const, tag: 'dnsbpf' }])(
  'DNS redirect to the proxy, host routing $mode',
  { timeout: 60_000 },
  ({ mode, tag }) => {
    let topo: Topology | undefined;
    let dp: Datapath | undefined;
    const peers: Peer[] = [];
    let proxy: Peer | undefined;
    const pinDir = `/sys/fs/bpf/fleetnet-test-dns-redirect-${mode}-${process.pid}`;
    const pod = (i: 1 | 2 | 3) => topo!.pods[i - 1]!;
    const addr = (i: 1 | 2 | 3, family: 4 | 6) => (family === 4 ? pod(i).ip : pod(i).ip6);
    const proxyAddress = () => ({ port: PROXY_PORT, ipv4: pod(1).gatewayIp, ipv6: pod(1).gatewayIp6 });
    const flowsOf = (pred: (f: ReturnType<Datapath['readAndResetFlows']>[number]) => boolean) => dp!.readAndResetFlows().filter(pred);

    beforeAll(async () => {
      ensureBpffs();
      topo = createTopology(tag, 3);
      dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx', hostRouting: mode });
      dp.load();
      dp.upsertIpcache(podIpcacheEntries(topo.pods, (p) => ID[`pod${p.index as 1 | 2 | 3}`]));
      // pod 1 (egress default deny) may send DNS to pod 2 through the proxy, UDP and TCP, and UDP 53
      // to pod 3 directly (no DNS rules there); nothing else.
      const egress = (peerId: number, proto: number, ruleId: number, proxied: boolean): PolicyEntry => ({
        localId: ID.pod1, peerId, direction: Direction.egress, proto, port: DNS, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId,
        ...(proxied ? { proxy: ProxyKind.dns } : {}),
      });
      dp.upsertPolicy([
        egress(ID.pod2, IpProto.udp, 51, true),
        egress(ID.pod2, IpProto.tcp, 52, true),
        egress(ID.pod3, IpProto.udp, 53, false),
        // TCP 8080 to pod 2 goes to the HTTP proxy (issue 12's redirect, same mechanism)
        { localId: ID.pod1, peerId: ID.pod2, direction: Direction.egress, proto: IpProto.tcp, port: HTTP, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 54, proxy: ProxyKind.http },
      ]);
      const ep = (i: 1 | 2 | 3, denyEgress: boolean): EndpointEntry => ({ ifindex: pod(i).hostIfindex, identity: ID[`pod${i}`], defaultDenyIngress: false, defaultDenyEgress: denyEgress, auditIngress: false, auditEgress: false });
      dp.attachEndpoint(ep(1, true));
      dp.attachEndpoint(ep(2, false));
      dp.attachEndpoint(ep(3, false));
      dp.setDnsProxy(proxyAddress());
      for (const i of [1, 2, 3] as const) peers.push(await Peer.start(pod(i).nsPath));
      await peers[2]!.listen('udp', DNS, false); // pod 3: a plain UDP server on 53, no answers
      proxy = await Peer.start(topo.node.nsPath);
      await proxy.listen('udp', PROXY_PORT, true);
      await proxy.listen('tcp', PROXY_PORT, true);
      await proxy.listen('tcp', HTTP_PROXY_PORT, true);
    });

    afterAll(() => tearDownDatapathTest({ helpers: [proxy, ...peers], datapath: dp, topology: topo }));

    it.each([4, 6] as const)('IPv%s UDP: queries to the resolver reach the proxy, and its answers come back from the resolver\'s address and port', async (family) => {
      dp!.readAndResetFlows();
      const before = (await proxy!.received(PROXY_PORT)).datagrams;
      // a connected socket: only datagrams from pod 2's address and port 53 count as replies, and pod 2
      // runs no server on 53 — every reply is the proxy's, rewritten
      const r = await peers[0]!.udp(addr(2, family), DNS, { count: QUERIES, size: 32, timeoutMs: 5000, expectReplies: true });
      expect(r).toEqual({ sent: QUERIES, replies: QUERIES });
      expect((await proxy!.received(PROXY_PORT)).datagrams - before).toBe(QUERIES);
      const redirect = dp!.listProxyRedirects().find((x) => x.originalAddress === addr(2, family) && x.proto === IpProto.udp);
      expect(redirect).toMatchObject({ podAddress: addr(1, family), originalPort: DNS, proxy: ProxyKind.dns, ifindex: pod(1).hostIfindex });
      // counted as what the pod did: egress to pod 2:53 forwarded by rule 51, the answers as its replies
      const flows = flowsOf((f) => f.localId === ID.pod1 && f.proto === IpProto.udp && f.dport === DNS && f.ipVersion === family);
      const sum = (direction: Direction, verdict: FlowVerdict) => flows.filter((f) => f.direction === direction && f.verdict === verdict).reduce((n, f) => n + f.packets, 0);
      expect(sum(Direction.egress, FlowVerdict.forwarded)).toBe(QUERIES);
      expect(flows.find((f) => f.direction === Direction.egress)).toMatchObject({ peerId: ID.pod2, ruleId: 51 });
      expect(sum(Direction.ingress, FlowVerdict.reply)).toBe(QUERIES);
    });

    it.each([4, 6] as const)('IPv%s TCP: a connection to the resolver\'s port 53 is the proxy\'s, transparently', async (family) => {
      const r = await peers[0]!.tcp(addr(2, family), DNS, 3000);
      expect(r).toEqual({ ok: true }); // nothing listens on pod 2's TCP 53: only the proxy can answer
      expect(dp!.listProxyRedirects().some((x) => x.originalAddress === addr(2, family) && x.proto === IpProto.tcp && x.podAddress === addr(1, family))).toBe(true);
      const ct = dp!.listConntrack().find((e) => e.ifindex === pod(1).hostIfindex && e.direction === Direction.egress && e.proto === IpProto.tcp && e.daddr === addr(2, family));
      expect(ct?.proxy).toBe(ProxyKind.dns);
    });

    it.each([4, 6] as const)('IPv%s: the L3/L4 decision comes first — TCP to pod 3:53 is denied and never reaches the proxy', async (family) => {
      dp!.readAndResetFlows();
      const r = await peers[0]!.tcp(addr(3, family), DNS, 600);
      expect(r.ok).toBe(false);
      const dropped = flowsOf((f) => f.localId === ID.pod1 && f.direction === Direction.egress && f.proto === IpProto.tcp && f.verdict === FlowVerdict.dropped);
      expect(dropped.length).toBeGreaterThan(0);
      expect(dropped.every((f) => f.dropReason === FlowDropReason.policy && f.peerId === ID.pod3)).toBe(true);
      expect(dp!.listProxyRedirects().some((x) => x.originalAddress === addr(3, family))).toBe(false);
    });

    it.each([4, 6] as const)('IPv%s: a port without DNS rules is not redirected (UDP 53 to pod 3 reaches pod 3)', async (family) => {
      const before = (await peers[2]!.received(DNS)).datagrams;
      await peers[0]!.udp(addr(3, family), DNS, { count: 5, size: 16, timeoutMs: 3000 });
      await new Promise((r) => setTimeout(r, 200));
      expect((await peers[2]!.received(DNS)).datagrams - before).toBe(5);
    });

    it('an audit-mode deny that outranks the redirecting allow does not switch the redirect off: the query still goes to the proxy, counted as audit', async () => {
      const exact: PolicyEntry = { localId: ID.pod1, peerId: ID.pod2, direction: Direction.egress, proto: IpProto.udp, port: DNS, portPrefixLen: 16, verdict: PolicyVerdict.auditDeny, ruleId: 58 };
      const anyPeer: PolicyEntry = { ...exact, peerId: 0, verdict: PolicyVerdict.allow, ruleId: 57, proxy: ProxyKind.dns };
      dp!.upsertPolicy([anyPeer, exact]);
      try {
        dp!.readAndResetFlows();
        const before = (await proxy!.received(PROXY_PORT)).datagrams;
        const r = await peers[0]!.udp(pod(2).ip, DNS, { count: 5, size: 16, timeoutMs: 3000, expectReplies: true });
        expect(r.replies).toBe(5);
        expect((await proxy!.received(PROXY_PORT)).datagrams - before).toBe(5);
        const audited = flowsOf((f) => f.localId === ID.pod1 && f.direction === Direction.egress && f.proto === IpProto.udp && f.dport === DNS);
        expect(audited.reduce((n, f) => n + f.packets, 0)).toBe(5);
        expect(audited.every((f) => f.verdict === FlowVerdict.audit && f.ruleId === 58)).toBe(true);
      } finally {
        dp!.upsertPolicy([{ ...exact, verdict: PolicyVerdict.allow, ruleId: 51, proxy: ProxyKind.dns }]);
        dp!.deletePolicy([anyPeer]);
      }
    });

    it.each([4, 6] as const)('IPv%s: an HTTP-kind redirect goes to the HTTP proxy\'s port (and fails closed without it)', async (family) => {
      dp!.setHttpProxy({ ...proxyAddress(), port: HTTP_PROXY_PORT });
      try {
        // nothing listens on pod 2's TCP 8080: only the stand-in on the HTTP proxy's port can answer
        expect(await peers[0]!.tcp(addr(2, family), HTTP, 3000)).toEqual({ ok: true });
        expect(dp!.listProxyRedirects().some((x) => x.originalAddress === addr(2, family) && x.originalPort === HTTP && x.proxy === ProxyKind.http)).toBe(true);
      } finally {
        dp!.setHttpProxy(undefined);
      }
      dp!.readAndResetFlows();
      expect((await peers[0]!.tcp(addr(2, family), HTTP, 600)).ok).toBe(false);
      const dropped = flowsOf((f) => f.localId === ID.pod1 && f.direction === Direction.egress && f.proto === IpProto.tcp && f.dport === HTTP && f.verdict === FlowVerdict.dropped);
      expect(dropped.length).toBeGreaterThan(0);
      expect(dropped.every((f) => f.dropReason === FlowDropReason.noProxy)).toBe(true);
    });

    it('without a proxy, redirected connections are dropped (fail closed) and counted as such; with it back they pass again', async () => {
      dp!.setDnsProxy(undefined);
      try {
        dp!.readAndResetFlows();
        const before = (await proxy!.received(PROXY_PORT)).datagrams;
        const r = await peers[0]!.udp(pod(2).ip, DNS, { count: 5, size: 16, timeoutMs: 1500, expectReplies: true });
        expect(r.replies).toBe(0);
        expect((await proxy!.received(PROXY_PORT)).datagrams).toBe(before);
        const dropped = flowsOf((f) => f.localId === ID.pod1 && f.direction === Direction.egress && f.proto === IpProto.udp && f.dport === DNS && f.verdict === FlowVerdict.dropped);
        expect(dropped.reduce((n, f) => n + f.packets, 0)).toBe(5);
        expect(dropped.every((f) => f.dropReason === FlowDropReason.noProxy)).toBe(true);
      } finally {
        dp!.setDnsProxy(proxyAddress());
      }
      const again = await peers[0]!.udp(pod(2).ip, DNS, { count: 3, size: 16, timeoutMs: 3000, expectReplies: true });
      expect(again.replies).toBe(3);
    });
  },
);
