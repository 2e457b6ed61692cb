/**
 * Queries in flight on one upstream channel (a shared UDP socket or one TCP connection), keyed by the
 * query id the proxy gave them on that channel.
 *
 * Contracts:
 * - `begin(query, destination)` picks a random id free among this channel's queries in flight (unique
 *   and unpredictable, so an off-path answer cannot guess it), writes it into `query` in place and
 *   returns it with a promise of the answer; undefined when `capacity` queries are already in flight.
 * - `settle(answer, source)` hands an answer to the query with its id when the answer came from that
 *   query's destination (address and port); the answer gets the client's id back in place. Returns false
 *   (the answer matches nothing in flight) otherwise.
 * - Each query fails with `UpstreamTimeoutError` after `timeoutMs`; `failAll` fails every query in flight
 *   (the channel broke). After settling or failing an id is free again.
 */
import { randomInt } from 'node:crypto';
import { readMessageId, setMessageId } from './dns-message.js';
import type { DnsDestination } from './types.js';

export class UpstreamTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no upstream answer within ${timeoutMs} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

export class UpstreamBusyError extends Error {
  constructor() {
    super('too many queries in flight upstream');
    this.name = 'UpstreamBusyError';
  }
}

export class UpstreamClosedError extends Error {
  constructor() {
    super('upstream channel closed');
    this.name = 'UpstreamClosedError';
  }
}

interface Exchange {
  clientId: number;
  destination: DnsDestination;
  timer: NodeJS.Timeout;
  resolve(answer: Buffer): void;
  reject(error: Error): void;
}

/** the first hextets of an IPv4-mapped IPv6 address, as dgram reports IPv4 peers on dual-stack sockets */
const V4_MAPPED = '::ffff:';

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const strip = (s: string): string => (s.toLowerCase().startsWith(V4_MAPPED) ? s.slice(V4_MAPPED.length) : s.toLowerCase());
  return strip(a) === strip(b);
}

export class PendingExchanges {
  private readonly byId = new Map<number, Exchange>();

  constructor(private readonly capacity: number, private readonly timeoutMs: number) {}

  get size(): number {
    return this.byId.size;
  }

  begin(query: Buffer, destination: DnsDestination): { id: number; answer: Promise<Buffer> } | undefined {
    if (this.byId.size >= this.capacity) return undefined;
    let id = randomInt(0x10000);
    while (this.byId.has(id)) id = randomInt(0x10000);
    const clientId = readMessageId(query);
    setMessageId(query, id);
    const answer = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.byId.delete(id);
        reject(new UpstreamTimeoutError(this.timeoutMs));
      }, this.timeoutMs);
      this.byId.set(id, { clientId, destination, timer, resolve, reject });
    });
    return { id, answer };
  }

  settle(answer: Buffer, source: DnsDestination): boolean {
    if (answer.length < 2) return false;
    const id = readMessageId(answer);
    const exchange = this.byId.get(id);
    if (exchange === undefined || exchange.destination.port !== source.port || !sameAddress(exchange.destination.address, source.address)) return false;
    this.byId.delete(id);
    clearTimeout(exchange.timer);
    setMessageId(answer, exchange.clientId);
    exchange.resolve(answer);
    return true;
  }

  /** Fails one query (its send failed). */
  fail(id: number, error: Error): void {
    const exchange = this.byId.get(id);
    if (exchange === undefined) return;
    this.byId.delete(id);
    clearTimeout(exchange.timer);
    exchange.reject(error);
  }

  failAll(error: Error): void {
    for (const id of [...this.byId.keys()]) this.fail(id, error);
  }
}
