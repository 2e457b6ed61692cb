/**
 * The policy route that delivers packets handed to the HTTP proxy at a server pod's ingress.
 *
 * Such packets keep their destination (the pod's address): the kernel assigns them to the proxy's
 * transparent socket (policy.c assign_to_proxy) and marks them FN_MARK_TO_PROXY. The node's stack would
 * forward them to the pod — and drops a forwarded packet that carries a socket — unless a route says
 * the destination is local. So, in the namespace of the pods' host veths, for IPv4 and IPv6:
 *
 *   ip rule add fwmark 0xe00/0xf00 lookup 2005 pref 9
 *   ip route replace local default dev lo table 2005
 *
 * (the same shape as Cilium's proxy route: fwmark 0x200/0xf00 → table 2004). Idempotent: a rule already
 * there is not added twice. And two settings of that namespace:
 * - `net.ipv4.conf.lo.accept_local=1`: the packets re-enter at `lo` (policy.c to_proxy_ingress); those
 *   of a proxy's own upstream connection carry the node's address as source, which IPv4 otherwise drops
 *   as a martian. Only on lo, which no pod can send into (on a pod's veth it would let pods pose as the
 *   node).
 * - `net.ipv4.tcp_early_demux=0` (IPv4 and IPv6 TCP): early demux looks a forwarded packet's 4-tuple up
 *   among local sockets before routing; the proxy's transparent socket of a connection has exactly the
 *   client → server-pod tuple, so the client's packets would be matched to it on arrival and then
 *   dropped by the forwarding path (a forwarded packet must not carry a socket) before they reach the
 *   server pod's hook. Without early demux they are routed to the pod, whose hook sends them to the
 *   proxy. The cost is one route lookup per received packet of the node's own TCP connections.
 * Uses iproute2 (`ip`) and `sh` (the settings are written under /proc/sys), through
 * `nsenter --net=<path>` (util-linux) for another namespace.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { ProxyMark } from './identities.js';

const run = promisify(execFile);

/** The routing table of the proxy route (Cilium uses 2004 for its own). */
export const PROXY_ROUTE_TABLE = 2005;
/** Preference of the rule: before the main table's rule (32766). */
export const PROXY_ROUTE_PREF = 9;

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Installs the proxy route and settings in `netnsPath` (else this process's namespace). Rejects with
 *  the tool's message when `ip` or a setting fails. */
export async function installProxyRoute(netnsPath?: string): Promise<void> {
  const inNs = (cmd: string, args: string[]) => (netnsPath ? run('nsenter', [`--net=${netnsPath}`, cmd, ...args]) : run(cmd, args));
  const ip = (args: string[]) => inNs('ip', args);
  // /proc/sys/net shows the namespace of the process reading it: written from inside
  await inNs('sh', ['-c', 'echo 1 > /proc/sys/net/ipv4/conf/lo/accept_local && echo 0 > /proc/sys/net/ipv4/tcp_early_demux']);
  const fwmark = `${hex(ProxyMark.toProxy)}/${hex(ProxyMark.mask)}`;
  for (const family of ['-4', '-6']) {
    const { stdout } = await ip([family, 'rule', 'show', 'pref', String(PROXY_ROUTE_PREF)]);
    if (!stdout.includes(`lookup ${PROXY_ROUTE_TABLE}`)) {
      await ip([family, 'rule', 'add', 'fwmark', fwmark, 'lookup', String(PROXY_ROUTE_TABLE), 'pref', String(PROXY_ROUTE_PREF)]);
    }
    await ip([family, 'route', 'replace', 'local', 'default', 'dev', 'lo', 'table', String(PROXY_ROUTE_TABLE)]);
  }
}
