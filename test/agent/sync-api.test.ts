/**
 * The agent's sync path against the REAL local API (route table over HTTP, embedded Cosmos), with a
 * fault-injecting proxy in between for 503/429 + Retry-After and outages.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredState } from '../../openapi/types.js';
import { createApiClient, ApiError } from '../../agent/src/sync/api-client.js';
import { loadBundle } from '../../agent/src/sync/bundle-store.js';
import type { ProgramOutcome } from '../../agent/src/sync/node-status.js';
import { SyncLoop } from '../../agent/src/sync/sync-loop.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { clusterBody, policyBody } from '../helpers/fixtures.js';

let api: TestApi;
let proxy: FaultProxy;
let client: ReturnType<typeof createContractClient>;
let agentToken: string;
const dirs: string[] = [];
const CLUSTER = 'sync-east';

beforeAll(async () => {
  api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
  proxy = await startFaultProxy(api.baseUrl);
  client = createContractClient(api.baseUrl);
  agentToken = await api.agentToken('agent-sync');
  await client.call('PUT', `/clusters/${CLUSTER}`, { token: api.tokens.admin, body: clusterBody(CLUSTER, { env: 'sync' }, ['agent-sync']) });
});
afterAll(async () => {
  await proxy?.close();
  await api?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fleetnet-sync-'));
  dirs.push(d);
  return d;
}

const putPolicy = (name: string, spec: Record<string, unknown> = {}) =>
  client.call('PUT', `/networkpolicies/${name}`, {
    token: api.tokens.admin,
    body: policyBody(name, { targets: { clusterIds: [CLUSTER] }, ...spec }),
  });

function makeLoop(node: string, dir: string, opts: { baseUrl?: string; degradedFor?: string } = {}) {
  const programmed: DesiredState[] = [];
  const apiClient = createApiClient({ baseUrl: opts.baseUrl ?? proxy.baseUrl, clusterId: CLUSTER, nodeName: node, token: async () => agentToken });
  const loop = new SyncLoop({
    client: apiClient,
    stateDir: dir,
    nodeSpec: { agentVersion: 'test', kernelVersion: '6.18.0', capabilities: { tcx: true, btf: true } },
    pollIntervalMs: 100,
    backoff: { baseMs: 50, maxMs: 400 },
    program: async (bundle): Promise<ProgramOutcome> => {
      programmed.push(bundle);
      const degraded = bundle.policies
        .filter((p) => p.name === opts.degradedFor)
        .map((p) => ({ policy: p.name, pointer: '/egress/0/toFQDNs', reason: 'FQDN rules are not enforced yet' }));
      return { revision: bundle.revision, programmed: true, degraded };
    },
  });
  return { loop, programmed, apiClient };
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const getNode = async (node: string) => (await client.call('GET', `/clusters/${CLUSTER}/nodes/${node}`, { token: api.tokens.reader })).body;

describe('sync against the local API', () => {
  it('registers, polls 200 then 304 with If-None-Match, persists the bundle and reports Programmed/Degraded', async () => {
    await putPolicy('sync-a');
    const dir = await stateDir();
    const { loop, programmed } = makeLoop('node-a', dir, { degradedFor: 'sync-a' });
    const ac = new AbortController();
    const before = proxy.requests.length;
    const running = loop.run(ac.signal);
    await until(() => loop.state.polls >= 3);
    ac.abort();
    await running;

    expect(programmed).toHaveLength(1); // 304s do not reprogram
    const polls = proxy.requests.slice(before).filter((r) => r.path.endsWith('/node-a/desiredstate'));
    expect(polls[0]).toMatchObject({ status: 200 });
    expect(polls[0]!.headers['if-none-match']).toBeUndefined();
    expect(polls.slice(1).every((r) => r.status === 304 && r.headers['if-none-match'] === loop.state.etag)).toBe(true);
    expect(proxy.requests.slice(before).some((r) => r.method === 'PUT' && r.path.endsWith('/nodes/node-a'))).toBe(true);

    const stored = await loadBundle(dir);
    expect(stored?.etag).toBe(loop.state.etag);
    expect(stored?.bundle.policies.map((p) => p.name)).toContain('sync-a');
    expect((await readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);

    const node = await getNode('node-a');
    expect(node.spec).toMatchObject({ agentVersion: 'test', kernelVersion: '6.18.0' });
    expect(node.status.observedRevision).toBe(programmed[0]!.revision);
    const cond = Object.fromEntries(node.status.conditions.map((c: { type: string }) => [c.type, c]));
    expect(cond.Programmed).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(cond.Degraded).toMatchObject({ status: 'True', reason: 'UnsupportedRules' });
    expect(cond.Degraded.message).toContain('policy sync-a /egress/0/toFQDNs');
  });

  it('programs a policy change within one poll interval', async () => {
    const dir = await stateDir();
    const { loop, programmed } = makeLoop('node-b', dir);
    const ac = new AbortController();
    const running = loop.run(ac.signal);
    await until(() => programmed.length === 1 && loop.state.polls >= 2);
    const t0 = Date.now();
    await putPolicy('sync-b');
    await until(() => programmed.length === 2);
    const elapsed = Date.now() - t0;
    ac.abort();
    await running;
    expect(programmed[1]!.policies.map((p) => p.name)).toContain('sync-b');
    expect(programmed[1]!.revision).toBeGreaterThan(programmed[0]!.revision);
    expect(elapsed).toBeLessThan(100 + 1400); // one 100 ms interval + request, compile and a loaded CI box
    const node = await getNode('node-b');
    expect(node.status.observedRevision).toBe(programmed[1]!.revision);
  });

  it('honours Retry-After in seconds (503) and as an HTTP date (429)', async () => {
    const dir = await stateDir();
    const { loop } = makeLoop('node-c', dir);
    const ac = new AbortController();
    proxy.failNext(1, 503, '1');
    const before = proxy.requests.length;
    const running = loop.run(ac.signal);
    await until(() => loop.state.polls >= 1, 5000);
    const reqs = proxy.requests.slice(before);
    expect(reqs[0]).toMatchObject({ status: 503 });
    expect(reqs[1]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(950);

    const date = new Date(Date.now() + 2000);
    date.setMilliseconds(0); // HTTP dates have whole seconds
    const mark = proxy.requests.length;
    proxy.failNext(1, 429, date.toUTCString());
    // a poll already in flight may be recorded first: look for the 429 and the request after it
    const after = () => proxy.requests.slice(mark);
    await until(() => {
      const i = after().findIndex((r) => r.status === 429);
      return i >= 0 && after().length > i + 1;
    }, 6000);
    ac.abort();
    await running;
    const i429 = after().findIndex((r) => r.status === 429);
    expect(after()[i429 + 1]!.at).toBeGreaterThanOrEqual(date.getTime() - 50);
  });

  it('backs off with jitter during an outage, keeps the bundle, then recovers', async () => {
    const dir = await stateDir();
    const { loop, programmed } = makeLoop('node-d', dir);
    const ac = new AbortController();
    const running = loop.run(ac.signal);
    await until(() => programmed.length === 1);
    proxy.down();
    const mark = proxy.requests.length;
    await new Promise((r) => setTimeout(r, 1500));
    const during = proxy.requests.slice(mark);
    expect(loop.state.failures).toBeGreaterThanOrEqual(2);
    // backoff: far fewer attempts than one per 100 ms poll interval would make, once it has grown
    expect(during.length).toBeLessThan(15);
    expect(programmed).toHaveLength(1); // nothing reprogrammed, nothing flushed
    await putPolicy('sync-d');
    proxy.up();
    await until(() => programmed.length === 2, 5000);
    ac.abort();
    await running;
    expect(loop.state.failures).toBe(0);
    expect(programmed[1]!.policies.map((p) => p.name)).toContain('sync-d');
  });

  it('a restarted agent enforces the last-known-good bundle while the API is away', async () => {
    const dir = await stateDir();
    const first = makeLoop('node-e', dir);
    const ac = new AbortController();
    const running = first.loop.run(ac.signal);
    await until(() => first.programmed.length === 1);
    ac.abort();
    await running;

    proxy.down();
    try {
      const second = makeLoop('node-e', dir);
      expect(await second.loop.loadLastKnownGood()).toBe(true);
      expect(second.programmed).toHaveLength(1);
      expect(second.programmed[0]!.revision).toBe(first.programmed[0]!.revision);
      const ac2 = new AbortController();
      const r2 = second.loop.run(ac2.signal);
      await new Promise((r) => setTimeout(r, 300));
      ac2.abort();
      await r2;
      expect(second.loop.state.failures).toBeGreaterThan(0);
      expect(second.programmed).toHaveLength(1);
      // back online: the stored ETag makes the first poll a 304 (no reprogram needed) and status is reported
      proxy.up();
      const mark = proxy.requests.length;
      const ac3 = new AbortController();
      const r3 = second.loop.run(ac3.signal);
      await until(() => second.loop.state.polls >= 1);
      await until(() => proxy.requests.slice(mark).some((r) => r.path.endsWith('/node-e/status') && r.status === 200));
      ac3.abort();
      await r3;
      expect(proxy.requests.slice(mark).find((r) => r.path.endsWith('/node-e/desiredstate'))?.status).toBe(304);
    } finally {
      proxy.up();
    }
  });

  it('registers again when the node was deleted server-side, then reports its status', async () => {
    const dir = await stateDir();
    const { loop, programmed } = makeLoop('node-f', dir);
    const ac = new AbortController();
    const running = loop.run(ac.signal);
    await until(() => programmed.length === 1);
    const del = await client.call('DELETE', `/clusters/${CLUSTER}/nodes/node-f`, { token: agentToken });
    expect(del.status).toBe(204);
    await putPolicy('sync-f');
    await until(() => programmed.length === 2);
    await until(async () => (await client.call('GET', `/clusters/${CLUSTER}/nodes/node-f`, { token: api.tokens.reader })).body?.status?.observedRevision === programmed[1]!.revision);
    ac.abort();
    await running;
  });

  it('surfaces non-retryable errors as ApiError without the token', async () => {
    const c = createApiClient({ baseUrl: proxy.baseUrl, clusterId: 'not-mine', nodeName: 'n', token: async () => agentToken });
    const err = await c.getDesiredState().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(403);
    expect((err as ApiError).retryable).toBe(false);
    expect(String((err as Error).message)).not.toContain(agentToken);
  });
});
