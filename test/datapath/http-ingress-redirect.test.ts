/**
 * The ingress redirect to the agent's HTTP proxy, with real packets: a server pod's ingress policy entry
 * with `proxy: http` hands an allowed TCP connection, unchanged, to a transparent socket listening on the
 * proxy's port in the node's namespace (policy.c to_proxy_ingress → assign_to_proxy; the proxy route of
 * agent/src/kernel/proxy-route.ts delivers it). The client talks to the server pod's address and port
 * and gets its answers from there — here from a stand-in proxy (an echo server in this process, its
 * socket in the node's namespace), because the server pod runs no server on that port. The L3/L4
 * decision comes first. The proxy's own upstream connections, registered in fn_proxy_upstreams, meet the
 * server's ingress policy as the client they act for. Root only (CI runs as root).
 */
import { createSocket } from 'node:dgram';
import { createServer, Socket, type Server } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EndpointEntry, PolicyEntry } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { Direction, FlowDropReason, FlowVerdict, IpProto, PolicyVerdict, ProxyKind } from '../../agent/src/kernel/identities.js';
import { loadNativeBinding } from '../../agent/src/kernel/native-binding.js';
import { installProxyRoute } from '../../agent/src/kernel/proxy-route.js';
import { createTopology, ensureBpffs, isRoot, Peer, podIpcacheEntries, tearDownDatapathTest, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/datapath/http-ingress-redirect.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const ID = { pod1: 3101, pod2: 3102, pod3: 3103 } as const;
const WEB = 80;
const DNS = 53;
const PROXY_PORT = 10080;

/** What the stand-in proxy saw of one accepted connection. */
interface Accepted {
  local: string;
  localPort: number;
  remote: string;
}

const bare = (a: string | undefined): string => (a ?? '').replace(/^::ffff:/, '');

describe.skipIf(!ROOT).each([{ mode: 'stack' as const, tag: 'hinstack' }, { mode: 'bpf' as const, tag: 'hinbpf' }])(
  'HTTP ingress redirect to the proxy, host routing $mode',
  { timeout: 60_000 },
  ({ mode, tag }) => {
    let topo: Topology | undefined;
    let dp: Datapath | undefined;
    const peers: Peer[] = [];
    const servers: Server[] = [];
    const accepted: Accepted[] = [];
    const pinDir = `/sys/fs/bpf/fleetnet-test-http-ingress-${mode}-${process.pid}`;
    const binding = loadNativeBinding();
    const pod = (i: 1 | 2 | 3) => topo!.pods[i - 1]!;
    const addr = (i: 1 | 2 | 3, family: 4 | 6) => (family === 4 ? pod(i).ip : pod(i).ip6);
    const nodeAddr = (family: 4 | 6) => (family === 4 ? pod(1).gatewayIp : pod(1).gatewayIp6);
    const proxyAddress = () => ({ port: PROXY_PORT, ipv4: nodeAddr(4), ipv6: nodeAddr(6) });

    /** A TCP connection from the node's namespace (this process, the addon's socket) to `to`:80, bound first
     *  — to the node's address, or transparently to `from` (as the HTTP proxy speaks with its client's
     *  address) — so its port can be registered as a proxy upstream; resolves true when "ping" is echoed. */
    const fromNode = async (family: 4 | 6, to: string, register?: { identity: number; decided: boolean }, from?: string): Promise<boolean> => {
      const address = from ?? nodeAddr(family);
      const fd = binding.openSocket(family, 'tcp', address, 0, topo!.node.nsPath, from !== undefined);
      const port = binding.localPort(fd);
      const upstream = { address, ipVersion: family, proto: IpProto.tcp, port };
      if (register) dp!.registerProxyUpstream(upstream, register.identity, register.decided);
      const socket = new Socket({ fd, readable: true, writable: true });
      try {
        return await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 1500);
          socket.once('error', () => resolve(false));
          socket.once('data', () => {
            clearTimeout(timer);
            resolve(true);
          });
          socket.connect(WEB, to, () => socket.write('ping'));
        });
      } finally {
        socket.destroy();
        if (register) dp!.unregisterProxyUpstream(upstream);
      }
    };

    beforeAll(async () => {
      ensureBpffs();
      topo = createTopology(tag, 3);
      dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx', hostRouting: mode, allowLocalhost: 'policy' });
      dp.load();
      dp.upsertIpcache(podIpcacheEntries(topo.pods, (p) => ID[`pod${p.index as 1 | 2 | 3}`]));
      // pod 2 (ingress default deny): TCP 80 from pod 1 goes to the HTTP proxy, UDP 53 from pod 1 is
      // allowed (a resolver); nothing else comes in
      dp.upsertPolicy([
        { localId: ID.pod2, peerId: ID.pod1, direction: Direction.ingress, proto: IpProto.tcp, port: WEB, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 71, proxy: ProxyKind.http },
        { localId: ID.pod2, peerId: ID.pod1, direction: Direction.ingress, proto: IpProto.udp, port: DNS, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 72 },
      ] satisfies PolicyEntry[]);
      const ep = (i: 1 | 2 | 3, denyIngress: boolean): EndpointEntry => ({ ifindex: pod(i).hostIfindex, identity: ID[`pod${i}`], defaultDenyIngress: denyIngress, defaultDenyEgress: false, auditIngress: false, auditEgress: false });
      dp.attachEndpoint(ep(1, false));
      dp.attachEndpoint(ep(2, true));
      dp.attachEndpoint(ep(3, false));
      await installProxyRoute(topo.node.nsPath);
      for (const family of [4, 6] as const) {
        const server = createServer((s) => {
          accepted.push({ local: bare(s.localAddress), localPort: s.localPort ?? 0, remote: bare(s.remoteAddress) });
          s.on('data', (d) => s.write(d));
          s.on('error', () => undefined);
        });
        const fd = binding.openSocket(family, 'tcp', nodeAddr(family), PROXY_PORT, topo.node.nsPath, true);
        await new Promise<void>((resolve) => server.listen({ fd }, resolve));
        servers.push(server);
      }
      dp.setHttpProxy(proxyAddress());
      for (const i of [1, 2, 3] as const) peers.push(await Peer.start(pod(i).nsPath));
      await peers[1]!.listen('tcp', WEB, true); // pod 2's own server: only what the policy lets past the proxy reaches it
      await peers[1]!.listen('udp', DNS, false); // counts datagrams
      await peers[2]!.listen('tcp', WEB, true); // pod 3: echo servers (no policy)
      await peers[2]!.listen('udp', DNS, true);
    });

    afterAll(() => {
      for (const s of servers) s.close();
      tearDownDatapathTest({ helpers: peers, datapath: dp, topology: topo });
    });

    it.each([4, 6] as const)('IPv%s: pod 1 → pod 2:80 is accepted by the proxy on pod 2\'s own address and port, from pod 1\'s', async (family) => {
      accepted.length = 0;
      dp!.readAndResetFlows();
      const r = await peers[0]!.tcp(addr(2, family), WEB, 3000);
      expect(r).toEqual({ ok: true });
      expect(accepted).toEqual([{ local: addr(2, family), localPort: WEB, remote: addr(1, family) }]);
      const redirect = dp!.listProxyRedirects().find((x) => x.podAddress === addr(1, family) && x.originalPort === WEB);
      expect(redirect).toMatchObject({ originalAddress: addr(2, family), proxy: ProxyKind.http, ingress: true, ifindex: pod(2).hostIfindex });
      // counted once, as pod 2's ingress by rule 71 (the packets sent back into the node are not counted again)
      const flows = dp!.readAndResetFlows().filter((f) => f.localId === ID.pod2 && f.direction === Direction.ingress && f.ipVersion === family);
      expect(flows.length).toBeGreaterThan(0);
      expect(flows.every((f) => f.verdict === FlowVerdict.forwarded && f.ruleId === 71 && f.peerId === ID.pod1)).toBe(true);
      expect(flows.reduce((n, f) => n + f.flows, 0)).toBe(1);
    });

    it.each([4, 6] as const)('IPv%s: the L3/L4 decision comes first — pod 3 → pod 2:80 is dropped and never reaches the proxy', async (family) => {
      accepted.length = 0;
      dp!.readAndResetFlows();
      const r = await peers[2]!.tcp(addr(2, family), WEB, 600);
      expect(r.ok).toBe(false);
      expect(accepted).toEqual([]);
      const dropped = dp!.readAndResetFlows().filter((f) => f.localId === ID.pod2 && f.direction === Direction.ingress && f.verdict === FlowVerdict.dropped);
      expect(dropped.length).toBeGreaterThan(0);
      expect(dropped.every((f) => f.dropReason === FlowDropReason.policy && f.peerId === ID.pod3)).toBe(true);
    });

    it.each([4, 6] as const)('IPv%s: the proxy\'s upstream connection meets pod 2\'s ingress as the client it registered', async (family) => {
      accepted.length = 0;
      // decided by the proxy for pod 1: allowed and NOT redirected again — pod 2's own server echoes
      expect(await fromNode(family, addr(2, family), { identity: ID.pod1, decided: true })).toBe(true);
      expect(accepted).toEqual([]);
      // acting for pod 1, not decided yet (the egress proxy's upstream): pod 2's ingress hands it to the proxy
      expect(await fromNode(family, addr(2, family), { identity: ID.pod1, decided: false })).toBe(true);
      expect(accepted).toEqual([{ local: addr(2, family), localPort: WEB, remote: nodeAddr(family) }]);
      // acting for pod 3: pod 2 allows pod 3 nothing
      expect(await fromNode(family, addr(2, family), { identity: ID.pod3, decided: true })).toBe(false);
      // unregistered: the node itself (allow-localhost=policy here, and no policy allows it)
      expect(await fromNode(family, addr(2, family))).toBe(false);
    });

    it.each([4, 6] as const)('IPv%s: an upstream connection speaking with its client\'s address (transparent) is decided as the client, and the replies come back to it — from a managed server and from one the node does not manage', async (family) => {
      accepted.length = 0;
      dp!.readAndResetFlows();
      // registered for pod 1 and decided: pod 2's own server answers, its replies go back to this socket
      // (pod 2's egress hook: the connection's conntrack entry is an upstream's), not to pod 1
      expect(await fromNode(family, addr(2, family), { identity: ID.pod1, decided: true }, addr(1, family))).toBe(true);
      expect(accepted).toEqual([]);
      // the ingress proxy's own connection is not counted into pod 2 again (the client's was, when it was
      // handed to the proxy); pod 2's answers are counted as replies
      const atPod2 = dp!.readAndResetFlows().filter((f) => f.localId === ID.pod2 && f.ipVersion === family);
      expect(atPod2.filter((f) => f.direction === Direction.ingress)).toEqual([]);
      expect(atPod2.some((f) => f.direction === Direction.egress && f.verdict === FlowVerdict.reply && f.peerId === ID.pod1)).toBe(true);
      // not registered: pod 2's ingress takes it for pod 1's own connection and hands it to the proxy,
      // whose answer goes to pod 1 — which never opened it: no echo here
      expect(await fromNode(family, addr(2, family), undefined, addr(1, family))).toBe(false);
      // pod 3 unmanaged (no hook decides there): its replies reach pod 1's ingress hook, which sends them
      // back to the proxy's socket by their destination
      dp!.deleteEndpoints([pod(3).hostIfindex]);
      try {
        expect(await fromNode(family, addr(3, family), { identity: ID.pod1, decided: false }, addr(1, family))).toBe(true);
      } finally {
        dp!.upsertEndpoints([{ ifindex: pod(3).hostIfindex, identity: ID.pod3, defaultDenyIngress: false, defaultDenyEgress: false, auditIngress: false, auditEgress: false }]);
      }
    });

    it.each([4, 6] as const)('IPv%s: UDP from a registered upstream port (the DNS proxy\'s) is decided as the client it carries', async (family) => {
      /** 5 datagrams from the node to pod 2:53, from a UDP socket registered for `identity` (or not); how many arrive */
      const fromNodeUdp = async (identity?: number): Promise<number> => {
        const fd = binding.openSocket(family, 'udp', nodeAddr(family), 0, topo!.node.nsPath);
        const upstream = { address: nodeAddr(family), ipVersion: family, proto: IpProto.udp, port: binding.localPort(fd) };
        if (identity !== undefined) dp!.registerProxyUpstream(upstream, identity, false);
        const socket = createSocket(family === 4 ? 'udp4' : 'udp6');
        try {
          await new Promise<void>((resolve) => socket.bind({ fd }, resolve));
          const before = (await peers[1]!.received(DNS)).datagrams;
          for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => socket.send(Buffer.from('query'), DNS, addr(2, family), () => resolve()));
          await new Promise((resolve) => setTimeout(resolve, 300));
          return (await peers[1]!.received(DNS)).datagrams - before;
        } finally {
          socket.close();
          if (identity !== undefined) dp!.unregisterProxyUpstream(upstream);
        }
      };
      expect(await fromNodeUdp(ID.pod1)).toBe(5);
      expect(await fromNodeUdp(ID.pod3)).toBe(0);
      expect(await fromNodeUdp()).toBe(0); // the node itself: allow-localhost=policy here, no policy allows it
    });

    it.each([4, 6] as const)('IPv%s: UDP answers to a socket speaking with a pod\'s address come back to it, also from a server the node does not manage', async (family) => {
      /** one datagram to pod 3's echo server on 53 from a transparent socket bound to pod 1's address,
       *  registered for pod 1 (as the DNS proxy's); true when the echo arrives */
      const echo = async (): Promise<boolean> => {
        const fd = binding.openSocket(family, 'udp', addr(1, family), 0, topo!.node.nsPath, true);
        const upstream = { address: addr(1, family), ipVersion: family, proto: IpProto.udp, port: binding.localPort(fd) };
        dp!.registerProxyUpstream(upstream, ID.pod1, false);
        const socket = createSocket(family === 4 ? 'udp4' : 'udp6');
        try {
          await new Promise<void>((resolve) => socket.bind({ fd }, resolve));
          return await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), 1500);
            socket.once('message', () => {
              clearTimeout(timer);
              resolve(true);
            });
            socket.send(Buffer.from('query'), DNS, addr(3, family));
          });
        } finally {
          socket.close();
          dp!.unregisterProxyUpstream(upstream);
        }
      };
      expect(await echo()).toBe(true); // pod 3 managed: its egress hook sends the answer back (conntrack)
      dp!.deleteEndpoints([pod(3).hostIfindex]);
      try {
        expect(await echo()).toBe(true); // unmanaged: pod 1's ingress hook finds the socket by destination
      } finally {
        dp!.upsertEndpoints([{ ifindex: pod(3).hostIfindex, identity: ID.pod3, defaultDenyIngress: false, defaultDenyEgress: false, auditIngress: false, auditEgress: false }]);
      }
    });

    it.each([4, 6] as const)('IPv%s: without the HTTP proxy the connection fails closed (dropped, no proxy)', async (family) => {
      dp!.setHttpProxy(undefined);
      try {
        dp!.readAndResetFlows();
        const r = await peers[0]!.tcp(addr(2, family), WEB, 600);
        expect(r.ok).toBe(false);
        const dropped = dp!.readAndResetFlows().filter((f) => f.localId === ID.pod2 && f.direction === Direction.ingress && f.verdict === FlowVerdict.dropped);
        expect(dropped.length).toBeGreaterThan(0);
        expect(dropped.every((f) => f.dropReason === FlowDropReason.noProxy)).toBe(true);
      } finally {
        dp!.setHttpProxy(proxyAddress());
      }
    });
  },
);
