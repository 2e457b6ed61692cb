/**
 * Network-namespace topology for datapath tests and the bench: one "node" namespace and N "pod"
 * namespaces, pod i (1-based) connected by a veth pair:
 *
 *   pod i:  eth0 10.200.i.2/24 and fd00:200:i::2/64, default routes via 10.200.i.1 / fd00:200:i::1
 *   node:   hv<i> 10.200.i.1/24 and fd00:200:i::1/64 (the HOST-side veth the programs attach to),
 *           IPv4 and IPv6 forwarding on. IPv6 addresses skip duplicate address detection (nodad),
 *           so they are usable at once; neighbor discovery still runs for every IPv6 peer.
 *
 * Addresses exist only inside namespaces created here. Names carry a tag and the pid, so
 * parallel test files never collide. Never uses `ip netns exec` (it remounts /sys and hides
 * /sys/fs/bpf): commands run with `ip -n` or nsenter.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';

import { ReservedIdentity } from '../../agent/src/kernel/identities.js';
import { findRepoRoot } from '../../agent/src/kernel/native-binding.js';
import { NsChild } from './ns-child.js';

export interface PodNs {
  /** 1-based */
  index: number;
  ns: string;
  /** /run/netns/<ns> */
  nsPath: string;
  /** the pod's address, 10.200.<index>.2 */
  ip: string;
  /** the node side's address, 10.200.<index>.1 */
  gatewayIp: string;
  /** the pod's IPv6 address, fd00:200:<index>::2 */
  ip6: string;
  /** the node side's IPv6 address, fd00:200:<index>::1 */
  gatewayIp6: string;
  /** host-side veth in the node namespace */
  hostIfname: string;
  hostIfindex: number;
}

export interface Topology {
  node: { ns: string; nsPath: string };
  pods: PodNs[];
  /** deletes every namespace (and with them the veths and their TCX links); never throws */
  destroy(): void;
}

/**
 * True when the datapath suites can run (root). Outside CI a non-root run skips them with a loud warning;
 * in CI (CI=true) a non-root run is an error, so the suites can never be skipped silently there.
 */
export function isRoot(): boolean {
  const root = process.getuid?.() === 0;
  if (!root && process.env.CI === 'true') throw new Error('the datapath suites need root, and CI must run them');
  return root;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command inside a namespace via nsenter (no /sys remount, bpffs stays visible). */
export function runIn(nsPath: string, cmd: string, args: string[]): string {
  return run('nsenter', [`--net=${nsPath}`, '--', cmd, ...args]);
}

/** Mounts bpffs at /sys/fs/bpf when it is not mounted yet (needs root). */
export function ensureBpffs(): void {
  const mounts = run('cat', ['/proc/mounts']);
  if (/ \/sys\/fs\/bpf bpf /.test(mounts)) return;
  mkdirSync('/sys/fs/bpf', { recursive: true });
  run('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes namespaces and bpffs dirs left by earlier runs that died (their pid is gone). Only
 *  names made by this module (fn<tag><pid>n / fn<tag><pid>p<i>) and fleetnet-test|bench-*-<pid>. */
export function removeStaleLeftovers(): void {
  const names = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  for (const ns of names) {
    const m = /^fn[a-z]+(\d+)(?:n|p\d+)$/.exec(ns);
    if (m && !pidAlive(Number(m[1]))) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        /* raced with another cleaner */
      }
    }
  }
  const pins = existsSync('/sys/fs/bpf') ? readdirSync('/sys/fs/bpf') : [];
  for (const dir of pins) {
    const m = /^fleetnet-(?:test|bench)-[a-z-]*?(\d+)(?:-noop)?$/.exec(dir);
    if (m && !pidAlive(Number(m[1]))) rmSync(`/sys/fs/bpf/${dir}`, { recursive: true, force: true });
  }
}

/** Creates node + pods; `tag` (a few letters) distinguishes users within one process. */
export function createTopology(tag: string, podCount = 3): Topology {
  if (!/^[a-z]+$/.test(tag)) throw new Error(`tag must be lowercase letters: ${tag}`);
  removeStaleLeftovers();
  const prefix = `fn${tag}${process.pid}`;
  const nodeNs = `${prefix}n`;
  const created: string[] = [];
  const topo: Topology = {
    node: { ns: nodeNs, nsPath: `/run/netns/${nodeNs}` },
    pods: [],
    destroy: () => {
      for (const ns of created.reverse()) {
        try {
          run('ip', ['netns', 'del', ns]);
        } catch {
          /* already gone */
        }
      }
    },
  };
  try {
    run('ip', ['netns', 'add', nodeNs]);
    created.push(nodeNs);
    run('ip', ['-n', nodeNs, 'link', 'set', 'lo', 'up']);
    runIn(topo.node.nsPath, 'sh', ['-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding']);
    for (let i = 1; i <= podCount; i++) {
      const ns = `${prefix}p${i}`;
      run('ip', ['netns', 'add', ns]);
      created.push(ns);
      const hostIfname = `hv${i}`;
      run('ip', ['-n', nodeNs, 'link', 'add', hostIfname, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      run('ip', ['-n', nodeNs, 'addr', 'add', `10.200.${i}.1/24`, 'dev', hostIfname]);
      run('ip', ['-n', nodeNs, 'addr', 'add', `fd00:200:${i}::1/64`, 'dev', hostIfname, 'nodad']);
      run('ip', ['-n', nodeNs, 'link', 'set', hostIfname, 'up']);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      run('ip', ['-n', ns, 'addr', 'add', `10.200.${i}.2/24`, 'dev', 'eth0']);
      run('ip', ['-n', ns, 'addr', 'add', `fd00:200:${i}::2/64`, 'dev', 'eth0', 'nodad']);
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', ns, 'route', 'add', 'default', 'via', `10.200.${i}.1`]);
      run('ip', ['-n', ns, '-6', 'route', 'add', 'default', 'via', `fd00:200:${i}::1`]);
      const info = JSON.parse(run('ip', ['-j', '-n', nodeNs, 'link', 'show', hostIfname])) as { ifindex: number }[];
      const hostIfindex = info[0]?.ifindex;
      if (hostIfindex === undefined) throw new Error(`no ifindex for ${hostIfname}`);
      topo.pods.push({ index: i, ns, nsPath: `/run/netns/${ns}`, ip: `10.200.${i}.2`, gatewayIp: `10.200.${i}.1`, ip6: `fd00:200:${i}::2`, gatewayIp6: `fd00:200:${i}::1`, hostIfname, hostIfindex });
    }
  } catch (e) {
    topo.destroy();
    throw e;
  }
  return topo;
}

export interface TcpResult { ok: boolean; reason?: string }
export interface UdpResult { sent: number; replies: number }

/** A netns-peer.ts process inside one namespace. */
export class Peer {
  private constructor(private readonly child: NsChild) {}

  static async start(nsPath: string): Promise<Peer> {
    const root = findRepoRoot();
    const script = `${root}/test/helpers/netns-peer.ts`;
    if (!existsSync(script)) throw new Error(`missing ${script}`);
    return new Peer(await NsChild.start(nsPath, process.execPath, ['--import', 'tsx', script], 'peer', root));
  }

  request(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.child.request(op, args);
  }

  async listen(proto: 'tcp' | 'udp', port: number, echo = true): Promise<void> {
    await this.request('listen', { proto, port, echo });
  }

  async tcp(host: string, port: number, timeoutMs = 600): Promise<TcpResult> {
    return (await this.request('tcp', { host, port, timeoutMs })) as unknown as TcpResult;
  }

  async udp(host: string, port: number, opts: { count?: number; size?: number; timeoutMs?: number; expectReplies?: boolean; sport?: number } = {}): Promise<UdpResult> {
    return (await this.request('udp', { host, port, ...opts })) as unknown as UdpResult;
  }

  async unlisten(port: number): Promise<void> {
    await this.request('unlisten', { port });
  }

  /** A held TCP connection (see close); localPort fixes the source port. */
  async open(host: string, port: number, opts: { localPort?: number; timeoutMs?: number } = {}): Promise<{ ok: boolean; conn?: number; reason?: string }> {
    return (await this.request('open', { host, port, ...opts })) as unknown as { ok: boolean; conn?: number; reason?: string };
  }

  /** Writes "ping" on a held connection; ok when the echo came back within timeoutMs. */
  async send(conn: number, timeoutMs = 1000): Promise<boolean> {
    return ((await this.request('send', { conn, timeoutMs })) as { ok: boolean }).ok;
  }

  /** The TCP server on port writes "push" to every connection it accepted; returns how many. */
  async push(port: number): Promise<number> {
    return ((await this.request('push', { port })) as { connections: number }).connections;
  }

  /** Bytes a held connection has received so far. */
  async bytes(conn: number): Promise<number> {
    return ((await this.request('bytes', { conn })) as { received: number }).received;
  }

  async close(conn: number, how: 'fin' | 'rst'): Promise<void> {
    await this.request('close', { conn, how });
  }

  /** Sends from the bound UDP server socket of `port` (see listen) to host:dport. */
  async sendFrom(port: number, host: string, dport: number, opts: { count?: number; size?: number } = {}): Promise<{ sent: number }> {
    return (await this.request('sendFrom', { port, host, dport, ...opts })) as unknown as { sent: number };
  }

  async received(port: number): Promise<{ datagrams: number; bytes: number }> {
    return (await this.request('received', { port })) as unknown as { datagrams: number; bytes: number };
  }

  stop(): void {
    this.child.stop();
  }
}

/** ICMP echo over a raw socket (python3; root), one request, waits timeoutMs for the reply. */
const PING_PY = `
import os, socket, struct, sys, time
host, timeout = sys.argv[1], float(sys.argv[2]) / 1000
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
ident = os.getpid() & 0xffff
body = b'fleetnet-ping-16'
hdr = struct.pack('!BBHHH', 8, 0, 0, ident, 1)
pkt = struct.pack('!BBHHH', 8, 0, csum(hdr + body), ident, 1) + body
v6 = ':' in host
if v6:  # ICMPv6 echo 128 / reply 129; the kernel fills the checksum of raw ICMPv6 sockets
    pkt = struct.pack('!BBHHH', 128, 0, 0, ident, 1) + body
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(pkt, (host, 0))
end = time.time() + timeout
while True:
    left = end - time.time()
    if left <= 0: sys.exit(1)
    s.settimeout(left)
    try: data, addr = s.recvfrom(2048)
    except socket.timeout: sys.exit(1)
    ihl = 0 if v6 else (data[0] & 15) * 4  # raw ICMPv6 sockets deliver no IP header
    t, _, _, rid, _ = struct.unpack('!BBHHH', data[ihl:ihl + 8])
    if addr[0] == host and t == (129 if v6 else 0) and rid == ident: sys.exit(0)
`;

/** true if an ICMP (host IPv4) or ICMPv6 (host IPv6) echo from the namespace got its reply within timeoutMs. */
export function pingFrom(nsPath: string, host: string, timeoutMs: number): boolean {
  try {
    runIn(nsPath, 'python3', ['-c', PING_PY, host, String(timeoutMs)]);
    return true;
  } catch {
    return false;
  }
}

/** The end of a datapath test: stops the traffic helpers, removes the datapath's pins and links, and
 *  the namespaces — the namespaces also when removing the datapath fails. */
export function tearDownDatapathTest(parts: { helpers: readonly ({ stop(): void } | undefined)[]; datapath: { destroy(): void } | undefined; topology: Topology | undefined }): void {
  for (const h of parts.helpers) h?.stop();
  try {
    parts.datapath?.destroy();
  } finally {
    parts.topology?.destroy();
  }
}

/** ipcache entries for pods of a topology as the agent writes them: each pod's two addresses with its
 *  identity, the node's side of each veth (both families) as the host. */
export function podIpcacheEntries(pods: readonly PodNs[], identityOf: (pod: PodNs) => number): { cidr: string; identity: number }[] {
  return pods.flatMap((p) => [
    { cidr: `${p.ip}/32`, identity: identityOf(p) },
    { cidr: `${p.ip6}/128`, identity: identityOf(p) },
    { cidr: `${p.gatewayIp}/32`, identity: ReservedIdentity.host },
    { cidr: `${p.gatewayIp6}/128`, identity: ReservedIdentity.host },
  ]);
}
