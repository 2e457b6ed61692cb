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
 * - Each query fails with `UpstreamTimeoutError` after `timeoutMs` (measured with performance.now(); one
 *   timer per channel, armed for the oldest query in flight: every query waits the same `timeoutMs`, so
 *   begin order is deadline order); `failAll` fails every query in flight (the channel broke). After
 *   settling or failing an id is free again.
 */
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
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
  /** performance.now() ms after which the query fails */
  deadline: number;
  resolve(answer: Buffer): void;
  reject(error: Error): void;
}

/** 16-bit ids from the CSPRNG, drawn in blocks (one randomFillSync per RANDOM_IDS ids) */
const RANDOM_IDS = 1024;
const randomIds = new Uint16Array(RANDOM_IDS);
let nextRandomId = RANDOM_IDS;

function randomId(): number {
  if (nextRandomId === RANDOM_IDS) {
    randomFillSync(randomIds);
    nextRandomId = 0;
  }
  return randomIds[nextRandomId++]!;
}

/** the first hextets of an IPv4-mapped IPv6 address, as dgram reports IPv4 peers on dual-stack sockets */
const V4_MAPPED = '::ffff:';

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const strip = (s: string): string => (s.toLowerCase().startsWith(V4_MAPPED) ? s.slice(V4_MAPPED.length) : s.toLowerCase());
  return strip(a) === strip(b);
}

export class PendingExchanges {
  /** in begin order, hence in deadline order (a re-used id is inserted anew, at the end) */
  private readonly byId = new Map<number, Exchange>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly capacity: number, private readonly timeoutMs: number) {}

  get size(): number {
    return this.byId.size;
  }

  begin(query: Buffer, destination: DnsDestination): { id: number; answer: Promise<Buffer> } | undefined {
    if (this.byId.size >= this.capacity) return undefined;
    let id = randomId();
    while (this.byId.has(id)) id = randomId();
    const clientId = readMessageId(query);
    setMessageId(query, id);
    const deadline = performance.now() + this.timeoutMs;
    const answer = new Promise<Buffer>((resolve, reject) => {
      this.byId.set(id, { clientId, destination, deadline, resolve, reject });
    });
    if (this.timer === undefined) this.timer = setTimeout(this.expire, this.timeoutMs);
    else if (this.byId.size === 1) this.timer.ref(); // it was idle (unref'd) with nothing in flight
    return { id, answer };
  }

  settle(answer: Buffer, source: DnsDestination): boolean {
    if (answer.length < 2) return false;
    const id = readMessageId(answer);
    const exchange = this.byId.get(id);
    if (exchange === undefined || exchange.destination.port !== source.port || !sameAddress(exchange.destination.address, source.address)) return false;
    this.byId.delete(id);
    if (this.byId.size === 0) this.timer?.unref();
    setMessageId(answer, exchange.clientId);
    exchange.resolve(answer);
    return true;
  }

  /** Fails one query (its send failed). */
  fail(id: number, error: Error): void {
    const exchange = this.byId.get(id);
    if (exchange === undefined) return;
    this.byId.delete(id);
    if (this.byId.size === 0) this.timer?.unref();
    exchange.reject(error);
  }

  failAll(error: Error): void {
    for (const id of [...this.byId.keys()]) this.fail(id, error);
    this.disarm();
  }

  /** Fails the queries whose deadline has passed (the oldest first), then re-arms for the next one. */
  private readonly expire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    for (const [id, exchange] of this.byId) {
      if (exchange.deadline > now) {
        this.timer = setTimeout(this.expire, Math.ceil(exchange.deadline - now));
        return;
      }
      this.byId.delete(id);
      exchange.reject(new UpstreamTimeoutError(this.timeoutMs));
    }
  };

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
