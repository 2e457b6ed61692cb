/**
 * One client's DNS-over-TCP connection to the proxy.
 *
 * Contracts:
 * - Queries are read as length-prefixed messages (RFC 1035 4.2.2) and handled concurrently (pipelining);
 *   each answer is written, framed, as soon as it is decided, so answers may leave in another order than
 *   the queries came (RFC 7766 6.2.1.1; clients match them by id).
 * - Allowed queries go to the original destination over one upstream TCP connection per destination
 *   (one in practice: the kernel records one original destination per client connection), opened on
 *   first use and reopened if the upstream closed; at most MAX_UPSTREAMS per session.
 * - Half-close: when the client ends its side, the pending queries are still answered, then the session
 *   ends its side and closes its upstream connections.
 * - The connection is closed after `idleTimeoutMs` without traffic while nothing is pending.
 * - Bounds: at most MAX_PENDING_PER_CONNECTION queries handled at once (reading pauses beyond); a client
 *   that leaves more than MAX_UNREAD_BYTES of answers unread is disconnected.
 * - `destroy()` closes the client connection and the upstream ones; resolves when all are closed.
 */
import type * as net from 'node:net';
import { DnsFrameReader, frameDnsMessage } from './dns-tcp-framing.js';
import { UpstreamBusyError, UpstreamClosedError } from './pending-exchanges.js';
import type { Forward } from './query-handler.js';
import type { TcpUpstream } from './tcp-upstream.js';
import type { DnsClient, DnsDestination, UpstreamOwner } from './types.js';

const MAX_UPSTREAMS = 4;
/** queries of one connection handled at once; reading pauses beyond (TCP flow control holds the rest) */
export const MAX_PENDING_PER_CONNECTION = 256;
/** answers written but not yet taken by the client; beyond, the connection is closed */
export const MAX_UNREAD_BYTES = 1 << 20;

export interface TcpSessionOptions {
  handle(query: Buffer, client: DnsClient, forward: Forward): Promise<Buffer | undefined>;
  /** `owner`: the upstreamOwner of the connection's endpoint */
  openUpstream(destination: DnsDestination, owner: UpstreamOwner | undefined): TcpUpstream;
  idleTimeoutMs: number;
  /** an answer was decided after the client's connection had gone */
  onReplyLost(): void;
  /** the client left more than MAX_UNREAD_BYTES of answers unread: its connection was closed */
  onSlowClient(): void;
}

export class TcpDnsSession {
  readonly closed: Promise<void>;
  private readonly reader = new DnsFrameReader();
  private readonly upstreams = new Map<string, TcpUpstream>();
  private readonly client: DnsClient;
  private pending = 0;
  private clientEnded = false;

  constructor(private readonly socket: net.Socket, private readonly options: TcpSessionOptions) {
    socket.allowHalfOpen = true;
    socket.setNoDelay(true);
    this.client = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, transport: 'tcp' };
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setTimeout(options.idleTimeoutMs, () => {
      if (this.pending === 0) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      for (const query of this.reader.push(chunk)) this.answer(query);
    });
    socket.on('end', () => {
      this.clientEnded = true;
      this.finishIfDone();
    });
    socket.on('error', () => {
      // 'close' follows; pending answers are counted as lost when they are decided
    });
    socket.on('close', () => {
      void this.closeUpstreams();
    });
  }

  async destroy(): Promise<void> {
    this.socket.destroy();
    await Promise.all([this.closed, this.closeUpstreams()]);
  }

  private answer(query: Buffer): void {
    this.pending++;
    if (this.pending >= MAX_PENDING_PER_CONNECTION) this.socket.pause();
    void this.options.handle(query, this.client, this.forward).then((reply) => {
      if (reply === undefined) return;
      if (!this.socket.writable) {
        this.options.onReplyLost();
        return;
      }
      this.socket.write(frameDnsMessage(reply));
      if (this.socket.writableLength > MAX_UNREAD_BYTES) {
        this.options.onSlowClient();
        this.socket.destroy();
      }
    }).finally(() => {
      this.pending--;
      if (this.pending < MAX_PENDING_PER_CONNECTION && this.socket.isPaused()) this.socket.resume();
      this.finishIfDone();
    });
  }

  private readonly forward: Forward = (query, destination, owner) => {
    if (this.socket.destroyed) return Promise.reject(new UpstreamClosedError()); // nobody to answer
    const key = `${destination.address}|${destination.port}`;
    let upstream = this.upstreams.get(key);
    if (upstream === undefined || !upstream.usable) {
      if (upstream === undefined && this.upstreams.size >= MAX_UPSTREAMS) return Promise.reject(new UpstreamBusyError());
      if (upstream !== undefined) void upstream.close();
      upstream = this.options.openUpstream(destination, owner);
      this.upstreams.set(key, upstream);
    }
    return upstream.exchange(query);
  };

  private finishIfDone(): void {
    if (!this.clientEnded || this.pending > 0) return;
    this.socket.end();
    void this.closeUpstreams();
  }

  private async closeUpstreams(): Promise<void> {
    const upstreams = [...this.upstreams.values()];
    this.upstreams.clear();
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  }
}
