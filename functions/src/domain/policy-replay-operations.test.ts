/**
 * PolicyReplayOperations over in-memory fakes: the lifecycle writes (NotStarted → Running → heartbeats →
 * Succeeded / Failed, each with its ttl), the stale rule at the 60 s bound, unknown clusters rejected before
 * anything is stored, and the stored result's cap (200 change groups, `truncated`, examples dropped past the
 * size bound).
 */
import { describe, expect, it } from 'vitest';
import type { FlowRecord, PolicyReplayOperation } from '../../../openapi/types.js';
import type { ReplayChangeGroup } from '../../../core/policy/replay/replay-changes.js';
import { ApiError } from '../http/api-error.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import { OPERATION_TTL_SECONDS } from '../store/cosmos-layout.js';
import type { PolicyReplayReport } from './policy-replay.js';
import { STALE_MS } from './long-running-operation.js';
import { MAX_STORED_GROUPS, PolicyReplayOperations, toWireResult } from './policy-replay-operations.js';

const sums = (n: number) => ({ summaries: n, packets: n, bytes: n, flows: n, firstSeen: n ? '2026-11-30T10:00:00.000Z' : '', lastSeen: n ? '2026-11-30T11:00:00.000Z' : '' });
const emptyReport = (changes: Array<ReplayChangeGroup<FlowRecord>> = []): PolicyReplayReport => ({
  changes,
  totals: { judged: sums(0), allowedToDropped: sums(0), droppedToAllowed: sums(0), auditedToDropped: sums(0) },
  unjudged: [],
  disagreements: { sums: sums(0), examples: [] },
  window: { since: '2026-11-30T09:00:00.000Z', until: '2026-11-30T12:00:00.000Z' },
  clusters: ['c1'],
  coverage: { since: '2026-11-30T09:00:00.000Z', until: '2026-11-30T12:00:00.000Z', complete: true, clusters: [], clustersWithoutData: [] },
  completeness: { complete: true, statements: ['every summary of the window was judged (0), and the coverage has no gap or loss'] },
});
const record = (padding: number): FlowRecord => ({
  time: '2026-11-30T10:00:00.000Z',
  cluster: 'c1',
  node_name: 'n1',
  window: { start: '2026-11-30T09:59:00.000Z', end: '2026-11-30T10:00:00.000Z' },
  flow: { source: { identity: 1, labels: ['x'.repeat(padding)] }, destination: { identity: 2 }, l4: { protocol: 'TCP', destination_port: 1 }, traffic_direction: 'INGRESS', verdict: 'FORWARDED', packets: 1, bytes: 1, flows: 1 },
});
const group = (i: number, examples: FlowRecord[] = []): ReplayChangeGroup<FlowRecord> => ({
  change: 'allowed-to-dropped',
  direction: 'ingress',
  subject: `shop/s${i}`,
  peer: 'shop/p',
  candidate: { verdict: 'dropped', decidedBy: 'default-deny' },
  current: { verdict: 'forwarded', decidedBy: 'row', rule: { ruleId: 7, policy: 'p', generation: 1, pointer: '/ingress/0', direction: 'ingress', verdict: 'allow', mode: 'enforce' } },
  clusters: ['c1'],
  ports: ['TCP/1'],
  sums: sums(1),
  examples,
});

/** An in-memory operations collection recording every write with its extra fields. */
function fakeCollection() {
  const docs = new Map<string, Versioned<PolicyReplayOperation>>();
  const writes: Array<{ value: PolicyReplayOperation; extra: Record<string, unknown> }> = [];
  let version = 0;
  const collection = {
    async read(_pk: string, id: string) {
      return docs.get(id);
    },
    async create(_pk: string, id: string, value: PolicyReplayOperation, extra: Record<string, unknown> = {}) {
      const v = { value: structuredClone(value), version: String(++version) };
      docs.set(id, v);
      writes.push({ value: structuredClone(value), extra });
      return v;
    },
    async replace(_pk: string, id: string, value: PolicyReplayOperation, ifVersion: string, extra: Record<string, unknown> = {}) {
      if (docs.get(id)?.version !== ifVersion) throw new Error('version mismatch');
      const v = { value: structuredClone(value), version: String(++version) };
      docs.set(id, v);
      writes.push({ value: structuredClone(value), extra });
      return v;
    },
  };
  return { collection: collection as unknown as DocumentCollection<PolicyReplayOperation>, docs, writes };
}

/** `withPolicy`: the cluster's desired state holds policy `known` (the change is in scope; the fake flow reads throw). */
function service(options: { withPolicy?: boolean; clusters?: string[] } = {}) {
  const fake = fakeCollection();
  const ops = new PolicyReplayOperations({
    operations: fake.collection,
    policy: async (name) => (name === 'known' ? ({ metadata: { name } } as never) : undefined),
    replay: {
      flows: { replayGroups: async () => { throw new Error('not used'); }, recordsAt: async () => new Map() },
      clusters: async () => (options.clusters ?? ['c1']).map((id) => ({ id, labels: {} })),
      currentPolicies: async () => (options.withPolicy ? [{ name: 'known', generation: 1, mode: 'enforce' as const, spec: { endpointSelector: {} } }] : []),
    },
    now: () => new Date(),
    log: () => undefined,
    heartbeatMs: 20,
  });
  return { ops, ...fake };
}

describe('PolicyReplayOperations', () => {
  it('NotStarted → Running → Succeeded, every write with the ttl (a change touching no cluster)', async () => {
    const { ops, writes } = service();
    const op = await ops.start({ modes: [{ name: 'known', mode: 'enforce' }], since: '1h' });
    expect(op.status).toBe('NotStarted');
    await ops.settled();
    expect(writes.map((w) => w.value.status)).toEqual(['NotStarted', 'Running', 'Succeeded']);
    for (const w of writes) expect(w.extra).toEqual({ ttl: OPERATION_TTL_SECONDS });
    expect((await ops.get(op.id)).result?.completeness.statements).toEqual(['the change touches no registered cluster: nothing to replay']);
  });

  it('a replay that throws ends Failed with the problem the boundary renders (an opaque 500)', async () => {
    const { ops, writes } = service({ withPolicy: true });
    const op = await ops.start({ modes: [{ name: 'known', mode: 'audit' }], since: '1h' });
    await ops.settled();
    expect(writes.map((w) => w.value.status)).toEqual(['NotStarted', 'Running', 'Failed']);
    expect(await ops.get(op.id)).toMatchObject({ status: 'Failed', error: { status: 500, code: 'InternalError' } });
    expect((await ops.get(op.id)).error?.detail).not.toMatch(/not used/);
  });

  it('a slow replay keeps its heartbeat: lastUpdatedAt is rewritten while Running', async () => {
    const fake = fakeCollection();
    let release = () => undefined as void;
    const ops = new PolicyReplayOperations({
      operations: fake.collection,
      policy: async () => ({}) as never,
      replay: {
        flows: { replayGroups: () => new Promise((resolve) => (release = () => resolve({ part: { groups: [], unjudged: [] }, coverage: emptyReport().coverage, window: emptyReport().window }))), recordsAt: async () => new Map() },
        clusters: async () => [{ id: 'c1', labels: {} }],
        currentPolicies: async () => [{ name: 'known', generation: 1, mode: 'enforce', spec: { endpointSelector: {} } }],
      },
      now: () => new Date(),
      log: () => undefined,
      heartbeatMs: 20,
    });
    const op = await ops.start({ modes: [{ name: 'known', mode: 'enforce' }], since: '1h' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const running = fake.writes.filter((w) => w.value.status === 'Running');
    expect(running.length).toBeGreaterThanOrEqual(3);
    release();
    await ops.settled();
    expect(fake.writes.at(-1)?.value.status).toBe('Succeeded');
    expect((await ops.get(op.id)).result?.clusters).toEqual(['c1']);
  });

  it('Running with a heartbeat older than 60 s reads Failed (OperationInterrupted); at the bound, Running', async () => {
    let now = new Date('2026-11-30T12:00:00.000Z');
    const fake = fakeCollection();
    const ops = new PolicyReplayOperations({ operations: fake.collection, policy: async () => undefined, replay: {} as never, now: () => now, log: () => undefined });
    const op: PolicyReplayOperation = { id: 'abc', status: 'Running', createdAt: now.toISOString(), lastUpdatedAt: now.toISOString(), request: { policies: [], remove: [], modes: [], since: now.toISOString(), until: now.toISOString() } };
    await fake.collection.create('abc', 'abc', op);
    now = new Date(now.getTime() + STALE_MS);
    expect((await ops.get('abc')).status).toBe('Running');
    now = new Date(now.getTime() + 1);
    expect(await ops.get('abc')).toMatchObject({ status: 'Failed', error: { code: 'OperationInterrupted' } });
    await expect(ops.get('nope')).rejects.toMatchObject({ status: 404 });
  });

  it('unknown clusters are a 400 at /clusters/<i>, nothing stored', async () => {
    const { ops, writes } = service({ clusters: ['c1'] });
    const error = await ops.start({ modes: [{ name: 'known', mode: 'enforce' }], clusters: ['c1', 'c9'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).errors).toEqual([expect.objectContaining({ pointer: '/clusters/1', rule: 'exists' })]);
    expect(writes).toEqual([]);
  });
});

describe('toWireResult', () => {
  it(`keeps at most ${MAX_STORED_GROUPS} change groups and says how many were left out`, () => {
    const result = toWireResult(emptyReport(Array.from({ length: 250 }, (_, i) => group(i))));
    expect(result.changes).toHaveLength(MAX_STORED_GROUPS);
    expect(result.truncated).toEqual({ truncated: true, groupsLeftOut: 50 });
    expect(result.changes[0]).toMatchObject({ current: { decidedBy: 'rule', rule: { policy: 'p', generation: 1, pointer: '/ingress/0', verdict: 'allow', mode: 'enforce' } }, candidate: { decidedBy: 'default-deny' } });
    expect(toWireResult(emptyReport([group(0)])).truncated).toEqual({ truncated: false, groupsLeftOut: 0 });
  });

  it('drops the examples of the last groups first when the result would exceed its size bound', () => {
    const big = Array.from({ length: MAX_STORED_GROUPS }, (_, i) => group(i, [record(3000), record(3000), record(3000)]));
    const result = toWireResult(emptyReport(big));
    expect(JSON.stringify(result).length).toBeLessThanOrEqual(1_500_000);
    expect(result.changes[0]!.examples).toHaveLength(3);
    expect(result.changes.at(-1)!.examples).toEqual([]);
    expect(result.changes).toHaveLength(MAX_STORED_GROUPS);
  });

  it('sums without summaries carry no first/last seen', () => {
    expect(toWireResult(emptyReport()).totals.judged).toEqual({ summaries: 0, packets: 0, bytes: 0, flows: 0 });
  });
});
