/**
 * Part of `npm run bench:dns` (root only): the same comparison as the loopback rounds, but on the real
 * path — a client pod's queries to a resolver pod in network namespaces, decided by the datapath, and
 * in the proxied rounds redirected by the kernel to the agent's DNS proxy (agent/src/dns) on the node's
 * address, its sockets in the node's namespace (proxy-sockets.ts) — against the same queries allowed
 * without the redirect. Rounds alternate (ABBA) by switching one policy entry's proxy bit, after one
 * warm-up round per mode (WARMUP_MS, not measured; as the loopback rounds warm up); the load client
 * (bench/dns-load-client.ts) runs in the client pod's namespace, the proxy in this process. Each round
 * also reports CPU time per answered query: the client's process (its lanes only) and this process
 * (the proxy; the bench's own work between rounds is in it too — a few µs, see the direct rounds).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Answer } from 'dns-packet';

import { DnsProxy } from '../agent/src/dns/dns-proxy.js';
import { upstreamSockets } from '../agent/src/dns-service/dns-service.js';
import type { EndpointEntry, PolicyEntry } from '../agent/src/kernel/codecs.js';
import { Datapath } from '../agent/src/kernel/datapath.js';
import { Direction, IpProto, PolicyVerdict, ProxyKind } from '../agent/src/kernel/identities.js';
import { findRepoRoot, loadNativeBinding } from '../agent/src/kernel/native-binding.js';
import { proxySockets } from '../agent/src/proxy-sockets.js';
import { DnsPeer } from '../test/helpers/dns-peer.js';
import { createTopology, ensureBpffs, podIpcacheEntries, type Topology } from '../test/helpers/netns.js';

export interface RedirectRound {
  mode: 'direct' | 'proxy';
  qps: number;
  p50: number;
  p99: number;
  lost: number;
  /** CPU µs per answered query: the load client's process, and this process (the proxy; idle in direct rounds) */
  clientCpuUs: number;
  proxyCpuUs: number;
  proxySysUs: number;
}

const execFileAsync = promisify(execFile);
const CLIENT = 7001;
const RESOLVER = 7002;
const WARMUP_MS = 1000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One round of the load client in the client pod (asynchronous: the proxy in this process must keep serving). */
async function loadRound(topo: Topology, lanes: number, durationMs: number, names: number): Promise<Omit<RedirectRound, 'mode'>> {
  const root = findRepoRoot();
  const cpuStarted = process.cpuUsage();
  const { stdout } = await execFileAsync('nsenter', [`--net=${topo.pods[0]!.nsPath}`, '--', process.execPath, '--import', 'tsx', `${root}/bench/dns-load-client.ts`, topo.pods[1]!.ip, '53', String(lanes), String(durationMs), String(names)], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const cpu = process.cpuUsage(cpuStarted);
  const r = JSON.parse(stdout) as { answered: number; lost: number; seconds: number; cpuMs: number; latenciesMs: number[] };
  const perQuery = (ms: number): number => (r.answered === 0 ? Number.NaN : (ms * 1000) / r.answered);
  return {
    qps: r.answered / r.seconds, p50: percentile(r.latenciesMs, 50), p99: percentile(r.latenciesMs, 99), lost: r.lost,
    clientCpuUs: perQuery(r.cpuMs), proxyCpuUs: perQuery((cpu.user + cpu.system) / 1000), proxySysUs: perQuery(cpu.system / 1000),
  };
}

/** Runs `rounds` ABBA pairs at each concurrency; returns the rounds (or why it did not run). */
export async function measureThroughRedirect(options: { rounds: number; roundMs: number; names: number; lanes: number[] }): Promise<Map<number, RedirectRound[]> | string> {
  if (process.getuid?.() !== 0) return 'skipped: needs root (network namespaces, bpf)';
  ensureBpffs();
  const topo = createTopology('dnsredir', 2);
  const pinDir = `/sys/fs/bpf/fleetnet-bench-dns-redirect-${process.pid}`;
  let dp: Datapath | undefined;
  let server: DnsPeer | undefined;
  let proxy: DnsProxy<number> | undefined;
  try {
    server = await DnsPeer.start(topo.pods[1]!.nsPath);
    const zone: Answer[] = [];
    for (let i = 0; i < options.names; i++) {
      zone.push({ type: 'A', name: `host-${i}.bench.test`, ttl: 300, data: `10.99.${i >> 8}.${i & 255}` });
      zone.push({ type: 'AAAA', name: `host-${i}.bench.test`, ttl: 300, data: `fd00:99::${i.toString(16)}` });
    }
    await server.serve(53, zone);
    dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx' });
    dp.load();
    dp.upsertIpcache(podIpcacheEntries(topo.pods, (p) => (p.index === 1 ? CLIENT : RESOLVER)));
    const allow = (proxied: boolean): PolicyEntry => ({
      localId: CLIENT, peerId: RESOLVER, direction: Direction.egress, proto: IpProto.udp, port: 53, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 1,
      ...(proxied ? { proxy: ProxyKind.dns } : {}),
    });
    dp.upsertPolicy([allow(false)]);
    const ep = (i: 0 | 1, identity: number, denyEgress: boolean): EndpointEntry => ({ ifindex: topo.pods[i]!.hostIfindex, identity, defaultDenyIngress: false, defaultDenyEgress: denyEgress, auditIngress: false, auditEgress: false });
    dp.attachEndpoint(ep(0, CLIENT, true));
    dp.attachEndpoint(ep(1, RESOLVER, false));

    const binding = loadNativeBinding();
    const sockets = proxySockets(binding, topo.node.nsPath);
    const address = topo.pods[0]!.gatewayIp;
    const udp = await sockets.udp(address, 0);
    const datapath = dp;
    proxy = new DnsProxy<number>({
      udp: [udp],
      upstream: upstreamSockets(binding, sockets, topo.node.nsPath),
      resolveClient: (client) => {
        const r = datapath.lookupProxyRedirect(client.address, client.port, IpProto.udp);
        return r ? { endpoint: CLIENT, original: { address: r.originalAddress, port: r.originalPort } } : undefined;
      },
      allowQuery: () => ({ allowed: true, ruleId: 1 }),
      learn: () => Promise.resolve(),
    });
    dp.setDnsProxy({ port: udp.address().port, ipv4: address });

    // warm-up, both modes (as the loopback rounds): JIT, sockets, the proxy's upstream socket, map entries
    for (const mode of ['direct', 'proxy'] as const) {
      dp.upsertPolicy([allow(mode === 'proxy')]);
      await loadRound(topo, Math.max(...options.lanes), WARMUP_MS, options.names);
    }

    const out = new Map<number, RedirectRound[]>();
    for (const lanes of options.lanes) {
      const rounds: RedirectRound[] = [];
      for (let round = 0; round < options.rounds; round++) {
        const order: Array<'direct' | 'proxy'> = round % 2 === 0 ? ['direct', 'proxy'] : ['proxy', 'direct'];
        for (const mode of order) {
          dp.upsertPolicy([allow(mode === 'proxy')]);
          rounds.push({ mode, ...(await loadRound(topo, lanes, options.roundMs, options.names)) });
        }
      }
      out.set(lanes, rounds);
    }
    return out;
  } finally {
    await proxy?.close();
    server?.stop();
    try {
      dp?.destroy();
    } finally {
      topo.destroy();
    }
  }
}
