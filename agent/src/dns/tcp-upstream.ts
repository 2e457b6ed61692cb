/**
 * Forwarding over TCP: one upstream connection (through the injected factory) serving one client
 * connection's queries to one destination, pipelined, answers matched by remapped id
 * (pending-exchanges.ts) so they may come back in any order (RFC 7766 6.2.1.1).
 *
 * Contracts:
 * - `exchange(query)` writes the framed query (id rewritten in place) and resolves with the answer
 *   message carrying the client's id again; rejects with UpstreamTimeoutError, UpstreamBusyError or
 *   UpstreamClosedError when the connection fails, ends or closes before the answer.
 * - Once the upstream ends, errors or closes, `usable` is false and the caller opens a new connection for
 *   later queries. `close()` ends the connection (fails what is in flight) and resolves once it is closed.
 */
import type * as net from 'node:net';
import { DnsFrameReader, frameDnsMessage } from './dns-tcp-framing.js';
import { PendingExchanges, UpstreamBusyError, UpstreamClosedError } from './pending-exchanges.js';
import type { DnsDestination } from './types.js';

export class TcpUpstream {
  private readonly pending: PendingExchanges;
  private readonly reader = new DnsFrameReader();
  private readonly closedPromise: Promise<void>;
  private broken = false;

  /** `onUnmatched`: an answer matched no query in flight (late, or an unknown id): dropped */
  constructor(
    private readonly socket: net.Socket,
    private readonly destination: DnsDestination,
    capacity: number,
    timeoutMs: number,
    onUnmatched: () => void,
  ) {
    this.pending = new PendingExchanges(capacity, timeoutMs);
    socket.setNoDelay(true);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      for (const answer of this.reader.push(chunk)) {
        if (!this.pending.settle(answer, this.destination)) onUnmatched();
      }
    });
    const breakOff = (): void => {
      this.broken = true;
      this.pending.failAll(new UpstreamClosedError());
    };
    socket.on('end', () => {
      breakOff();
      socket.end();
    });
    socket.on('error', breakOff);
    socket.on('close', breakOff);
  }

  get usable(): boolean {
    return !this.broken && !this.socket.destroyed;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  exchange(query: Buffer): Promise<Buffer> {
    if (!this.usable) return Promise.reject(new UpstreamClosedError());
    const started = this.pending.begin(query, this.destination);
    if (started === undefined) return Promise.reject(new UpstreamBusyError());
    this.socket.write(frameDnsMessage(query));
    return started.answer;
  }

  close(): Promise<void> {
    this.broken = true;
    this.pending.failAll(new UpstreamClosedError());
    this.socket.destroy();
    return this.closedPromise;
  }
}
