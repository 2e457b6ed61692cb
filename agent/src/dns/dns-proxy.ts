/**
 * The node agent's DNS proxy (Cilium's DNS proxy semantics): serves the UDP sockets and TCP servers it is
 * given, checks every query against the caller's policy, forwards allowed ones to the destination the pod
 * addressed over the same transport, and releases an answer only after the caller has learned its
 * addresses. The per-query contract is in query-handler.ts; docs/dns-proxy.md describes the whole.
 *
 * Contracts:
 * - The constructor starts serving at once. The proxy owns the injected sockets and servers and the
 *   upstream sockets it creates through `upstream` (default: node:dgram / node:net in the current network
 *   namespace).
 * - UDP answers go back through the socket the query came in on, to the client's address and port.
 * - `close()` stops serving, drops what is in flight (no answers), closes every socket it owns and resolves
 *   once they are all closed; it may be called more than once.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { DnsQueryHandler, emptyStats, type Forward } from './query-handler.js';
import { TcpDnsSession } from './tcp-session.js';
import { TcpUpstream } from './tcp-upstream.js';
import { ipLiteralLookup, UdpUpstream } from './udp-upstream.js';
import type { DnsDestination, DnsProxyOptions, DnsProxyStats, UpstreamOwner, UpstreamSocketFactory } from './types.js';

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_IN_FLIGHT = 4096;
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 10_000;
/** ids are 16 bits: keep the id table of a channel at most half full so a random free id is found fast */
const MAX_IN_FLIGHT_LIMIT = 0x8000;

export const defaultUpstreamSockets: UpstreamSocketFactory = {
  udp: (family) => dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: ipLiteralLookup }),
  tcp: (destination) => net.connect({ host: destination.address, port: destination.port }),
};

export class DnsProxy<Endpoint> {
  private readonly handler: DnsQueryHandler<Endpoint>;
  private readonly udpUpstream: UdpUpstream;
  private readonly sessions = new Set<TcpDnsSession>();
  private readonly udpSockets: dgram.Socket[];
  private readonly tcpServers: net.Server[];
  private readonly upstreamSockets: UpstreamSocketFactory;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly tcpIdleTimeoutMs: number;
  private closing: Promise<void> | undefined;

  constructor(options: DnsProxyOptions<Endpoint>) {
    this.timeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.maxInFlight = Math.min(options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT_LIMIT);
    this.tcpIdleTimeoutMs = options.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS;
    this.upstreamSockets = options.upstream ?? defaultUpstreamSockets;
    this.handler = new DnsQueryHandler(options, this.maxInFlight, emptyStats());
    this.udpUpstream = new UdpUpstream(this.upstreamSockets, this.maxInFlight, this.timeoutMs);
    this.udpSockets = [...(options.udp ?? [])];
    this.tcpServers = [...(options.tcp ?? [])];
    for (const socket of this.udpSockets) this.serveUdp(socket);
    for (const server of this.tcpServers) this.serveTcp(server);
  }

  stats(): DnsProxyStats {
    return { ...this.handler.stats, unmatchedUpstream: this.handler.stats.unmatchedUpstream + this.udpUpstream.unmatched };
  }

  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private serveUdp(socket: dgram.Socket): void {
    socket.on('message', (message, remote) => {
      if (this.closing !== undefined) return;
      void this.handler.handle(message, { address: remote.address, port: remote.port, transport: 'udp' }, this.forwardUdp).then((reply) => {
        if (reply === undefined) return;
        if (this.closing !== undefined) {
          this.handler.stats.repliesLost++;
          return;
        }
        try {
          socket.send(reply, remote.port, remote.address, (error) => {
            if (error) this.handler.stats.repliesLost++;
          });
        } catch {
          this.handler.stats.repliesLost++; // the socket was closed under us
        }
      });
    });
    socket.on('error', () => {
      this.handler.stats.socketErrors++;
    });
  }

  private readonly forwardUdp: Forward = (query, destination, owner) => this.udpUpstream.exchange(query, destination, owner);

  private serveTcp(server: net.Server): void {
    server.on('connection', (socket) => {
      if (this.closing !== undefined) {
        socket.destroy();
        return;
      }
      const session = new TcpDnsSession(socket, {
        handle: (query, client, forward) => this.handler.handle(query, client, forward),
        openUpstream: (destination, owner) => this.openTcpUpstream(destination, owner),
        idleTimeoutMs: this.tcpIdleTimeoutMs,
        onReplyLost: () => this.handler.stats.repliesLost++,
        onSlowClient: () => this.handler.stats.slowClientsClosed++,
      });
      this.sessions.add(session);
      void session.closed.then(() => this.sessions.delete(session));
    });
    server.on('error', () => {
      this.handler.stats.socketErrors++; // e.g. EMFILE on accept: must not crash the agent; clients retry
    });
  }

  private openTcpUpstream(destination: DnsDestination, owner: UpstreamOwner | undefined): TcpUpstream {
    return new TcpUpstream(this.upstreamSockets.tcp(destination, owner), destination, this.maxInFlight, this.timeoutMs, () => {
      this.handler.stats.unmatchedUpstream++;
    });
  }

  private async closeAll(): Promise<void> {
    const udpClosed = this.udpSockets.map((socket) => new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    }));
    const tcpClosed = this.tcpServers.map((server) => new Promise<void>((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
    }));
    await Promise.all([...udpClosed, ...tcpClosed, ...[...this.sessions].map((session) => session.destroy()), this.udpUpstream.close()]);
  }
}
