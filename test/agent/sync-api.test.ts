/**
 * The agent's sync path against the REAL local API (route table over HTTP, embedded Cosmos), with a
 * fault-injecting proxy in between for 503/429 + Retry-After and outages. Desired state is a
 * fleetnet.io/v2 manifest: the agent fetches the bodies it lacks and checks their hashes. The API
 * compiles desired state outside the write request, so a test that writes a policy waits until the
 * manifest (or the agent) shows it, with a deadline.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledPolicyHash } from '../../core/bundle/bundled-policy.js';
import { DESIRED_STATE_MEDIA_TYPE, type ResolvedDesiredState } from '../../core/bundle/desired-state-format.js';
import type { DesiredState } from '../../openapi/types.js';
import { createApiClient, ApiError, SyncErrorCode } from '../../agent/src/sync/api-client.js';
import { loadBundle } from '../../agent/src/sync/bundle-store.js';
import type { ProgramOutcome } from '../../agent/src/sync/node-status.js';
import { resolveManifest } from '../../agent/src/sync/resolve-manifest.js';
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

/** Writes a policy; resolves to its new generation. */
async function putPolicy(name: string, spec: Record<string, unknown> = {}): Promise<number> {
  const r = await client.call('PUT', `/networkpolicies/${name}`, {
    token: api.tokens.admin,
    body: policyBody(name, { targets: { clusterIds: [CLUSTER] }, ...spec }),
  });
  expect(r.status).toBeLessThan(300);
  return r.body.metadata.generation as number;
}

/** The cluster's manifest as an agent reads it (contract-checked). */
async function manifest(): Promise<DesiredState> {
  const r = await client.call('GET', `/clusters/${CLUSTER}/nodes/probe/desiredstate`, { token: agentToken, headers: { accept: DESIRED_STATE_MEDIA_TYPE } });
  expect(r.status).toBe(200);
  return r.body as DesiredState;
}

/** Waits until the manifest lists `name` at `generation` (desired state is compiled after the write). */
async function untilListed(name: string, generation: number): Promise<DesiredState> {
  let m: DesiredState | undefined;
  await until(async () => {
    m = await manifest().catch(() => undefined);
    return m?.policies.some((p) => p.name === name && p.generation === generation) ?? false;
  });
  return m!;
}

const names = (b: ResolvedDesiredState | undefined) => b?.policies.map((p) => p.name) ?? [];
const bodyFetches = (from: number) => proxy.requests.slice(from).filter((r) => r.path.includes('/desiredstate/policies/'));

function makeLoop(node: string, dir: string, opts: { baseUrl?: string; degradedFor?: string; random?: () => number } = {}) {
  const programmed: ResolvedDesiredState[] = [];
  const apiClient = createApiClient({ baseUrl: opts.baseUrl ?? proxy.baseUrl, clusterId: CLUSTER, nodeName: node, token: async () => agentToken });
  const loop = new SyncLoop({
    client: apiClient,
    stateDir: dir,
    nodeSpec: { agentVersion: 'test', kernelVersion: '6.18.0', capabilities: { tcx: true, btf: true } },
    pollIntervalMs: 100,
    backoff: { baseMs: 50, maxMs: 400 },
    ...(opts.random ? { random: opts.random } : {}),
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
  it('registers, polls 200 then 304 with If-None-Match, fetches and persists the bodies, reports Programmed/Degraded', async () => {
    const listed = await untilListed('sync-a', await putPolicy('sync-a'));
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
    expect(polls[0]!.headers.accept).toBe(DESIRED_STATE_MEDIA_TYPE);
    expect(polls[0]!.headers['if-none-match']).toBeUndefined();
    expect(polls.slice(1).every((r) => r.status === 304 && r.headers['if-none-match'] === loop.state.etag)).toBe(true);
    expect(proxy.requests.slice(before).some((r) => r.method === 'PUT' && r.path.endsWith('/nodes/node-a'))).toBe(true);
    // one body fetch per listed policy, each once (the 304s fetch nothing), hashes as the manifest lists
    const fetched = bodyFetches(before);
    expect(fetched.map((r) => r.path.split('/').slice(-2).join('/')).sort()).toEqual(listed.policies.map((p) => `${p.name}/${p.generation}`).sort());
    expect(fetched.every((r) => r.status === 200)).toBe(true);
    expect(programmed[0]!.policies.map((p) => bundledPolicyHash(p))).toEqual(listed.policies.map((p) => p.contentHash));

    const stored = await loadBundle(dir);
    expect(stored?.etag).toBe(loop.state.etag);
    expect(stored?.bundle).toEqual(programmed[0]); // the resolved bundle, bodies included
    expect(names(stored?.bundle)).toContain('sync-a');
    expect(stored?.bundle.policies.every((p) => typeof p.spec === 'object')).toBe(true);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);

    const node = await getNode('node-a');
    expect(node.spec).toMatchObject({ agentVersion: 'test', kernelVersion: '6.18.0' });
    expect(node.status.observedRevision).toBe(programmed[0]!.revision);
    const cond = Object.fromEntries(node.status.conditions.map((c: { type: string }) => [c.type, c]));
    expect(cond.Programmed).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(cond.Degraded).toMatchObject({ status: 'True', reason: 'UnsupportedRules' });
    expect(cond.Degraded.message).toContain('policy sync-a /egress/0/toFQDNs');
  });

  it('programs a policy change within one poll interval, fetching only the new body', async () => {
    const dir = await stateDir();
    const { loop, programmed } = makeLoop('node-b', dir);
    const ac = new AbortController();
    const running = loop.run(ac.signal);
    await until(() => programmed.length === 1 && loop.state.polls >= 2);
    const held = programmed[0]!.policies.length;
    expect(held).toBeGreaterThan(0);
    const mark = proxy.requests.length;
    const t0 = Date.now();
    const generation = await putPolicy('sync-b');
    await until(() => names(programmed.at(-1)).includes('sync-b'));
    const elapsed = Date.now() - t0;
    ac.abort();
    await running;
    expect(programmed).toHaveLength(2);
    expect(programmed[1]!.revision).toBeGreaterThan(programmed[0]!.revision);
    // compile (outside the write) + one 100 ms interval + request + one body fetch, on a loaded CI box
    expect(elapsed).toBeLessThan(100 + 1400);
    expect(bodyFetches(mark).map((r) => r.path.split('/').slice(-2).join('/'))).toEqual([`sync-b/${generation}`]); // the others reused
    expect(programmed[1]!.policies.filter((p) => p.name !== 'sync-b')).toEqual(programmed[0]!.policies);
    const node = await getNode('node-b');
    expect(node.status.observedRevision).toBe(programmed[1]!.revision);
  });

  it('honours Retry-After in seconds (503) and as an HTTP date (429)', async () => {
    const dir = await stateDir();
    const { loop, programmed } = makeLoop('node-c', dir);
    const ac = new AbortController();
    proxy.failNext(1, 503, '1');
    const before = proxy.requests.length;
    const running = loop.run(ac.signal);
    // the first manifest resolved (its body fetches run in parallel) and its status reported: from here on
    // each turn is one request (a 304 poll), so "the request after the 429" is the retry
    await until(() => programmed.length === 1 && proxy.requests.slice(before).some((r) => r.path.endsWith('/node-c/status') && r.status === 200), 5000);
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
    // The jitter's draw fixed at its middle: the attempt count then depends on the backoff alone, not on
    // luck (full jitter can draw near-zero delays several times in a row: 17 attempts were seen once).
    const { loop, programmed } = makeLoop('node-d', dir, { random: () => 0.5 });
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
    await until(() => names(programmed.at(-1)).includes('sync-d'), 5000);
    ac.abort();
    await running;
    expect(loop.state.failures).toBe(0);
    expect(programmed).toHaveLength(2);
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
      // nothing changed meanwhile (no write since the first agent's bundle): its manifest is current
      expect((await loadBundle(dir))?.etag).toBe(second.loop.state.etag);
      const mark = proxy.requests.length;
      const ac3 = new AbortController();
      const r3 = second.loop.run(ac3.signal);
      await until(() => second.loop.state.polls >= 1);
      await until(() => proxy.requests.slice(mark).some((r) => r.path.endsWith('/node-e/status') && r.status === 200));
      ac3.abort();
      await r3;
      expect(proxy.requests.slice(mark).find((r) => r.path.endsWith('/node-e/desiredstate'))?.status).toBe(304);
      expect(bodyFetches(mark)).toEqual([]); // the restart fetched no body
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
    await until(() => names(programmed.at(-1)).includes('sync-f'));
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

  it('a body the current manifest no longer lists is a 404: resolving the stale manifest fails (retryable), the new one resolves', async () => {
    const apiClient = createApiClient({ baseUrl: api.baseUrl, clusterId: CLUSTER, nodeName: 'node-g', token: async () => agentToken });
    const g1 = await putPolicy('sync-g', { ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: [{ ports: [{ port: '81', protocol: 'TCP' }] }] }] });
    const stale = await untilListed('sync-g', g1);
    const g2 = await putPolicy('sync-g', { ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: [{ ports: [{ port: '82', protocol: 'TCP' }] }] }] });
    const current = await untilListed('sync-g', g2);
    const fetchPolicy = (n: string, g: number) => apiClient.getBundledPolicy(n, g);
    const err = await resolveManifest(stale, { held: [], fetchPolicy }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: SyncErrorCode.PolicyGenerationGone, retryable: true });
    const resolved = await resolveManifest(current, { held: [], fetchPolicy });
    expect(resolved.bundle.policies.find((p) => p.name === 'sync-g')).toMatchObject({ generation: g2, spec: { ingress: [{ toPorts: [{ ports: [{ port: '82' }] }] }] } });
    expect(resolved.fetched).toBe(current.policies.length);
  });

  it('a plain Accept gets the 406 an agent of another release would see', async () => {
    const r = await client.call('GET', `/clusters/${CLUSTER}/nodes/node-h/desiredstate`, { token: agentToken, headers: { accept: 'application/json' } });
    expect(r.status).toBe(406);
    expect(r.body.code).toBe('NotAcceptable');
  });
});
