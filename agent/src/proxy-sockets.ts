/**
 * Sockets of the agent's proxies, in the node's network namespace.
 *
 * The kernel hands pods' redirected connections to the proxy's address on the node (policy.c
 * to_proxy), so the proxy's sockets — listening and upstream — must live in the namespace of the
 * pods' host veths. In production that is the agent's own (hostNetwork); with `--netns` (tests, a
 * node namespace) it is another one. Node cannot create a socket in another namespace, so each one
 * is created there by the addon (openSocket: socket() with the thread switched into the namespace,
 * bound) and adopted by Node: dgram `bind({fd})`, net.Server `listen({fd})`, `new net.Socket({fd})`.
 * Without a namespace path the same path is taken in the agent's own namespace.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, Socket, type Server } from 'node:net';

import type { NativeBinding } from './kernel/native-binding.js';

export interface ProxySockets {
  /** A UDP socket bound to address:port (0 = any free port), ready to receive. */
  udp(address: string, port: number): Promise<UdpSocket>;
  /** A TCP server listening on address:port (0 = any free port); `transparent`: IP_TRANSPARENT, so it
   *  also accepts connections the kernel assigns to it that are addressed elsewhere (the ingress
   *  redirect) and answers from their address. */
  tcpServer(address: string, port: number, onConnection: (socket: Socket) => void, options?: { transparent?: boolean }): Promise<Server>;
  /** A TCP connection to address:port (connecting; 'connect' / 'error' as for net.connect), from
   *  `from.address` (default: the wildcard address of the destination's family — the kernel picks the
   *  source); `from.transparent`: IP_TRANSPARENT, so the address may be another host's (a proxy speaking
   *  with its client's address). `from.onBound` runs with the socket's local port after it is bound and
   *  before it connects. */
  tcpConnect(address: string, port: number, from?: { address?: string | undefined; transparent?: boolean; onBound?: (localPort: number) => void }): Socket;
}

function familyOf(address: string): 4 | 6 {
  const f = isIP(address);
  if (f !== 4 && f !== 6) throw new RangeError(`not an IP address: ${address}`);
  return f;
}

export function proxySockets(binding: Pick<NativeBinding, 'openSocket' | 'localPort' | 'closeFd'>, netnsPath?: string): ProxySockets {
  const open = (address: string, type: 'udp' | 'tcp', port: number, transparent = false): { fd: number; family: 4 | 6 } => {
    const family = familyOf(address);
    return { fd: binding.openSocket(family, type, address, port, netnsPath, transparent), family };
  };
  return {
    udp(address, port) {
      const { fd, family } = open(address, 'udp', port);
      const socket = createSocket(family === 4 ? 'udp4' : 'udp6');
      return new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ fd }, () => {
          socket.off('error', reject);
          resolve(socket);
        });
      });
    },
    tcpServer(address, port, onConnection, options = {}) {
      const { fd } = open(address, 'tcp', port, options.transparent === true);
      const server = createServer(onConnection);
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ fd }, () => {
          server.off('error', reject);
          resolve(server);
        });
      });
    },
    tcpConnect(address, port, from = {}) {
      const { fd } = open(from.address ?? (familyOf(address) === 4 ? '0.0.0.0' : '::'), 'tcp', 0, from.transparent === true);
      if (from.onBound) {
        try {
          from.onBound(binding.localPort(fd));
        } catch (e) {
          binding.closeFd(fd);
          throw e;
        }
      }
      const socket = new Socket({ fd, readable: true, writable: true });
      socket.connect(port, address);
      return socket;
    },
  };
}

/**
 * Opens one socket per address on ONE port — the kernel redirects every family to the same port
 * (fn_config) — with `open(address, port)`: the first address takes `port` (0 = any free one) and the
 * others the port it got. With port 0, a port taken on a later address is retried from scratch (a
 * few times). Returns the sockets in address order and the port.
 */
export async function openOnOnePort<T>(
  addresses: readonly string[],
  port: number,
  open: (address: string, port: number) => Promise<T>,
  portOf: (socket: T) => number,
  close: (socket: T) => void,
): Promise<{ sockets: T[]; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const sockets: T[] = [];
    let chosen = port;
    try {
      for (const address of addresses) {
        const s = await open(address, chosen);
        sockets.push(s);
        chosen = portOf(s);
      }
      return { sockets, port: chosen };
    } catch (e) {
      for (const s of sockets) close(s);
      if (port !== 0 || attempt >= 4) throw e;
    }
  }
}
