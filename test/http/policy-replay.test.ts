/**
 * Policy replay (POST /policyreplays, GET /policyreplays/{operationId}) through the real route table and the
 * embedded store: policies and clusters written through the API, 100,000 generated summaries over three
 * clusters ingested through the agents' endpoint (batches of 5,000) with a batch-sequence gap on one node;
 * the predicted changes checked against a computation here that knows the generator's policy (not core's
 * evaluator). And `fleetnet policy apply --replay` / `--replay-only` against the same API.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowEndpoint, FlowSummary, PolicyReplayOperation } from '../../openapi/types.js';
import { runCli } from '../../cli/run-cli.js';
import type { CliIo } from '../../cli/program.js';
import { DocumentCollection } from '../../functions/src/store/document-collection.js';
import { OPERATION_TTL_SECONDS } from '../../functions/src/store/cosmos-layout.js';
import { createContractClient, type ApiResponse } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody } from '../helpers/fixtures.js';
import { batch, createRandom } from '../helpers/flow-fixtures.js';

const CLUSTERS = ['c-rp-1', 'c-rp-2', 'c-rp-3'];
const NODES = ['n-a', 'n-b'];
const GAP = { cluster: 'c-rp-2', node: 'n-b', sequence: 1 };
const TOTAL = 100_000;
const BATCH = 5_000;
const SOURCES = ['api', 'batch', 'web', 'worker'];
const DESTINATIONS = ['db', 'cache'];
const PORTS = [5432, 6379, 80];

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let dir: string;
const sent: Array<{ cluster: string; node: string; s: FlowSummary }> = [];

const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'fleetnet.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name },
  spec: { targets: { clusterSelector: { matchLabels: { env: 'replay' } } }, namespace: 'shop', ...spec },
});
const tcp = (port: string) => [{ ports: [{ port, protocol: 'TCP' }] }];
const dbIngress = (from: string[]) => policy('db-ingress', { endpointSelector: { matchLabels: { app: 'db' } }, ingress: from.map((app) => ({ fromEndpoints: [{ matchLabels: { app } }], toPorts: tcp('5432') })) });
/** Stored: db accepts api and batch on 5432 (everything else to db is default-denied). */
const DB_INGRESS = dbIngress(['api', 'batch']);
/** The candidate: batch no longer. */
const DB_INGRESS_NARROWED = dbIngress(['api']);

/** What the stored policy decides at db's ingress hook: the generator's ground truth. */
const allowedToDb = (source: string, port: number) => (source === 'api' || source === 'batch') && port === 5432;

function endpointOf(app: string, cluster: string, random: () => number): FlowEndpoint {
  const pod = Math.floor(random() * 3);
  return {
    identity: 30_000 + SOURCES.concat(DESTINATIONS).indexOf(app),
    namespace: 'shop',
    pod_name: `${app}-${pod}`,
    labels: [`k8s:app=${app}`, 'k8s:io.kubernetes.pod.namespace=shop', `k8s:io.cilium.k8s.policy.cluster=${cluster}`],
    workloads: [{ name: app, kind: 'Deployment' }],
  };
}

/**
 * Summaries as agents record them: ingress at the destination's hook (db decided by DB_INGRESS, cache
 * unselected); egress at the source's (web-egress, in audit, lets web reach cache only: AUDIT otherwise).
 */
function generate(cluster: string, count: number, random: () => number): FlowSummary[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, () => {
    const source = pick(SOURCES);
    const destination = pick(DESTINATIONS);
    const port = pick(PORTS);
    const direction = random() < 0.7 ? 'INGRESS' : 'EGRESS';
    const allowed = direction === 'EGRESS' || destination !== 'db' || allowedToDb(source, port);
    const audited = direction === 'EGRESS' && source === 'web' && destination !== 'cache';
    return {
      source: endpointOf(source, cluster, random),
      destination: endpointOf(destination, cluster, random),
      l4: { protocol: 'TCP', destination_port: port },
      traffic_direction: direction,
      verdict: audited ? 'AUDIT' : allowed ? 'FORWARDED' : 'DROPPED',
      ...(allowed && !audited ? {} : { drop_reason_desc: 'POLICY_DENIED' }),
      packets: 1 + Math.floor(random() * 100),
      bytes: Math.floor(random() * 10_000),
      flows: 1 + Math.floor(random() * 3),
    } as FlowSummary;
  });
}

async function pollUntilDone(location: string): Promise<PolicyReplayOperation> {
  const path = new URL(location).pathname.replace(/^\/api/, '');
  for (let i = 0; i < 240; i++) {
    const r = await client.call('GET', path, { token: api.tokens.reader });
    expect(r.status).toBe(200);
    if (r.body.status === 'Succeeded' || r.body.status === 'Failed') return r.body as PolicyReplayOperation;
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('replay did not finish');
}

const start = (body: unknown, token: string | null = api.tokens.reader): Promise<ApiResponse> => client.call('POST', '/policyreplays', { ...(token ? { token } : {}), body });
const operationCount = async () => (await api.cosmos.containers.operations.items.query('SELECT VALUE COUNT(1) FROM c').fetchAll()).resources[0] as number;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  dir = await mkdtemp(join(tmpdir(), 'fleetnet-replay-'));
  const admin = api.tokens.admin;
  const put = async (path: string, body: unknown, token = admin) => expect((await client.call('PUT', path, { token, body })).status).toBeLessThan(300);
  for (const c of CLUSTERS) await put(`/clusters/${c}`, clusterBody(c, { env: 'replay' }, [`agent-${c}`]));
  await put('/networkpolicies/db-ingress', DB_INGRESS);
  await put('/networkpolicies/web-egress', policy('web-egress', { mode: 'audit', endpointSelector: { matchLabels: { app: 'web' } }, egress: [{ toEndpoints: [{ matchLabels: { app: 'cache' } }] }] }));
  const tokens = new Map(await Promise.all(CLUSTERS.map(async (c) => [c, await api.agentToken(`agent-${c}`)] as const)));
  const random = createRandom(13);
  const sequences = new Map<string, number>();
  const now = Date.now();
  for (let i = 0; i < TOTAL / BATCH; i++) {
    const cluster = CLUSTERS[i % 3]!;
    const node = NODES[Math.floor(i / 3) % 2]!;
    const key = `${cluster}/${node}`;
    let sequence = sequences.get(key) ?? 0;
    if (cluster === GAP.cluster && node === GAP.node && sequence === GAP.sequence) sequence++; // batch 1 never arrives
    sequences.set(key, sequence + 1);
    const summaries = generate(cluster, BATCH, random);
    const r = await client.call('POST', `/clusters/${cluster}/nodes/${node}/flows`, { token: tokens.get(cluster)!, body: batch(summaries, sequence, new Date(now - (30 - i) * 60_000).toISOString()) });
    expect(r.status).toBe(200);
    sent.push(...summaries.map((s) => ({ cluster, node, s })));
  }
  await api.services.desiredState.settled();
}, 120_000);
afterAll(async () => {
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('startPolicyReplay / getPolicyReplay', () => {
  let operation: PolicyReplayOperation;

  it('a narrowed policy over 100,000 summaries: 202 + Operation-Location, then Succeeded with the changes computed here', async () => {
    const r = await start({ policies: [DB_INGRESS_NARROWED], since: '2h' });
    expect(r.status).toBe(202);
    expect(r.headers.get('retry-after')).toBe('1');
    const location = r.headers.get('operation-location')!;
    expect(location).toBe(`${api.baseUrl}/policyreplays/${r.body.id}`);
    expect(r.body).toMatchObject({ status: 'NotStarted', request: { policies: ['db-ingress'], remove: [], modes: [] } });
    operation = await pollUntilDone(location);
    expect(operation.error).toBeUndefined();
    expect(operation.status).toBe('Succeeded');
    const result = operation.result!;
    expect(result.clusters).toEqual(CLUSTERS);

    // Independent: ingress summaries batch → db on TCP/5432 were allowed (rule /ingress/1) and the candidate has no rule for batch.
    const dropped = sent.filter(({ s }) => s.traffic_direction === 'INGRESS' && s.destination.workloads![0]!.name === 'db' && s.source.workloads![0]!.name === 'batch' && s.l4.destination_port === 5432);
    const sum = (key: 'packets' | 'bytes' | 'flows') => dropped.reduce((n, { s }) => n + s[key], 0);
    expect(result.changes).toHaveLength(1);
    const [change] = result.changes;
    expect(change).toMatchObject({
      change: 'allowed-to-dropped',
      direction: 'ingress',
      subject: 'shop/db',
      peer: 'shop/batch',
      clusters: [...new Set(dropped.map((d) => d.cluster))].sort(),
      ports: ['TCP/5432'],
      candidate: { verdict: 'dropped', decidedBy: 'default-deny' },
      current: { verdict: 'forwarded', decidedBy: 'rule', rule: { policy: 'db-ingress', generation: 1, pointer: '/ingress/1', verdict: 'allow', mode: 'enforce' } },
      sums: { summaries: dropped.length, packets: sum('packets'), bytes: sum('bytes'), flows: sum('flows') },
    });
    expect(change!.examples.length).toBeGreaterThan(0);
    for (const e of change!.examples) expect(e.flow).toMatchObject({ traffic_direction: 'INGRESS', l4: { destination_port: 5432 }, source: { pod_name: expect.stringMatching(/^batch-/) } });
    expect(result.totals.allowedToDropped.summaries).toBe(dropped.length);
    expect(result.totals.droppedToAllowed.summaries).toBe(0);
    expect(result.totals.judged.summaries).toBe(sent.length);
    expect(result.unjudged).toEqual([]);
    expect(result.disagreements.sums.summaries).toBe(0);
    expect(result.truncated).toEqual({ truncated: false, groupsLeftOut: 0 });

    // completeness names the gap
    expect(result.completeness.complete).toBe(false);
    expect(result.completeness.statements).toContain(`cluster ${GAP.cluster} node ${GAP.node}: batch ${GAP.sequence} never arrived: their flows are not in this answer`);
    expect(result.coverage.complete).toBe(false);
  }, 60_000);

  it('the stored operation carries its ttl (the emulator ignores TTL)', async () => {
    const { resource } = await api.cosmos.containers.operations.item(operation.id, operation.id).read();
    expect(resource.ttl).toBe(OPERATION_TTL_SECONDS);
    expect(OPERATION_TTL_SECONDS).toBe(7 * 86_400);
  });

  it('audit → enforce: exactly the AUDIT summaries the agents recorded would be dropped', async () => {
    const r = await start({ modes: [{ name: 'web-egress', mode: 'enforce' }], since: '2h' });
    expect(r.status).toBe(202);
    const done = await pollUntilDone(r.headers.get('operation-location')!);
    expect(done.status).toBe('Succeeded');
    const audited = sent.filter(({ s }) => s.verdict === 'AUDIT');
    expect(audited.length).toBeGreaterThan(0);
    expect(done.result!.changes).toEqual([
      expect.objectContaining({
        change: 'allowed-to-dropped',
        direction: 'egress',
        subject: 'shop/web',
        peer: 'shop/db',
        ports: ['TCP/5432', 'TCP/6379', 'TCP/80'],
        candidate: { verdict: 'dropped', decidedBy: 'default-deny' },
        current: { verdict: 'audit', decidedBy: 'default-deny' },
        sums: expect.objectContaining({ summaries: audited.length, packets: audited.reduce((n, { s }) => n + s.packets, 0) }),
      }),
    ]);
    expect(done.result!.disagreements.sums.summaries).toBe(0);
    expect(done.result!.totals.auditedToDropped).toMatchObject({ summaries: audited.length, packets: audited.reduce((n, { s }) => n + s.packets, 0) });
    expect(done.request.modes).toEqual([{ name: 'web-egress', mode: 'enforce' }]);
  }, 60_000);

  it.each<[string, unknown, Array<{ pointer: string; rule?: string }>]>([
    ['no change', { since: '1h' }, [{ pointer: '', rule: 'minChanges' }]],
    ['a name in two lists', { remove: ['db-ingress'], modes: [{ name: 'db-ingress', mode: 'audit' }] }, [{ pointer: '/modes/0/name', rule: 'uniqueName' }]],
    ['an unknown name in remove', { remove: ['nope'] }, [{ pointer: '/remove/0', rule: 'exists' }]],
    ['an unknown name in modes', { modes: [{ name: 'nope', mode: 'enforce' }] }, [{ pointer: '/modes/0/name', rule: 'exists' }]],
    ['a bad window', { remove: ['db-ingress'], since: 'yesterday' }, [{ pointer: '/since', rule: 'flow-time' }]],
  ])('%s → 400 with pointers, nothing stored', async (_name, body, errors) => {
    const before = await operationCount();
    const r = await start(body);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('ValidationFailed');
    expect(r.body.errors).toEqual(errors.map((e) => expect.objectContaining(e)));
    expect(await operationCount()).toBe(before);
  });

  it('an invalid spec → 400 pointing into /policies/<i>/spec, as the policy PUT validates it', async () => {
    const bad = policy('bad', { endpointSelector: { matchLabels: { app: 'db' } }, ingress: [{ fromCIDRSet: [{ cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] }] }] });
    const put = await client.call('PUT', '/networkpolicies/bad?dryRun=true', { token: api.tokens.admin, body: bad });
    expect(put.status).toBe(400);
    const r = await start({ policies: [DB_INGRESS_NARROWED, bad] });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(put.body.errors.map((e: { pointer: string }) => e.pointer.replace(/^\/spec/, '/policies/1/spec')));
  });

  it('401 without a token; 404 for an unknown operation; 400 for a malformed id', async () => {
    expect((await start({ remove: ['db-ingress'] }, null)).status).toBe(401);
    expect((await client.call('GET', `/policyreplays/${operation.id}`)).status).toBe(401);
    const missing = await client.call('GET', '/policyreplays/00000000-0000-4000-8000-000000000000', { token: api.tokens.reader });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('NotFound');
    expect((await client.call('GET', '/policyreplays/NOT_AN_ID', { token: api.tokens.reader })).status).toBe(400);
  });

  it('a Running operation whose heartbeat is older than 60 s reads as Failed (OperationInterrupted); a fresh one as Running', async () => {
    const operations = new DocumentCollection<PolicyReplayOperation>(api.cosmos.containers.operations, 'id');
    const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
    const write = async (id: string, lastUpdatedAt: string) =>
      operations.create(id, id, { id, status: 'Running', createdAt: at(600_000), lastUpdatedAt, request: { policies: ['db-ingress'], remove: [], modes: [], since: at(3_600_000), until: at(0) } }, { ttl: OPERATION_TTL_SECONDS });
    await write('0000aaaa-0000-4000-8000-000000000001', at(61_000));
    await write('0000aaaa-0000-4000-8000-000000000002', at(1_000));
    const stale = await client.call('GET', '/policyreplays/0000aaaa-0000-4000-8000-000000000001', { token: api.tokens.reader });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('retry-after')).toBeNull();
    expect(stale.body).toMatchObject({ status: 'Failed', error: { code: 'OperationInterrupted', status: 500 } });
    expect(stale.body.error.detail).toMatch(/instance running this replay stopped/);
    const fresh = await client.call('GET', '/policyreplays/0000aaaa-0000-4000-8000-000000000002', { token: api.tokens.reader });
    expect(fresh.body.status).toBe('Running');
    expect(fresh.headers.get('retry-after')).toBe('1');
  });
});

describe('fleetnet policy apply --replay', () => {
  const io = (extra: Partial<CliIo> = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), env: { FLEETNET_API_URL: api.baseUrl, FLEETNET_TOKEN: api.tokens.admin }, ...extra } satisfies CliIo };
  };
  const file = async (name: string, docs: unknown[]) => {
    const path = join(dir, name);
    await writeFile(path, docs.map((d) => JSON.stringify(d)).join('\n---\n'));
    return path;
  };
  const storedGeneration = async (name: string) => (await client.call('GET', `/networkpolicies/${name}`, { token: api.tokens.reader })).body.metadata.generation as number;

  it('--replay-only: exit 8 when something allowed would be dropped, the diff first', async () => {
    const run = io();
    const code = await runCli(['policy', 'apply', '-f', await file('narrow.yaml', [DB_INGRESS_NARROWED]), '--replay', '2h', '--replay-only'], run.io);
    const text = run.out.join('');
    expect(code, run.err.join('')).toBe(8);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^Allowed now, dropped after the change: \d+ flows, \d+ packets/);
    expect(lines[1]).toMatch(/^ {2}shop\/batch → shop\/db {2}TCP\/5432 {2}\d+ flows, \d+ packets {2}\S+…\S+ {2}by default deny \(ingress at shop\/db; clusters c-rp-1, c-rp-2, c-rp-3\)$/);
    expect(text).toMatch(/Dropped now, allowed after the change: none/);
    expect(text).toContain(`cluster ${GAP.cluster} node ${GAP.node}: batch ${GAP.sequence} never arrived`);
    expect(run.err.join('')).toMatch(/would be dropped/);
    expect(await storedGeneration('db-ingress')).toBe(1);
  }, 60_000);

  it('--replay-only: exit 0 when nothing allowed would be dropped (a widened policy)', async () => {
    const run = io();
    const code = await runCli(['policy', 'apply', '-f', await file('widen.yaml', [dbIngress(['api', 'batch', 'web'])]), '--replay', '2h', '--replay-only'], run.io);
    expect(code, run.err.join('')).toBe(0);
    expect(run.out.join('')).toMatch(/^Allowed now, dropped after the change: none\nDropped now, allowed after the change: \d+ flows/);
    expect(await storedGeneration('db-ingress')).toBe(1);
  }, 60_000);

  it('--json prints the operation result', async () => {
    const run = io();
    const code = await runCli(['policy', 'apply', '-f', await file('narrow.json', [DB_INGRESS_NARROWED]), '--replay', '2h', '--replay-only', '--json'], run.io);
    expect(code).toBe(8);
    const result = JSON.parse(run.out.join(''));
    expect(result.changes[0]).toMatchObject({ change: 'allowed-to-dropped', subject: 'shop/db', peer: 'shop/batch' });
  }, 60_000);

  it('without a terminal and without --yes: not applied, exit 1', async () => {
    const run = io({ stdinTty: false });
    const code = await runCli(['policy', 'apply', '-f', await file('narrow2.yaml', [DB_INGRESS_NARROWED]), '--replay', '2h'], run.io);
    expect(code).toBe(1);
    expect(run.err.join('')).toMatch(/not applied/);
    expect(await storedGeneration('db-ingress')).toBe(1);
  }, 60_000);

  it('on a terminal, answered no: not applied', async () => {
    const questions: string[] = [];
    const run = io({ stdinTty: true, confirm: async (q) => (questions.push(q), false) });
    const code = await runCli(['policy', 'apply', '-f', await file('narrow3.yaml', [DB_INGRESS_NARROWED]), '--replay', '2h'], run.io);
    expect(code).toBe(0);
    expect(questions).toEqual(['Apply? [y/N] ']);
    expect(await storedGeneration('db-ingress')).toBe(1);
  }, 60_000);

  it('--yes applies after the diff', async () => {
    const run = io();
    const code = await runCli(['policy', 'apply', '-f', await file('narrow4.yaml', [DB_INGRESS_NARROWED]), '--replay', '2h', '--yes'], run.io);
    expect(code, run.err.join('')).toBe(0);
    expect(run.out.join('')).toMatch(/Allowed now, dropped after the change[\s\S]*networkpolicy\/db-ingress applied \(generation 2\)/);
    expect(await storedGeneration('db-ingress')).toBe(2);
  }, 60_000);
});
