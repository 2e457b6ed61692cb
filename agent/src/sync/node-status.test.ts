/**
 * Node.status.encryption: buildNodeStatus carries the evidence as given, and the SyncLoop puts the
 * latest evidence in every status it reports, reporting again when statusChanged() says it changed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeEncryptionEvidence } from '../../../openapi/types.js';
import { createApiClient } from './api-client.js';
import { bundled, FAKE_BASE_URL, FakeDesiredStateApi } from './fake-desired-state-api.js';
import { buildNodeStatus } from './node-status.js';
import { SyncLoop } from './sync-loop.js';

const NONE: NodeEncryptionEvidence = { observedAt: '2026-11-30T20:00:00.000Z', source: 'ip -j -d link show type wireguard', wireguardInterfaces: [] };
const ONE: NodeEncryptionEvidence = {
  observedAt: '2026-11-30T20:01:00.000Z',
  source: 'ip -j -d link show type wireguard; wg show all dump',
  wireguardInterfaces: [{ name: 'cilium_wg0', up: true, listenPort: 51871, peers: 2, peersWithHandshake: 2 }],
};

describe('buildNodeStatus: encryption', () => {
  const t = new Date('2026-11-30T20:00:00Z');
  it.each([
    ['absent when not read yet', undefined, undefined],
    ['no tunnel', NONE, NONE],
    ['a tunnel', ONE, ONE],
  ])('%s', (_name, given, want) => {
    const s = buildNodeStatus({ revision: 3, programmed: true, degraded: [] }, 3, [], t, undefined, given);
    expect(s.encryption).toEqual(want);
    expect('encryption' in s).toBe(want !== undefined);
    expect(s.conditions?.map((c) => c.type)).toEqual(['Programmed', 'Degraded']);
  });
});

describe('SyncLoop: encryption evidence in every status', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('reports the latest evidence, and reports again when it changes', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a')]);
    const dir = await mkdtemp(join(tmpdir(), 'fleetnet-evidence-'));
    dirs.push(dir);
    let evidence: NodeEncryptionEvidence = NONE;
    const loop = evidenceLoop(api, dir, api.fetch, () => evidence);
    const ac = new AbortController();
    const running = loop.run(ac.signal);
    try {
      await until(() => api.statuses.length >= 1);
      expect(api.statuses[0]!.encryption).toEqual(NONE);
      evidence = ONE;
      loop.statusChanged(); // wakes the loop although the poll interval is a minute
      await until(() => api.statuses.length >= 2);
      expect(api.statuses.at(-1)!.encryption).toEqual(ONE);
    } finally {
      ac.abort();
      await running;
    }
  });
});

describe('SyncLoop: a change while a status is being reported', () => {
  it('is reported right after, not absorbed by the report in flight (the poll interval is a minute)', async () => {
    const api = new FakeDesiredStateApi();
    api.publish([bundled('a')]);
    const dir = await mkdtemp(join(tmpdir(), 'fleetnet-evidence-'));
    let evidence: NodeEncryptionEvidence = NONE;
    let loop: SyncLoop | undefined;
    let changedInFlight = false;
    // the first status PUT: the evidence changes (and statusChanged() is called) while it is on the wire
    const fetchDuringReport = async (request: Request): Promise<Response> => {
      if (!changedInFlight && request.method === 'PUT' && new URL(request.url).pathname.endsWith('/status')) {
        changedInFlight = true;
        evidence = ONE;
        loop!.statusChanged();
      }
      return api.fetch(request);
    };
    loop = evidenceLoop(api, dir, fetchDuringReport, () => evidence);
    const ac = new AbortController();
    const running = loop.run(ac.signal);
    try {
      await until(() => api.statuses.length >= 2).catch((e) => {
        throw new Error(`${String(e)}: ${JSON.stringify(api.statuses.map((st) => st.encryption?.wireguardInterfaces.length))} changedInFlight=${changedInFlight}`);
      });
      expect(api.statuses[0]!.encryption).toEqual(NONE);
      expect(api.statuses[1]!.encryption).toEqual(ONE);
    } finally {
      ac.abort();
      await running;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A SyncLoop against the fake API whose poll interval is a minute: only statusChanged() makes it report early. */
function evidenceLoop(api: FakeDesiredStateApi, stateDir: string, fetch: (request: Request) => Promise<Response>, evidence: () => NodeEncryptionEvidence): SyncLoop {
  return new SyncLoop({
    client: createApiClient({ baseUrl: FAKE_BASE_URL, clusterId: api.clusterId, nodeName: api.nodeName, token: async () => 'tok', fetch }),
    stateDir,
    nodeSpec: { agentVersion: 'test' },
    pollIntervalMs: 60_000,
    backoff: { baseMs: 5, maxMs: 20 },
    program: async (bundle) => ({ revision: bundle.revision, programmed: true, degraded: [] }),
    encryptionEvidence: evidence,
  });
}

async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
