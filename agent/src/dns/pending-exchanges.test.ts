import { describe, expect, it } from 'vitest';
import { dnsQuery } from './dns-test-clients.js';
import { PendingExchanges, UpstreamTimeoutError } from './pending-exchanges.js';

const upstream = { address: '127.0.0.1', port: 53 };

describe('PendingExchanges', () => {
  it('gives each query in flight a distinct id and restores the client id on the answer', async () => {
    const pending = new PendingExchanges(100, 1000);
    const queries = Array.from({ length: 100 }, () => dnsQuery(42, 'a.test'));
    const started = queries.map((q) => pending.begin(q, upstream)!);
    expect(new Set(started.map((s) => s.id)).size).toBe(100);
    expect(queries.map((q) => q.readUInt16BE(0))).toEqual(started.map((s) => s.id));
    expect(pending.begin(dnsQuery(1, 'b.test'), upstream)).toBeUndefined();
    const answer = Buffer.from(queries[5]!);
    expect(pending.settle(answer, upstream)).toBe(true);
    expect((await started[5]!.answer).readUInt16BE(0)).toBe(42);
    pending.failAll(new Error('closed'));
    await Promise.allSettled(started.map((s) => s.answer));
    expect(pending.size).toBe(0);
  });

  it('ignores an answer from another address or port, or with an unknown id', () => {
    const pending = new PendingExchanges(10, 1000);
    const query = dnsQuery(1, 'a.test');
    const started = pending.begin(query, upstream)!;
    started.answer.catch(() => undefined);
    expect(pending.settle(Buffer.from(query), { address: '127.0.0.2', port: 53 })).toBe(false);
    expect(pending.settle(Buffer.from(query), { address: '127.0.0.1', port: 5353 })).toBe(false);
    const other = Buffer.from(query);
    other.writeUInt16BE((started.id + 1) & 0xffff, 0);
    expect(pending.settle(other, upstream)).toBe(false);
    expect(pending.settle(Buffer.from(query), { address: '::ffff:127.0.0.1', port: 53 })).toBe(true);
  });

  it('fails a query after the timeout and frees its id', async () => {
    const pending = new PendingExchanges(1, 20);
    const started = pending.begin(dnsQuery(1, 'a.test'), upstream)!;
    await expect(started.answer).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(pending.size).toBe(0);
    const next = pending.begin(dnsQuery(2, 'a.test'), upstream);
    expect(next).toBeDefined();
    pending.failAll(new Error('done'));
    await expect(next!.answer).rejects.toThrow('done');
  });

  it('times each query out after its own timeoutMs, the later ones still answerable after an earlier one failed', async () => {
    const pending = new PendingExchanges(10, 80);
    const first = pending.begin(dnsQuery(1, 'a.test'), upstream)!;
    await new Promise((resolve) => setTimeout(resolve, 40));
    const secondQuery = dnsQuery(2, 'b.test');
    const second = pending.begin(secondQuery, upstream)!;
    let secondSettled = false;
    void second.answer.then(() => { secondSettled = true; }, () => { secondSettled = true; });
    await expect(first.answer).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(secondSettled).toBe(false);
    expect(pending.size).toBe(1);
    expect(pending.settle(Buffer.from(secondQuery), upstream)).toBe(true);
    expect((await second.answer).readUInt16BE(0)).toBe(2);
    const third = pending.begin(dnsQuery(3, 'c.test'), upstream)!;
    await expect(third.answer).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(pending.size).toBe(0);
  });

  it('keeps ids distinct over many rounds of begin and settle, and answers every answered query', async () => {
    const pending = new PendingExchanges(64, 30);
    const inFlight = new Map<number, Buffer>();
    const answers: Promise<Buffer>[] = [];
    for (let i = 0; i < 5000; i++) { // several blocks of random ids
      const query = dnsQuery(i & 0xffff, 'a.test');
      const started = pending.begin(query, upstream)!;
      expect(inFlight.has(started.id)).toBe(false);
      inFlight.set(started.id, query);
      answers.push(started.answer);
      if (inFlight.size === 64 || i === 4999) {
        for (const [id, q] of [...inFlight]) {
          expect(pending.settle(Buffer.from(q), upstream)).toBe(true);
          inFlight.delete(id);
        }
      }
    }
    expect(pending.size).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 60)); // past every deadline
    const outcomes = await Promise.allSettled(answers);
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
  });
});

