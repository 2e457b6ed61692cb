/**
 * Forwarding over UDP: one shared upstream socket per address family (created on first use through the
 * injected factory), query ids remapped per socket (pending-exchanges.ts).
 *
 * Contracts:
 * - `exchange(query, destination)` sends `query` (the caller's buffer; its id is rewritten in place) to
 *   the destination and resolves with the answer datagram from that address and port, carrying the
 *   client's id again. Rejects with UpstreamTimeoutError, UpstreamBusyError (`capacity` in flight on the
 *   family's socket) or the socket's send error.
 * - Datagrams matching no query in flight are dropped and counted (`unmatched`).
 * - A socket error fails the queries in flight on that socket and replaces the socket on next use.
 * - `close()` fails what is in flight and resolves when the sockets are closed.
 */
import type * as dgram from 'node:dgram';
import { PendingExchanges, UpstreamBusyError, UpstreamClosedError } from './pending-exchanges.js';
import type { DnsDestination, UpstreamOwner, UpstreamSocketFactory } from './types.js';

/**
 * A dgram `lookup` for sockets that are only ever given IP literals (the kernel's record of where a pod
 * was going): the address as it is, at once — no dns.lookup, no deferral to the next tick per send. A
 * string that is not a literal fails in the send itself (EINVAL), reported to the send's callback.
 */
export const ipLiteralLookup: NonNullable<dgram.SocketOptions['lookup']> = (address, _options, callback) => {
  callback(null, address, address.includes(':') ? 6 : 4);
};

interface FamilyChannel {
  socket: dgram.Socket;
  pending: PendingExchanges;
}

export class UdpUpstream {
  unmatched = 0;
  /** by `family/owner address/owner identity`: queries of different owners never share a socket */
  private readonly channels = new Map<string, FamilyChannel>();
  private closed = false;

  constructor(
    private readonly factory: UpstreamSocketFactory,
    private readonly capacity: number,
    private readonly timeoutMs: number,
  ) {}

  exchange(query: Buffer, destination: DnsDestination, owner?: UpstreamOwner): Promise<Buffer> {
    if (this.closed) return Promise.reject(new UpstreamClosedError());
    // an IP literal (the kernel's record): IPv6 exactly when it holds a colon
    const channel = this.channelFor(destination.address.includes(':') ? 6 : 4, owner);
    const started = channel.pending.begin(query, destination);
    if (started === undefined) return Promise.reject(new UpstreamBusyError());
    channel.socket.send(query, destination.port, destination.address, (error) => {
      if (error) channel.pending.fail(started.id, error);
    });
    return started.answer;
  }

  async close(): Promise<void> {
    this.closed = true;
    const channels = [...this.channels.values()];
    this.channels.clear();
    await Promise.all(channels.map((channel) => this.closeChannel(channel)));
  }

  private closeChannel(channel: FamilyChannel): Promise<void> {
    channel.pending.failAll(new UpstreamClosedError());
    return new Promise((resolve) => {
      try {
        channel.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }

  private channelFor(family: 4 | 6, owner: UpstreamOwner | undefined): FamilyChannel {
    const key = `${family}/${owner ? `${owner.address}/${owner.identity}` : ''}`;
    const existing = this.channels.get(key);
    if (existing !== undefined) return existing;
    const socket = this.factory.udp(family, owner);
    const channel: FamilyChannel = { socket, pending: new PendingExchanges(this.capacity, this.timeoutMs) };
    socket.on('message', (answer, remote) => {
      if (!channel.pending.settle(answer, remote)) this.unmatched++;
    });
    socket.on('error', (error) => {
      if (this.channels.get(key) === channel) this.channels.delete(key);
      channel.pending.failAll(error);
      void this.closeChannel(channel);
    });
    this.channels.set(key, channel);
    return channel;
  }
}
