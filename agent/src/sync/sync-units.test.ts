import { mkdtemp, rm, utimes, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from './backoff.js';
import { loadBundle, saveBundle, writeFileAtomic } from './bundle-store.js';
import { buildNodeStatus } from './node-status.js';
import { fileTokenProvider, workloadIdentityTokenProvider } from './token-provider.js';

describe('backoffDelay (full jitter, Retry-After floor)', () => {
  const policy = { baseMs: 100, maxMs: 1000 };
  it.each([
    { attempt: 0, random: 0.5, retryAfter: undefined, want: 50 },
    { attempt: 1, random: 0.5, retryAfter: undefined, want: 100 },
    { attempt: 3, random: 0.999, retryAfter: undefined, want: 799 },
    { attempt: 10, random: 0.5, retryAfter: undefined, want: 500 }, // capped at maxMs
    { attempt: 40, random: 0.5, retryAfter: undefined, want: 500 },
    { attempt: 0, random: 0, retryAfter: undefined, want: 0 },
    { attempt: 0, random: 0.5, retryAfter: 3000, want: 3000 }, // server asks for longer
    { attempt: 5, random: 0.9, retryAfter: 10, want: 900 }, // server's floor below the jitter
  ])('attempt $attempt random $random retryAfter $retryAfter → $want', ({ attempt, random, retryAfter, want }) => {
    expect(backoffDelay(attempt, policy, () => random, retryAfter)).toBe(want);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    { v: '5', want: 5000 },
    { v: ' 0 ', want: 0 },
    { v: 'Thu, 01 Jan 2026 00:00:10 GMT', want: 10_000 },
    { v: 'Wed, 31 Dec 2025 23:59:00 GMT', want: 0 }, // in the past
    { v: 'soon', want: undefined },
    { v: '-1', want: undefined },
    { v: null, want: undefined },
  ])('$v → $want', ({ v, want }) => expect(parseRetryAfter(v, now)).toBe(want));
});

describe('buildNodeStatus', () => {
  const t1 = new Date('2026-01-01T00:00:00Z');
  const t2 = new Date('2026-01-01T00:01:00Z');
  it('Programmed True + Degraded False', () => {
    const s = buildNodeStatus({ revision: 4, programmed: true, degraded: [] }, 4, [], t1);
    expect(s).toEqual({
      observedRevision: 4,
      conditions: [
        { type: 'Programmed', status: 'True', reason: 'Applied', message: 'revision 4 is enforced', lastTransitionTime: t1.toISOString() },
        { type: 'Degraded', status: 'False', reason: 'Enforced', message: 'every rule is enforced by the datapath', lastTransitionTime: t1.toISOString() },
      ],
    });
  });
  it('failure keeps the previously observed revision; Degraded names every rule; transition times move only on change', () => {
    const first = buildNodeStatus({ revision: 4, programmed: true, degraded: [] }, 4, [], t1);
    const s = buildNodeStatus(
      { revision: 5, programmed: false, reason: 'CompileFailed', message: 'boom', degraded: [{ policy: 'p1', pointer: '/egress/0/toFQDNs', reason: 'FQDN' }, { policy: 'p2', pointer: '/ingress/1/toPorts/0/rules/http', reason: 'L7' }] },
      4,
      first.conditions,
      t2,
    );
    expect(s.observedRevision).toBe(4);
    expect(s.conditions![0]).toMatchObject({ status: 'False', reason: 'CompileFailed', message: 'boom', lastTransitionTime: t2.toISOString() });
    expect(s.conditions![1]).toMatchObject({ status: 'True', reason: 'UnsupportedRules', lastTransitionTime: t2.toISOString() });
    expect(s.conditions![1]!.message).toContain('policy p1 /egress/0/toFQDNs: FQDN');
    expect(s.conditions![1]!.message).toContain('policy p2 /ingress/1/toPorts/0/rules/http: L7');
    const same = buildNodeStatus({ revision: 4, programmed: true, degraded: [] }, 4, first.conditions, t2);
    expect(same.conditions!.map((c) => c.lastTransitionTime)).toEqual([t1.toISOString(), t1.toISOString()]);
  });
  it('caps the Degraded message at the schema limit', () => {
    const degraded = Array.from({ length: 500 }, (_, i) => ({ policy: `policy-${i}`, pointer: '/egress/0/toFQDNs', reason: 'FQDN rules are not enforced yet' }));
    const s = buildNodeStatus({ revision: 1, programmed: true, degraded }, 1);
    expect(s.conditions![1]!.message!.length).toBeLessThanOrEqual(4096);
  });
});

describe('bundle store', () => {
  it('round-trips, replaces atomically, leaves no temp files, ignores a stray temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetnet-bundle-'));
    try {
      expect(await loadBundle(dir)).toBeUndefined();
      const bundle = { apiVersion: 'fleetnet.io/v2', kind: 'DesiredState', clusterId: 'c', revision: 3, policies: [], encryption: {} } as never;
      await saveBundle(dir, '"e1"', bundle);
      await writeFile(join(dir, 'desired-state.json.tmp-1-x'), '{"torn'); // a crash mid-write of a later save
      expect((await loadBundle(dir))?.etag).toBe('"e1"');
      await saveBundle(dir, '"e2"', { ...(bundle as object), revision: 4 } as never);
      expect(await loadBundle(dir)).toMatchObject({ etag: '"e2"', bundle: { revision: 4 } });
      await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(join(dir, 'x.json'), JSON.stringify({ i, pad: 'y'.repeat(10_000) }))));
      expect(JSON.parse(await (await import('node:fs/promises')).readFile(join(dir, 'x.json'), 'utf8')).pad).toHaveLength(10_000);
      expect((await readdir(dir)).filter((f) => f.includes('.tmp-') && !f.startsWith('desired-state.json.tmp-1'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('token providers', () => {
  it('file provider re-reads the file when it changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetnet-token-'));
    try {
      const f = join(dir, 'token');
      await writeFile(f, 'aaa\n');
      const p = fileTokenProvider(f);
      expect(await p()).toBe('aaa');
      await writeFile(f, 'bbbb\n');
      await utimes(f, new Date(), new Date(Date.now() + 5000));
      expect(await p()).toBe('bbbb');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('workload identity provider asks the credential for the scope and caches until the margin', async () => {
    let now = 1_000_000;
    const scopes: unknown[] = [];
    const p = workloadIdentityTokenProvider({
      scope: 'api://fleetnet/.default',
      now: () => now,
      refreshMarginMs: 1000,
      credential: { getToken: async (s) => (scopes.push(s), { token: `t${scopes.length}`, expiresOnTimestamp: now + 5000 }) },
    });
    expect(await p()).toBe('t1');
    now += 3000;
    expect(await p()).toBe('t1');
    now += 1500;
    expect(await p()).toBe('t2');
    expect(scopes).toEqual(['api://fleetnet/.default', 'api://fleetnet/.default']);
  });
});
