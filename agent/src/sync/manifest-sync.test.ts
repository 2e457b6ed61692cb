/**
 * Desired state as a manifest (fleetnet.io/v2), against a fake API injected as `fetch`: the client's
 * format checks, resolveManifest (reuse, fetch of the missing bodies, hash checks, 404, concurrency),
 * and the SyncLoop around them (all or nothing, last-known-good, Degraded on format problems).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundledPolicyHash } from '../../../core/bundle/bundled-policy.js';
import type { ResolvedDesiredState } from '../../../core/bundle/desired-state-format.js';
import type { BundledPolicy, DesiredState } from '../../../openapi/types.js';
import { ApiError, createApiClient, describeInvalidManifest, SyncErrorCode } from './api-client.js';
import { BUNDLE_FILE, loadBundle } from './bundle-store.js';
import { bundled, FAKE_BASE_URL, FakeDesiredStateApi } from './fake-desired-state-api.js';
import type { ProgramOutcome } from './node-status.js';
import { resolveManifest } from './resolve-manifest.js';
import { SyncLoop, type Logger } from './sync-loop.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fleetnet-manifest-'));
  dirs.push(d);
  return d;
}

const clientOf = (api: FakeDesiredStateApi) => createApiClient({ baseUrl: FAKE_BASE_URL, clusterId: api.clusterId, nodeName: api.nodeName, token: async () => 'tok', fetch: api.fetch });

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
}

function makeLoop(api: FakeDesiredStateApi, dir: string) {
  const programmed: ResolvedDesiredState[] = [];
  const logs: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = (level, message, fields) => void logs.push({ level, message, ...(fields ? { fields } : {}) });
  const loop = new SyncLoop({
    client: clientOf(api),
    stateDir: dir,
    nodeSpec: { agentVersion: 'test' },
    pollIntervalMs: 10,
    backoff: { baseMs: 5, maxMs: 20 },
    program: async (bundle): Promise<ProgramOutcome> => {
      programmed.push(bundle);
      return { revision: bundle.revision, programmed: true, degraded: [] };
    },
    log,
  });
  return { loop, programmed, logs };
}

async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Runs the loop until `cond`, then stops it. */
async function runUntil(loop: SyncLoop, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const ac = new AbortController();
  const running = loop.run(ac.signal);
  try {
    await until(cond, timeoutMs);
  } finally {
    ac.abort();
    await running;
  }
}

const degradedOf = (api: FakeDesiredStateApi) => api.statuses.at(-1)?.conditions?.find((c) => c.type === 'Degraded');

describe('api client: desired state format v2', () => {
  it('asks for the v2 media type with If-None-Match and returns the manifest; 304 when unchanged', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a'), bundled('b')]);
    const c = clientOf(api);
    const r = await c.getDesiredState();
    expect(r).toMatchObject({ status: 200, etag: api.etag, manifest: { apiVersion: 'fleetnet.io/v2', revision: api.revision } });
    expect(r.status === 200 && r.manifest.policies.map((p) => p.contentHash)).toEqual([bundledPolicyHash(bundled('a')), bundledPolicyHash(bundled('b'))]);
    expect(api.requests[0]!.headers.accept).toBe('application/vnd.fleetnet.desiredstate.v2+json');
    expect(api.requests[0]!.headers['if-none-match']).toBeUndefined();
    expect(await c.getDesiredState(api.etag)).toEqual({ status: 304, etag: api.etag });
    expect(api.requests[1]!.headers['if-none-match']).toBe(api.etag);
  });

  it('getBundledPolicy asks for application/json at …/desiredstate/policies/{name}/{generation}', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('web', 3)]);
    expect(await clientOf(api).getBundledPolicy('web', 3)).toEqual(bundled('web', 3));
    expect(api.requests[0]).toMatchObject({ method: 'GET', path: '/clusters/c1/nodes/n1/desiredstate/policies/web/3', status: 200 });
    expect(api.requests[0]!.headers.accept).toBe('application/json');
    const e = await rejection(clientOf(api).getBundledPolicy('web', 2));
    expect(e.status).toBe(404);
  });

  it('a 200 in another format (an older API) is UnsupportedDesiredStateFormat naming both formats', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a')]);
    api.format = 'v1';
    const e = await rejection(clientOf(api).getDesiredState());
    expect(e.code).toBe(SyncErrorCode.UnsupportedDesiredStateFormat);
    expect(e.message).toContain('"fleetnet.io/v1"');
    expect(e.message).toContain('fleetnet.io/v2');
    expect(e.message).toMatch(/upgrade or downgrade/);
    expect(e.retryable).toBe(false);
  });

  it('a 406 (an API that does not serve v2) is UnsupportedDesiredStateFormat with the server detail', async () => {
    const api = new FakeDesiredStateApi();
    api.format = '406';
    const e = await rejection(clientOf(api).getDesiredState());
    expect(e).toMatchObject({ status: 406, code: SyncErrorCode.UnsupportedDesiredStateFormat });
    expect(e.message).toContain('does not serve desired-state format fleetnet.io/v2');
    expect(e.message).toMatch(/upgrade or downgrade/);
    expect(e.message).toContain('Server said: This API serves desired state only as');
    expect(e.retryable).toBe(false);
  });

  const ref = { name: 'a', generation: 1, mode: 'enforce', contentHash: 'a'.repeat(64) };
  const good = { apiVersion: 'fleetnet.io/v2', kind: 'DesiredState', clusterId: 'c1', revision: 1, policies: [ref], encryption: {} };
  it.each([
    { given: good, want: undefined },
    { given: { ...good, kind: 'Bundle' }, want: 'kind is "Bundle", not "DesiredState"' },
    { given: { ...good, revision: 0 }, want: 'revision is not a positive integer' },
    { given: { ...good, policies: {} }, want: 'policies is not an array' },
    { given: { ...good, policies: [{ ...ref, contentHash: 'XYZ' }] }, want: 'policies/0/contentHash is not a SHA-256 hex digest' },
    { given: { ...good, policies: [{ ...ref, spec: {}, contentHash: undefined }] }, want: 'policies/0/contentHash is not a SHA-256 hex digest' },
    { given: { ...good, policies: [ref, { ...ref, generation: 0 }] }, want: 'policies/1/generation is not a positive integer' },
    { given: { ...good, policies: [ref, { ...ref, mode: 'log' }] }, want: 'policies/1/mode is not enforce or audit' },
    { given: { ...good, policies: [ref, { ...ref, generation: 2 }] }, want: 'policy a is listed twice' },
    { given: null, want: 'the body is not an object' },
  ])('manifest shape: $want', ({ given, want }) => {
    expect(describeInvalidManifest(given)).toBe(want);
  });
});

describe('resolveManifest', () => {
  const manifestOf = (policies: BundledPolicy[]): DesiredState => {
    const api = new FakeDesiredStateApi();
    api.publish(policies);
    return api.manifest;
  };

  it('reuses every held body of an unchanged manifest: zero fetches, manifest order kept', async () => {
    const held = [bundled('c'), bundled('a'), bundled('b')];
    let fetches = 0;
    const r = await resolveManifest(manifestOf([bundled('a'), bundled('b'), bundled('c')]), {
      held,
      fetchPolicy: async () => {
        fetches += 1;
        throw new Error('no fetch expected');
      },
    });
    expect(fetches).toBe(0);
    expect(r).toMatchObject({ reused: 3, fetched: 0 });
    expect(r.bundle.policies.map((p) => p.name)).toEqual(['a', 'b', 'c']);
    expect(r.bundle.policies[0]).toBe(held[1]); // the held object itself
    expect(r.bundle).toMatchObject({ apiVersion: 'fleetnet.io/v2', kind: 'DesiredState', clusterId: 'c1', revision: 2 });
  });

  it('fetches only what it does not hold: a new generation, a new policy, a held body with other content', async () => {
    const api = new FakeDesiredStateApi();
    const held = [bundled('a'), bundled('b', 1), bundled('c', 1, '80')];
    // c keeps generation 1 but its held copy has other content (corrupt or foreign): refetched, not trusted
    const tamperedHeld = { ...held[2]!, spec: { ...held[2]!.spec, ingressDeny: [] } } as BundledPolicy;
    api.publish([bundled('a'), bundled('b', 2, '81'), bundled('c', 1, '80'), bundled('d')]);
    const client = clientOf(api);
    const r = await resolveManifest(api.manifest, { held: [held[0]!, held[1]!, tamperedHeld], fetchPolicy: (n, g) => client.getBundledPolicy(n, g) });
    expect(api.bodyFetches().sort()).toEqual(['b/2', 'c/1', 'd/1']);
    expect(r).toMatchObject({ reused: 1, fetched: 3 });
    expect(r.bundle.policies).toEqual([bundled('a'), bundled('b', 2, '81'), bundled('c', 1, '80'), bundled('d')]);
  });

  it.each([
    { what: 'other content (hash mismatch)', served: { ...bundled('a', 1, '80'), spec: bundled('a', 1, '443').spec }, want: /hashes to [0-9a-f]{64}, not the manifest's contentHash/ },
    { what: 'another name', served: bundled('z'), want: /is named "z"/ },
    { what: 'another generation', served: bundled('a', 2), want: /has generation 2/ },
    { what: 'another mode', served: bundled('a', 1, '80', 'audit'), want: /has mode "audit" where the manifest lists enforce/ },
  ])('rejects a fetched body with $what (PolicyContentMismatch) and returns nothing', async ({ served, want }) => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a'), bundled('b')]);
    api.tamper.set('a/1', served);
    const client = clientOf(api);
    const verified: string[] = [];
    const e = await rejection(resolveManifest(api.manifest, { held: [], fetchPolicy: (n, g) => client.getBundledPolicy(n, g), onVerified: (b) => verified.push(b.name) }));
    expect(e.code).toBe(SyncErrorCode.PolicyContentMismatch);
    expect(e.message).toMatch(want);
    expect(e.message).toContain('policy a generation 1');
    expect(verified).not.toContain('a');
  });

  it('a 404 for a body is PolicyGenerationGone (retryable: poll the manifest again)', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a')]);
    const stale = api.manifest;
    api.publish([bundled('a', 2)]);
    const client = clientOf(api);
    const e = await rejection(resolveManifest(stale, { held: [], fetchPolicy: (n, g) => client.getBundledPolicy(n, g) }));
    expect(e).toMatchObject({ status: 404, code: SyncErrorCode.PolicyGenerationGone });
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('policy a generation 1 is no longer');
  });

  it('fetches at most `concurrency` bodies at once (default 8) and all of them', async () => {
    const api = new FakeDesiredStateApi();
    api.publish(Array.from({ length: 30 }, (_, i) => bundled(`p${String(i).padStart(2, '0')}`)));
    api.bodyDelayMs = 5;
    const client = clientOf(api);
    const r = await resolveManifest(api.manifest, { held: [], fetchPolicy: (n, g) => client.getBundledPolicy(n, g) });
    expect(r.fetched).toBe(30);
    expect(api.maxInFlight).toBe(8);
    api.maxInFlight = 0;
    await resolveManifest(api.manifest, { held: [], fetchPolicy: (n, g) => client.getBundledPolicy(n, g), concurrency: 3 });
    expect(api.maxInFlight).toBe(3);
  });

  it('starts no fetch after the first failure and waits for those in flight', async () => {
    const started: string[] = [];
    let settled = 0;
    const e = await rejection(
      resolveManifest(manifestOf(['a', 'b', 'c', 'd', 'e'].map((n) => bundled(n))), {
        held: [],
        concurrency: 2,
        fetchPolicy: async (name) => {
          started.push(name);
          await new Promise((r) => setTimeout(r, name === 'a' ? 1 : 20));
          settled += 1;
          if (name === 'a') throw new ApiError('boom', 503);
          return bundled(name);
        },
      }),
    );
    expect(e.status).toBe(503);
    expect(started).toEqual(['a', 'b']);
    expect(settled).toBe(2); // b finished before the rejection
  });
});

describe('SyncLoop with manifests', () => {
  it('fetches every body once, then none while the manifest is unchanged (304), then only the changed one', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a'), bundled('b'), bundled('c')]);
    const { loop, programmed } = makeLoop(api, await stateDir());
    expect(await loop.pollOnce()).toBe('updated');
    expect(api.bodyFetches().sort()).toEqual(['a/1', 'b/1', 'c/1']);
    expect(programmed.at(-1)!.policies).toEqual([bundled('a'), bundled('b'), bundled('c')]);

    const mark = api.requests.length;
    expect(await loop.pollOnce()).toBe('unchanged');
    expect(api.bodyFetches(mark)).toEqual([]);
    expect(programmed).toHaveLength(1);

    api.publish([bundled('a'), bundled('b', 2, '8080'), bundled('c')]);
    const mark2 = api.requests.length;
    expect(await loop.pollOnce()).toBe('updated');
    expect(api.bodyFetches(mark2)).toEqual(['b/2']);
    expect(programmed.at(-1)!.policies).toEqual([bundled('a'), bundled('b', 2, '8080'), bundled('c')]);
    expect(loop.state.fetchedPolicies).toBe(4);
  });

  it('persists the resolved bundle with the manifest ETag; a restart enforces it with no fetch and polls 304', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a'), bundled('b')]);
    const dir = await stateDir();
    const first = makeLoop(api, dir);
    await first.loop.pollOnce();
    const stored = await loadBundle(dir);
    expect(stored).toMatchObject({ etag: api.etag, bundle: { apiVersion: 'fleetnet.io/v2', revision: api.revision, policies: [bundled('a'), bundled('b')] } });

    const mark = api.requests.length;
    const second = makeLoop(api, dir);
    expect(await second.loop.loadLastKnownGood()).toBe(true);
    expect(second.programmed).toEqual([stored!.bundle]);
    expect(api.requests.length).toBe(mark); // enforced without the API
    expect(await second.loop.pollOnce()).toBe('unchanged');
    expect(api.polls(mark)[0]!.headers['if-none-match']).toBe(api.etag);
    expect(api.bodyFetches(mark)).toEqual([]);

    // changed while the agent was down: only the new body is fetched after the restart
    api.publish([bundled('a'), bundled('b'), bundled('n')]);
    const third = makeLoop(api, dir);
    await third.loop.loadLastKnownGood();
    const mark3 = api.requests.length;
    await third.loop.pollOnce();
    expect(api.bodyFetches(mark3)).toEqual(['n/1']);
  });

  it('a body that does not match its hash is never enforced nor persisted: previous bundle kept, error log, Degraded; cleared once fixed', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a')]);
    const dir = await stateDir();
    const { loop, programmed, logs } = makeLoop(api, dir);
    await runUntil(loop, () => programmed.length === 1 && api.statuses.length >= 1);
    const goodEtag = api.etag;
    const goodRevision = api.revision;
    const before = await readFile(join(dir, BUNDLE_FILE), 'utf8');

    api.publish([bundled('a'), bundled('b')]);
    api.tamper.set('b/1', { ...bundled('b'), spec: { ...bundled('b').spec, ingress: [{ fromEntities: ['all'] }] } as BundledPolicy['spec'] });
    await runUntil(loop, () => degradedOf(api)?.reason === SyncErrorCode.PolicyContentMismatch && api.polls().length >= 4);
    expect(programmed).toHaveLength(1);
    expect(await readFile(join(dir, BUNDLE_FILE), 'utf8')).toBe(before);
    expect(loop.state.etag).toBe(goodEtag);
    expect(degradedOf(api)).toMatchObject({ status: 'True', reason: 'PolicyContentMismatch' });
    expect(degradedOf(api)!.message).toContain('policy b generation 1');
    expect(api.statuses.at(-1)).toMatchObject({ observedRevision: goodRevision, conditions: [{ type: 'Programmed', status: 'True' }, { type: 'Degraded' }] });
    const err = logs.find((l) => l.level === 'error' && l.fields?.code === SyncErrorCode.PolicyContentMismatch);
    expect(err?.message).toBe('API call failed; enforcing the current state, retrying');

    api.tamper.clear();
    await runUntil(loop, () => programmed.length === 2 && degradedOf(api)?.status === 'False');
    expect(programmed[1]!.policies.map((p) => p.name)).toEqual(['a', 'b']);
    expect(degradedOf(api)).toMatchObject({ status: 'False', reason: 'Enforced' });
  });

  it('a cluster not compiled yet (404 DesiredStatePending) is waited for: no re-registration, then the manifest is taken', async () => {
    const api = new FakeDesiredStateApi();
    api.format = 'pending';
    api.publish([bundled('a')]);
    const { loop, programmed } = makeLoop(api, await stateDir());
    await runUntil(loop, () => api.polls().length >= 2);
    expect(programmed).toEqual([]);
    expect(api.requests.filter((r) => r.method === 'PUT' && r.path === '/clusters/c1/nodes/n1')).toHaveLength(1); // registered once
    api.format = 'v2';
    await runUntil(loop, () => programmed.length === 1);
    expect(programmed[0]!.policies.map((p) => p.name)).toEqual(['a']);
    expect(api.requests.filter((r) => r.method === 'PUT' && r.path === '/clusters/c1/nodes/n1')).toHaveLength(1);
  });

  it('a 404 body fails the poll (previous bundle kept, node not re-registered); the next poll takes the newer manifest', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a'), bundled('b')]);
    const { loop, programmed } = makeLoop(api, await stateDir());
    await runUntil(loop, () => programmed.length === 1);

    // the manifest moves on between the poll and the body fetch: the poll lists b/2, whose body is gone
    // (b/3 replaced it) by the time it is fetched
    api.publish([bundled('a'), bundled('b', 2, '81')]);
    api.afterPoll = () => {
      api.afterPoll = undefined;
      api.publish([bundled('a'), bundled('b', 3, '82')]);
    };
    const mark = api.requests.length;
    await runUntil(loop, () => programmed.at(-1)!.policies.some((p) => p.generation === 3));
    const fetches = api.requests.slice(mark).filter((r) => r.path.includes('/desiredstate/policies/'));
    expect(fetches.map((r) => `${r.path.split('/').slice(-2).join('/')} ${r.status}`)).toEqual(['b/2 404', 'b/3 200']);
    expect(programmed.map((b) => b.policies.map((p) => `${p.name}/${p.generation}`))).toEqual([['a/1', 'b/1'], ['a/1', 'b/3']]);
    expect(api.requests.slice(mark).filter((r) => r.method === 'PUT' && r.path === '/clusters/c1/nodes/n1')).toEqual([]); // not re-registered
    expect(loop.state.etag).toBe(api.etag);
  });

  it.each([
    { what: 'a 200 in format v1 (older API)', format: 'v1' as const, status: 200, text: '"fleetnet.io/v1"' },
    { what: 'a 406 (API without v2)', format: '406' as const, status: 406, text: 'does not serve desired-state format fleetnet.io/v2' },
  ])('$what: error log, Degraded UnsupportedDesiredStateFormat, previous bundle enforced, polling continues with backoff', async ({ format, status, text }) => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a')]);
    const dir = await stateDir();
    const { loop, programmed, logs } = makeLoop(api, dir);
    await runUntil(loop, () => programmed.length === 1 && api.statuses.length >= 1);
    const goodRevision = api.revision;

    api.format = format;
    api.publish([bundled('a'), bundled('b')]);
    const mark = api.requests.length;
    const statusesBefore = api.statuses.length;
    await runUntil(loop, () => api.polls(mark).length >= 4 && degradedOf(api)?.reason === 'UnsupportedDesiredStateFormat');
    expect(api.polls(mark).every((r) => r.status === status)).toBe(true);
    expect(api.bodyFetches(mark)).toEqual([]);
    expect(programmed).toHaveLength(1);
    expect(loop.state.failures).toBeGreaterThanOrEqual(4);
    const errors = logs.filter((l) => l.level === 'error' && l.fields?.code === 'UnsupportedDesiredStateFormat');
    expect(errors.length).toBeGreaterThanOrEqual(4);
    expect(String(errors[0]!.fields!.error)).toContain(text);
    const d = degradedOf(api)!;
    expect(d).toMatchObject({ status: 'True', reason: 'UnsupportedDesiredStateFormat' });
    expect(d.message).toContain(text);
    expect(d.message).toContain('fleetnet.io/v2');
    expect(api.statuses.at(-1)).toMatchObject({ observedRevision: goodRevision, conditions: [{ type: 'Programmed', status: 'True', reason: 'Applied' }, { type: 'Degraded' }] });
    expect((await loadBundle(dir))?.bundle.revision).toBe(goodRevision);
    expect(api.statuses.length - statusesBefore).toBe(1); // reported once, not once per failed poll

    api.format = 'v2';
    await runUntil(loop, () => programmed.length === 2 && degradedOf(api)?.status === 'False');
    expect(programmed[1]!.policies.map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('reports Degraded even with nothing programmed yet (fresh node, API of another release)', async () => {
    const api = new FakeDesiredStateApi();
    api.format = '406';
    const { loop, programmed } = makeLoop(api, await stateDir());
    await runUntil(loop, () => api.statuses.length >= 1);
    expect(programmed).toEqual([]);
    expect(api.statuses[0]).toEqual({
      conditions: [
        expect.objectContaining({ type: 'Programmed', status: 'False', reason: 'NoDesiredState' }),
        expect.objectContaining({ type: 'Degraded', status: 'True', reason: 'UnsupportedDesiredStateFormat' }),
      ],
    });
  });

  it('a last-known-good file of format v1 is loaded without its ETag; its bodies are reused when the manifest names them', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a'), bundled('b', 2)]);
    const dir = await stateDir();
    const v1 = { apiVersion: 'fleetnet.io/v1', kind: 'DesiredState', clusterId: 'c1', revision: 7, policies: [bundled('a'), bundled('b', 1)], encryption: api.manifest.encryption };
    await writeFile(join(dir, BUNDLE_FILE), JSON.stringify({ etag: '"v1-etag"', bundle: v1, savedAt: '2026-01-01T00:00:00.000Z' }));
    const { loop, programmed, logs } = makeLoop(api, dir);
    expect(await loop.loadLastKnownGood()).toBe(true);
    expect(programmed[0]).toMatchObject({ apiVersion: 'fleetnet.io/v2', revision: 7, policies: [bundled('a'), bundled('b', 1)] });
    expect(logs.find((l) => l.level === 'warn')?.fields).toMatchObject({ format: 'fleetnet.io/v1' });
    expect(loop.state.etag).toBeUndefined();
    await loop.pollOnce();
    expect(api.polls()[0]!.headers['if-none-match']).toBeUndefined();
    expect(api.bodyFetches()).toEqual(['b/2']);
    expect(await loadBundle(dir)).toMatchObject({ etag: api.etag, bundle: { apiVersion: 'fleetnet.io/v2' } });
  });

  it.each([
    { what: 'an unknown format', bundle: { apiVersion: 'fleetnet.io/v3', revision: 1, policies: [] }, error: /format "fleetnet.io\/v3", which this agent does not know/ },
    { what: 'a manifest (references without bodies)', bundle: { apiVersion: 'fleetnet.io/v2', revision: 1, policies: [{ name: 'a', generation: 1, mode: 'enforce', contentHash: 'a'.repeat(64) }] }, error: /not a resolved bundle/ },
  ])('a last-known-good file holding $what is ignored with a warning', async ({ bundle, error }) => {
    const dir = await stateDir();
    await writeFile(join(dir, BUNDLE_FILE), JSON.stringify({ etag: '"x"', bundle, savedAt: '2026-01-01T00:00:00.000Z' }));
    await expect(loadBundle(dir)).rejects.toThrow(error);
    const { loop, programmed, logs } = makeLoop(new FakeDesiredStateApi(), dir);
    expect(await loop.loadLastKnownGood()).toBe(false);
    expect(programmed).toEqual([]);
    expect(String(logs.find((l) => l.level === 'warn')?.fields?.error)).toMatch(error);
  });
});
