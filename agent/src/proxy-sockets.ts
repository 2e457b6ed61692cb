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
  /** A TCP server listening on address:port (0 = any free port). */
  tcpServer(address: string, port: number, onConnection: (socket: Socket) => void): Promise<Server>;
  /** A TCP connection to address:port (connecting; 'connect' / 'error' as for net.connect). */
  tcpConnect(address: string, port: number): Socket;
}

function familyOf(address: string): 4 | 6 {
  const f = isIP(address);
  if (f !== 4 && f !== 6) throw new RangeError(`not an IP address: ${address}`);
  return f;
}

export function proxySockets(binding: Pick<NativeBinding, 'openSocket'>, netnsPath?: string): ProxySockets {
  const open = (address: string, type: 'udp' | 'tcp', port: number): { fd: number; family: 4 | 6 } => {
    const family = familyOf(address);
    return { fd: binding.openSocket(family, type, address, port, netnsPath), family };
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
    tcpServer(address, port, onConnection) {
      const { fd } = open(address, 'tcp', port);
      const server = createServer(onConnection);
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ fd }, () => {
          server.off('error', reject);
          resolve(server);
        });
      });
    },
    tcpConnect(address, port) {
      // bound to the wildcard address of the destination's family: the kernel picks the source
      const { fd } = open(familyOf(address) === 4 ? '0.0.0.0' : '::', 'tcp', 0);
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
