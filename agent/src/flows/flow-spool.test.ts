import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlowSummary, FlowSummaryBatch } from '../../../openapi/types.js';
import { FlowSpool } from './flow-spool.js';
import { FlowLoop, chunk } from './flow-loop.js';
import type { DnsQueryRecord } from './dns-summaries.js';
import type { HttpRequestRecord } from './http-summaries.js';
import { Direction, FlowDropReason, FlowVerdict, IpProto } from '../kernel/identities.js';
import type { FlowRecord } from '../kernel/codecs.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fleetnet-spool-'));
  dirs.push(d);
  return d;
}

const summary = (packets: number): FlowSummary => ({
  source: { identity: 300 },
  destination: { identity: 301 },
  l4: { protocol: 'TCP', destination_port: 80 },
  traffic_direction: 'INGRESS',
  verdict: 'FORWARDED',
  packets,
  bytes: packets * 100,
  flows: 1,
});
const lostOf = (batches: number, summaries: number, kernel: { packets?: number; bytes?: number; flows?: number } = {}) => ({ batches, summaries, packets: 0, bytes: 0, flows: 0, ...kernel });
const batch = (id: string, n: number) => ({ batchId: id, window: { start: '2026-01-01T00:00:00Z', end: '2026-01-01T00:00:10Z' }, summaries: Array.from({ length: n }, (_, i) => summary(i + 1)) });

describe('FlowSpool', () => {
  it('delivers in sequence order, deletes only after success, keeps order across failures', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 1e6, maxFiles: 100 });
    await spool.open();
    for (const id of ['a', 'b', 'c']) await spool.enqueue(batch(id, 2));
    const sent: FlowSummaryBatch[] = [];
    let failOn = 'b';
    const send = async (b: FlowSummaryBatch) => {
      if (b.batchId === failOn) throw new Error('503');
      sent.push(b);
    };
    const r1 = await spool.deliver(send);
    expect(r1).toMatchObject({ delivered: 1, remaining: 2 });
    expect(r1.error?.message).toBe('503');
    failOn = '';
    await spool.enqueue(batch('d', 1));
    const r2 = await spool.deliver(send);
    expect(r2).toMatchObject({ delivered: 3, remaining: 0 });
    expect(sent.map((b) => [b.batchId, b.sequence])).toEqual([['a', 0], ['b', 1], ['c', 2], ['d', 3]]);
    expect((await readdir(spool.dir)).filter((f) => f.startsWith('batch-'))).toEqual([]);
  });

  it('is bounded by files: drops the oldest, counts them, reports lost once in the next delivered batch', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 1e6, maxFiles: 3 });
    await spool.open();
    for (let i = 0; i < 5; i++) await spool.enqueue(batch(`b${i}`, i + 1)); // b0 (1), b1 (2) dropped
    expect(spool.lost).toEqual(lostOf(2, 3));
    const sent: FlowSummaryBatch[] = [];
    await spool.deliver(async (b) => void sent.push(b));
    expect(sent.map((b) => b.batchId)).toEqual(['b2', 'b3', 'b4']);
    expect(sent[0]!.lost).toEqual({ batches: 2, summaries: 3 });
    expect(sent[1]!.lost).toBeUndefined();
    expect(spool.lost).toEqual(lostOf(0, 0));
  });

  it('is bounded by bytes', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 3000, maxFiles: 100 });
    await spool.open();
    for (let i = 0; i < 10; i++) await spool.enqueue(batch(`b${i}`, 5));
    expect(spool.bytes).toBeLessThanOrEqual(3000);
    expect(spool.lost.batches).toBe(10 - spool.pending);
    expect(spool.lost.summaries).toBe(5 * (10 - spool.pending));
  });

  it('a lost count survives when its carrier fails; it is cleared only after a 2xx', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 1e6, maxFiles: 1 });
    await spool.open();
    await spool.enqueue(batch('x', 1));
    await spool.enqueue(batch('y', 1)); // x dropped
    const attempts: FlowSummaryBatch[] = [];
    await spool.deliver(async (b) => {
      attempts.push(b);
      throw new Error('down');
    });
    expect(spool.lost).toEqual(lostOf(1, 1));
    await spool.deliver(async (b) => void attempts.push(b));
    expect(attempts.map((b) => [b.batchId, b.lost])).toEqual([['y', { batches: 1, summaries: 1 }], ['y', { batches: 1, summaries: 1 }]]);
    expect(spool.lost).toEqual(lostOf(0, 0));
  });

  it('a batch the API refuses for good (poison) is dropped, counted as lost, and does not block the rest', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 1e6, maxFiles: 100 });
    await spool.open();
    for (const id of ['a', 'bad', 'c']) await spool.enqueue(batch(id, 2));
    const sent: FlowSummaryBatch[] = [];
    const r = await spool.deliver(
      async (b) => {
        if (b.batchId === 'bad') throw Object.assign(new Error('400'), { status: 400 });
        sent.push(b);
      },
      (e) => (e as { status?: number }).status === 400,
    );
    expect(r).toMatchObject({ delivered: 2, remaining: 0 });
    expect(sent.map((b) => [b.batchId, b.lost])).toEqual([['a', undefined], ['c', { batches: 1, summaries: 2 }]]);
    expect(spool.rejected.map((x) => x.sequence)).toEqual([1]);
  });

  it('crash safety: reopened spool keeps batches, sequence and lost; ignores temp files of a torn write', async () => {
    const dir = await tmp();
    const a = new FlowSpool(dir, { maxBytes: 1e6, maxFiles: 2 });
    await a.open();
    for (let i = 0; i < 3; i++) await a.enqueue(batch(`b${i}`, 1));
    await writeFile(join(dir, 'batch-000000000003.json.tmp-99-zz'), '{"batchId":"torn'); // crash mid-write
    const b = new FlowSpool(dir, { maxBytes: 1e6, maxFiles: 2 });
    await b.open();
    expect(b.pending).toBe(2);
    expect(b.lost).toEqual(lostOf(1, 1));
    expect(await b.enqueue(batch('b3', 1))).toMatchObject({ sequence: 3 });
    expect((await readdir(dir)).some((f) => f.includes('.tmp-'))).toBe(false);
    const sent: FlowSummaryBatch[] = [];
    await b.deliver(async (x) => void sent.push(x));
    expect(sent.map((x) => x.sequence)).toEqual([2, 3]); // b1 dropped by b3's bound
    // state lost: sequence recovered from the files
    const c = new FlowSpool(await tmp(), { maxBytes: 1e6, maxFiles: 5 });
    await c.open();
    await c.enqueue(batch('q', 1));
    await writeFile(join(c.dir, 'batch-000000000041.json'), JSON.stringify({ ...batch('r', 1), sequence: 41 }));
    await rm(join(c.dir, 'state.json'));
    const c2 = new FlowSpool(c.dir, { maxBytes: 1e6, maxFiles: 5 });
    await c2.open();
    expect((await c2.enqueue(batch('s', 1))).sequence).toBe(42);
  });
});

describe('FlowSpool: kernel losses', () => {
  const withKernelLoss = (id: string, n: number, packets: number) => ({ ...batch(id, n), lost: { batches: 0, summaries: 0, packets, bytes: packets * 100, flows: 1 } });

  it('a batch dropped by the bounds hands its kernel loss to the next delivered batch', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 1e6, maxFiles: 1 });
    await spool.open();
    await spool.enqueue(withKernelLoss('k', 2, 40));
    await spool.enqueue(batch('next', 1)); // k dropped
    expect(spool.lost).toEqual(lostOf(1, 2, { packets: 40, bytes: 4000, flows: 1 }));
    const sent: FlowSummaryBatch[] = [];
    await spool.deliver(async (b) => void sent.push(b));
    expect(sent.map((b) => [b.batchId, b.lost])).toEqual([['next', { batches: 1, summaries: 2, packets: 40, bytes: 4000, flows: 1 }]]);
    expect(spool.lost).toEqual(lostOf(0, 0));
  });

  it('kernel loss of a dropped batch found on disk at open is read from its file', async () => {
    const dir = await tmp();
    const a = new FlowSpool(dir, { maxBytes: 1e6, maxFiles: 5 });
    await a.open();
    await a.enqueue(withKernelLoss('k', 1, 7));
    const b = new FlowSpool(dir, { maxBytes: 1e6, maxFiles: 1 });
    await b.open();
    await b.enqueue(batch('next', 1)); // k dropped by b's bound
    expect(b.lost).toEqual(lostOf(1, 1, { packets: 7, bytes: 700, flows: 1 }));
  });

  it('a poison batch hands its kernel loss on; a batch carrying both kinds sends their sum', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 1e6, maxFiles: 100 });
    await spool.open();
    await spool.enqueue(withKernelLoss('bad', 3, 5));
    await spool.enqueue(withKernelLoss('good', 1, 2));
    const sent: FlowSummaryBatch[] = [];
    await spool.deliver(
      async (b) => {
        if (b.batchId === 'bad') throw Object.assign(new Error('400'), { status: 400 });
        sent.push(b);
      },
      (e) => (e as { status?: number }).status === 400,
    );
    expect(sent.map((b) => b.lost)).toEqual([{ batches: 1, summaries: 3, packets: 7, bytes: 700, flows: 2 }]);
    expect(spool.lost).toEqual(lostOf(0, 0));
  });

  it('keeps the kernel counters with the state; reads a state written before they existed', async () => {
    const dir = await tmp();
    const a = new FlowSpool(dir, { maxBytes: 1e6, maxFiles: 5 });
    await a.open();
    expect(a.kernelCounters).toBeUndefined();
    await a.enqueue(batch('x', 1), { kernelCounters: { lostPackets: 9, lostBytes: 900, lostFlows: 2 } });
    const b = new FlowSpool(dir, { maxBytes: 1e6, maxFiles: 5 });
    await b.open();
    expect(b.kernelCounters).toEqual({ lostPackets: 9, lostBytes: 900, lostFlows: 2 });
    await b.recordKernelCounters({ lostPackets: 0, lostBytes: 0, lostFlows: 0 });
    const c = new FlowSpool(dir, { maxBytes: 1e6, maxFiles: 5 });
    await c.open();
    expect(c.kernelCounters).toEqual({ lostPackets: 0, lostBytes: 0, lostFlows: 0 });
    await writeFile(join(dir, 'state.json'), JSON.stringify({ nextSequence: 4, lost: { batches: 2, summaries: 5 } }));
    const old = new FlowSpool(dir, { maxBytes: 1e6, maxFiles: 5 });
    await old.open();
    expect(old.lost).toEqual(lostOf(2, 5));
    expect(old.kernelCounters).toBeUndefined();
  });
});

describe('FlowLoop', () => {
  const rec = (packets: number, dport: number): FlowRecord => ({ localId: 300, peerId: 301, ruleId: 0, dport, proto: IpProto.tcp, direction: Direction.ingress, verdict: FlowVerdict.forwarded, ipVersion: 4, dropReason: FlowDropReason.policy, packets, bytes: packets * 60, flows: 1, firstSeenNs: 1, lastSeenNs: 2 });

  it('adds the L7 DNS summaries of the records readDnsRecords drains to the window', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 1e8, maxFiles: 100 });
    await spool.open();
    const sent: FlowSummaryBatch[] = [];
    const dns: DnsQueryRecord = { time: Date.parse('2026-11-30T10:00:00Z'), sourceIdentity: 300, resolverIdentity: 400, transport: 'udp', port: 53, ipVersion: 4, qname: 'api.github.com', qtypes: ['A'], rcode: 'NOERROR', ips: ['140.82.121.6'], ttl: 60, verdict: 'forwarded', latencyMs: 1 };
    let pending = [dns, dns];
    const loop = new FlowLoop({
      readFlows: () => [rec(1, 443)],
      readDnsRecords: () => pending.splice(0),
      context: () => ({ rule: () => undefined, identity: () => undefined }),
      spool,
      send: async (b) => void sent.push(b),
      intervalMs: 1000,
    });
    expect(await loop.tick()).toMatchObject({ records: 3, summaries: 2, batches: 1 });
    expect(sent[0]!.summaries.map((s) => [s.l4.protocol, s.l7?.dns?.query, s.packets])).toEqual([['TCP', undefined, 1], ['UDP', 'api.github.com.', 2]]);
    pending = [];
    expect(await loop.tick()).toMatchObject({ summaries: 1 });
  });

  it('adds the L7 HTTP summaries of the records readHttpRecords drains to the window; a failed read costs only them', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 1e8, maxFiles: 100 });
    await spool.open();
    const sent: FlowSummaryBatch[] = [];
    const http: HttpRequestRecord = { time: Date.parse('2026-11-30T10:00:00Z'), sourceIdentity: 300, destinationIdentity: 500, direction: 'EGRESS', port: 8080, ipVersion: 4, method: 'GET', path: '/v1/items/3', code: 404, protocol: 'HTTP/1.1', verdict: 'forwarded', latencyMs: 1 };
    let read = (): HttpRequestRecord[] => [http, { ...http, path: '/v1/items/4' }];
    const loop = new FlowLoop({
      readFlows: () => [rec(1, 8080)],
      readHttpRecords: () => read(),
      context: () => ({ rule: () => undefined, identity: () => undefined }),
      spool,
      send: async (b) => void sent.push(b),
      intervalMs: 1000,
    });
    expect(await loop.tick()).toMatchObject({ records: 3, summaries: 2, batches: 1 });
    expect(sent[0]!.summaries.map((s) => [s.l4.protocol, s.l7?.http?.url, s.l7?.http?.code, s.packets])).toEqual([['TCP', undefined, undefined, 1], ['TCP', '/v1/items', 404, 2]]);
    read = () => {
      throw new Error('boom');
    };
    expect(await loop.tick()).toMatchObject({ records: 1, summaries: 1 });
  });

  it('cuts summaries into batches of at most maxBatch, with uuid batchIds and consecutive sequences', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 1e8, maxFiles: 100 });
    await spool.open();
    const sent: FlowSummaryBatch[] = [];
    const loop = new FlowLoop({
      readFlows: () => Array.from({ length: 12 }, (_, i) => rec(i + 1, 1000 + i)),
      context: () => ({ rule: () => undefined, identity: () => undefined }),
      spool,
      send: async (b) => void sent.push(b),
      intervalMs: 1000,
      maxBatch: 5,
    });
    const r = await loop.tick();
    expect(r).toMatchObject({ records: 12, summaries: 12, batches: 3, delivered: 3 });
    expect(sent.map((b) => b.summaries.length)).toEqual([5, 5, 2]);
    expect(sent.map((b) => b.sequence)).toEqual([0, 1, 2]);
    expect(new Set(sent.map((b) => b.batchId)).size).toBe(3);
    expect(sent.every((b) => /^[0-9a-f-]{36}$/.test(b.batchId))).toBe(true);
    expect(sent.flatMap((b) => b.summaries).reduce((a, s) => a + s.packets, 0)).toBe(78);
  });

  it('with the API down: spools, then delivers everything exactly once when it is back', async () => {
    const spool = new FlowSpool(await tmp(), { maxBytes: 1e8, maxFiles: 100 });
    await spool.open();
    let up = false;
    const stored = new Map<string, FlowSummaryBatch>();
    let n = 0;
    const loop = new FlowLoop({
      readFlows: () => [rec(++n, 80)],
      context: () => ({ rule: () => undefined, identity: () => undefined }),
      spool,
      send: async (b) => {
        if (!up) throw new Error('ECONNREFUSED');
        stored.set(b.batchId, b);
      },
      intervalMs: 1000,
    });
    for (let i = 0; i < 4; i++) await loop.tick();
    expect(spool.pending).toBe(4);
    up = true;
    await loop.tick();
    expect(spool.pending).toBe(0);
    const batches = [...stored.values()];
    expect(batches.map((b) => b.sequence)).toEqual([0, 1, 2, 3, 4]);
    expect(batches.flatMap((b) => b.summaries).reduce((a, s) => a + s.packets, 0)).toBe(1 + 2 + 3 + 4 + 5);
  });

  describe('kernel losses (readLost)', () => {
    const counters = (lostPackets: number, lostBytes = lostPackets * 100, lostFlows = 0) => ({ lostPackets, lostBytes, lostFlows });
    function loop(spool: FlowSpool, reads: Array<ReturnType<typeof counters> | Error>, records: () => FlowRecord[] = () => [], sent: FlowSummaryBatch[] = [], logs: string[] = []) {
      return new FlowLoop({
        readFlows: records,
        readLost: () => {
          const next = reads.shift()!;
          if (next instanceof Error) throw next;
          return next;
        },
        context: () => ({ rule: () => undefined, identity: () => undefined }),
        spool,
        send: async (b) => void sent.push(b),
        intervalMs: 1000,
        maxBatch: 2,
        log: (_level, message) => void logs.push(message),
      });
    }

    it('each window reports the difference of the cumulative counters; an empty window gets an empty batch to carry it', async () => {
      const spool = new FlowSpool(await tmp(), { maxBytes: 1e8, maxFiles: 100 });
      await spool.open();
      const sent: FlowSummaryBatch[] = [];
      const l = loop(spool, [counters(0), counters(10, 1000, 2), counters(10, 1000, 2), counters(25, 2500, 3)], () => [], sent);
      const reports = [];
      for (let i = 0; i < 4; i++) reports.push(await l.tick());
      expect(reports.map((r) => r.kernelLost)).toEqual([
        { packets: 0, bytes: 0, flows: 0 },
        { packets: 10, bytes: 1000, flows: 2 },
        { packets: 0, bytes: 0, flows: 0 },
        { packets: 15, bytes: 1500, flows: 1 },
      ]);
      expect(sent.map((b) => [b.sequence, b.summaries.length, b.lost])).toEqual([
        [0, 0, { batches: 0, summaries: 0, packets: 10, bytes: 1000, flows: 2 }],
        [1, 0, { batches: 0, summaries: 0, packets: 15, bytes: 1500, flows: 1 }],
      ]);
      expect(spool.kernelCounters).toEqual(counters(25, 2500, 3));
    });

    it('only the first batch of a window carries its loss; the sum over batches is exact', async () => {
      const spool = new FlowSpool(await tmp(), { maxBytes: 1e8, maxFiles: 100 });
      await spool.open();
      const sent: FlowSummaryBatch[] = [];
      await loop(spool, [counters(6)], () => Array.from({ length: 5 }, (_, i) => rec(1, 100 + i)), sent).tick();
      expect(sent.map((b) => [b.summaries.length, b.lost?.packets])).toEqual([[2, 6], [2, undefined], [1, undefined]]);
    });

    it('across a restart: the persisted counters are the base (nothing twice, nothing missed)', async () => {
      const dir = await tmp();
      const first = new FlowSpool(dir, { maxBytes: 1e8, maxFiles: 100 });
      await first.open();
      const sent: FlowSummaryBatch[] = [];
      await loop(first, [counters(10)], () => [], sent).tick();
      // agent restarts; the kernel (pinned maps) kept counting while it was down
      const second = new FlowSpool(dir, { maxBytes: 1e8, maxFiles: 100 });
      await second.open();
      await loop(second, [counters(14)], () => [], sent).tick();
      expect(sent.map((b) => b.lost?.packets)).toEqual([10, 4]);
    });

    it('counters below the last value (maps re-created) count from zero', async () => {
      const spool = new FlowSpool(await tmp(), { maxBytes: 1e8, maxFiles: 100 });
      await spool.open();
      const sent: FlowSummaryBatch[] = [];
      const l = loop(spool, [counters(50), counters(0), counters(3)], () => [], sent);
      for (let i = 0; i < 3; i++) await l.tick();
      expect(sent.map((b) => b.lost?.packets)).toEqual([50, 3]);
      expect(spool.kernelCounters).toEqual(counters(3));
    });

    it('a fresh spool reports counters already non-zero at the first read (unknown when; never hidden)', async () => {
      const spool = new FlowSpool(await tmp(), { maxBytes: 1e8, maxFiles: 100 });
      await spool.open();
      const sent: FlowSummaryBatch[] = [];
      await loop(spool, [counters(8, 800, 1)], () => [rec(1, 80)], sent).tick();
      expect(sent.map((b) => [b.summaries.length, b.lost])).toEqual([[1, { batches: 0, summaries: 0, packets: 8, bytes: 800, flows: 1 }]]);
    });

    it('a failed read of the counters keeps the window\'s records; the next read reports what was lost meanwhile', async () => {
      const spool = new FlowSpool(await tmp(), { maxBytes: 1e8, maxFiles: 100 });
      await spool.open();
      const sent: FlowSummaryBatch[] = [];
      const logs: string[] = [];
      const l = loop(spool, [counters(1), new Error('no fn_counters'), counters(5)], () => [rec(1, 80)], sent, logs);
      for (let i = 0; i < 3; i++) await l.tick();
      expect(sent.map((b) => [b.summaries.length, b.lost?.packets])).toEqual([[1, 1], [1, undefined], [1, 4]]);
      expect(logs.some((m) => m.startsWith('reading the kernel loss counters failed'))).toBe(true);
    });
  });

  it('chunk', () => expect(chunk([1, 2, 3], 2)).toEqual([[1, 2], [3]]));
});
