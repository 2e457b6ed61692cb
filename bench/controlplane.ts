/**
 * `npm run bench:controlplane` — a benchmark, not a test (issue 9 item 6). In one run, on the embedded
 * Cosmos server:
 * 1. Fleet scale: two fleets with the same 2,000 background policies, one of 1,000 clusters and one of 10,
 *    each served by its own API process. A fleet-wide policy (no targets) is rewritten again and again,
 *    alternating between the fleets (and which goes first): PUT latency (p50/p99) and propagation — from
 *    the PUT's start until every cluster's desired state, polled as agents poll it (If-None-Match, v2
 *    Accept), lists the policy at the new generation. Prints the 1,000/10 ratio of PUT p99 (target ≤ 1.5,
 *    with p99 ≤ 100 ms) and the propagation p99 of the 1,000-cluster fleet (target ≤ 2,000 ms).
 * 2. Mixed load on the 1,000-cluster fleet: 200 closed-loop clients, 40% list / 40% get / 20% PUT over 50
 *    policies, in rounds alternating between the equivalent store operations with a raw @azure/cosmos
 *    client (controlplane-mixed.ts) and the API, on the same store. Prints both rates and p99s, and
 *    API/raw as the median of the per-round ratios with their spread (target ≥ 0.5).
 * Seeding goes through the HTTP API (controlplane-seed.ts says in which order and why). Every measurement
 * starts when the store and API processes are idle (controlplane-quiet.ts). Processes: the store, each
 * API, and this load generator (controlplane-servers.ts).
 * Knobs: --quick (or BENCH_QUICK=1: 10 writes, 60 s scale budget, 3 s mixed rounds), BENCH_PUTS (measured
 * writes per fleet, default 20), BENCH_SCALE_SECONDS (budget of the scale phase, default 300),
 * BENCH_MIXED_SECONDS (per round, default 10), BENCH_MIXED_ROUNDS (default 3), BENCH_MIXED_DRAIN_SECONDS
 * (how long requests in flight at a round's end are waited for, default 20), BENCH_MIXED_CLIENTS (default
 * 200), BENCH_CLUSTERS (large fleet, default 1000), BENCH_POLICIES (default 2000), BENCH_SEED_CONCURRENCY
 * (default 16).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { backgroundPolicy, backgroundPolicyName, clusterId, clusterLabels, MEASURED_POLICY, measuredPolicy } from './controlplane-fleet.js';
import { BenchHttpClient } from './controlplane-http.js';
import { apiTarget, driveMixed, rawTarget, type MixedRound, type MixedTarget, type Operation } from './controlplane-mixed.js';
import { DesiredStateWatcher } from './controlplane-propagation.js';
import { ProcessLogs } from './controlplane-logs.js';
import { waitForQuiet } from './controlplane-quiet.js';
import { copyPolicies, seedClusters, seedPolicies } from './controlplane-seed.js';
import { connectToDatabase } from './controlplane-store.js';

const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const LARGE = Number(process.env.BENCH_CLUSTERS ?? 1000);
const SMALL = 10;
const POLICIES = Number(process.env.BENCH_POLICIES ?? 2000);
const PUTS = Math.max(1, Number(process.env.BENCH_PUTS ?? (QUICK ? 10 : 20)));
/** The scale phase stops after this many seconds even if fewer than PUTS writes were measured (a pathologically slow API must not hold the machine for an hour). */
const SCALE_SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? (QUICK ? 60 : 300));
const MIXED_SECONDS = Number(process.env.BENCH_MIXED_SECONDS ?? (QUICK ? 3 : 10));
const MIXED_ROUNDS = Math.max(1, Number(process.env.BENCH_MIXED_ROUNDS ?? 3));
const MIXED_CLIENTS = Number(process.env.BENCH_MIXED_CLIENTS ?? 200);
const MIXED_POLICIES = 50;
const SEED_CONCURRENCY = Number(process.env.BENCH_SEED_CONCURRENCY ?? 16);
/** Scratch databases the policies are seeded into (the embedded store's queries scan a whole container, so seeding cost grows with its square). */
const SCRATCH_SHARDS = 4;
const MIXED_DRAIN_SECONDS = Number(process.env.BENCH_MIXED_DRAIN_SECONDS ?? (QUICK ? 10 : 20));

interface ApiProcess {
  child: ChildProcess;
  baseUrl: string;
  tokens: { admin: string; reader: string };
  http: BenchHttpClient;
}

interface Fleet extends ApiProcess {
  label: string;
  clusters: string[];
  watcher: DesiredStateWatcher;
}

const logs = new ProcessLogs();

async function startProcess<T>(args: string[]): Promise<{ child: ChildProcess; info: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./controlplane-servers.ts', import.meta.url).pathname, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  logs.collect(args[0] === 'api' ? `api ${args[3]}` : args[0]!, child.stderr!);
  for await (const line of createInterface({ input: child.stdout! })) if (line.startsWith('{')) return { child, info: JSON.parse(line) as T };
  throw new Error(`${args[0]} process exited before it was ready:\n${logs.tail()}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill();
  await exited;
}

const children: ChildProcess[] = [];
process.on('exit', (code) => {
  children.forEach((child) => child.kill());
  if (code !== 0) console.error(`last lines the server processes wrote to stderr:\n${logs.tail()}`);
});

const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};
const median = (values: readonly number[]) => percentile(values, 50);
/** Infinity stands for "never reflected within the deadline" (or a failed write). */
const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : Number.isFinite(value) ? value.toFixed(1) : 'Infinity');
const secondsSince = (start: number) => ((performance.now() - start) / 1000).toFixed(1);

async function startApi(store: { endpoint: string; key: string }, databaseId: string, sockets = 64): Promise<ApiProcess> {
  const api = await startProcess<{ baseUrl: string; admin: string; reader: string }>(['api', store.endpoint, store.key, databaseId]);
  return { child: api.child, baseUrl: api.info.baseUrl, tokens: { admin: api.info.admin, reader: api.info.reader }, http: new BenchHttpClient(api.info.baseUrl, sockets) };
}

async function startFleet(store: { endpoint: string; key: string }, label: string, clusters: number): Promise<Fleet> {
  const api = await startApi(store, databaseOf(label));
  const ids = Array.from({ length: clusters }, (_, index) => clusterId(index));
  // Fleet.Reader may read any cluster's desired state (authorize.ts requireClusterReader): one token for all polls.
  return { ...api, label, clusters: ids, watcher: new DesiredStateWatcher(api.http, api.tokens.reader, ids) };
}

const databaseOf = (label: string) => `fleetnet-bench-${label}`;

interface WriteOutcome {
  /** ms from sending the PUT until its answer (also for a failed write). */
  put: number;
  status: number;
  /** ms from the PUT's start until every cluster reflected it; Infinity if the write failed or the deadline passed. */
  propagation: number;
  /** Desired-state polls it took (every pending cluster once per sweep, 64 in flight). */
  polls: number;
}

/** The store and API processes: measurements start only when they are idle (controlplane-quiet.ts). */
const busyPids: number[] = [];
let quietWaitMillis = 0;
const settle = async () => void (quietWaitMillis += await waitForQuiet(busyPids));

/** One measured write of the fleet-wide policy: PUT latency, then (if it succeeded) propagation to every cluster. */
async function measureWrite(fleet: Fleet, round: number, deadlineMs = 30_000): Promise<WriteOutcome> {
  await settle();
  const started = performance.now();
  const answer = await fleet.http.request('PUT', `/networkpolicies/${MEASURED_POLICY}`, { token: fleet.tokens.admin, body: measuredPolicy(round) });
  const put = performance.now() - started;
  if (answer.status !== 200 && answer.status !== 201) {
    console.log(`  ! ${fleet.label}-cluster fleet: write ${round} failed after ${ms(put)} ms: HTTP ${answer.status} ${answer.body.toString().slice(0, 160)}`);
    return { put, status: answer.status, propagation: Infinity, polls: 0 };
  }
  const { generation } = (JSON.parse(answer.body.toString()) as { metadata: { generation: number } }).metadata;
  const result = await fleet.watcher.waitFor(MEASURED_POLICY, generation, started, deadlineMs);
  const odd = Object.entries(result.unexpected).map(([status, count]) => `${count} × HTTP ${status}`).join(', ');
  if (result.missing > 0) console.log(`  ! ${fleet.label}-cluster fleet: ${result.missing} cluster(s) did not reflect write ${round} (generation ${generation}) within ${deadlineMs / 1000} s${odd ? `; polls answered ${odd}` : ''}`);
  else if (odd) console.log(`  ! ${fleet.label}-cluster fleet, write ${round}: polls answered ${odd} before every cluster reflected it`);
  return { put, status: answer.status, propagation: result.missing > 0 ? Infinity : result.millis, polls: result.polls };
}

const benchStarted = performance.now();
console.log(`bench:controlplane${QUICK ? ' (--quick)' : ''} — ${POLICIES} policies; fleets of ${LARGE} and ${SMALL} clusters (${new Set(Array.from({ length: LARGE }, (_, i) => JSON.stringify(clusterLabels(i)))).size} label sets)`);

const storeProcess = await startProcess<{ endpoint: string; key: string }>(['store']);
const store = storeProcess.info;
const largeLabel = String(LARGE);
const smallLabel = String(SMALL);

// ---- seeding: through the HTTP API, see controlplane-seed.ts for the order ----
const seedStarted = performance.now();
{
  const shards = Array.from({ length: SCRATCH_SHARDS }, (_, shard) => `policies-${shard}`);
  const scratch = await Promise.all(shards.map((shard) => startApi(store, databaseOf(shard))));
  await Promise.all(scratch.map((api, shard) => seedPolicies(api.http, api.tokens.admin, POLICIES, SEED_CONCURRENCY, (index) => index % SCRATCH_SHARDS === shard)));
  // Anything a write left running in the background (the compiler, revisions) finishes before its API stops.
  await waitForQuiet([storeProcess.child.pid!, ...scratch.map((api) => api.child.pid!)]);
  for (const api of scratch) {
    api.http.close();
    await stopProcess(api.child);
  }
  const targets = await Promise.all([largeLabel, smallLabel].map((label) => connectToDatabase(store.endpoint, store.key, databaseOf(label), false)));
  for (const shard of shards) {
    const source = await connectToDatabase(store.endpoint, store.key, databaseOf(shard), false);
    await copyPolicies(source.connection.containers, targets.map((target) => target.connection.containers));
    await source.connection.containers.resources.database.delete();
    await source.connection.close();
  }
  for (const target of targets) await target.connection.close();
}
const policiesSeeded = secondsSince(seedStarted);
const large = await startFleet(store, largeLabel, LARGE);
const small = await startFleet(store, smallLabel, SMALL);
busyPids.push(storeProcess.child.pid!, large.child.pid!, small.child.pid!);
{
  const started = performance.now();
  await Promise.all([seedClusters(large.http, large.tokens.admin, LARGE, SEED_CONCURRENCY), seedClusters(small.http, small.tokens.admin, SMALL, SEED_CONCURRENCY)]);
  const clustersPut = secondsSince(started);
  await settle();
  console.log(
    `seeded through the API: ${POLICIES} policies in ${policiesSeeded} s (${SCRATCH_SHARDS} scratch databases, copied into both fleets), ` +
      `then ${LARGE} + ${SMALL} clusters with one node each in ${clustersPut} s (${SEED_CONCURRENCY} PUTs in flight per database), desired state compiled after ${secondsSince(started)} s`,
  );
}
// The first write of the measured policy (a create; also warms both APIs up) must reach every cluster: that checks the seeded desired state too.
for (const fleet of [large, small]) {
  const result = await measureWrite(fleet, 0, 180_000);
  console.log(`  ${fleet.label}-cluster fleet: first write of ${MEASURED_POLICY} (created) HTTP ${result.status} in ${ms(result.put)} ms, reflected everywhere after ${ms(result.propagation)} ms`);
}

// ---- fleet scale ----
const scale = { large: [] as WriteOutcome[], small: [] as WriteOutcome[] };
const pairRatios: number[] = [];
{
  const started = performance.now();
  for (let i = 0; i < PUTS && performance.now() - started < SCALE_SECONDS * 1000; i++) {
    // Alternate which fleet goes first so slow drifts of the machine hit both alike.
    const order = i % 2 === 0 ? ([['large', large], ['small', small]] as const) : ([['small', small], ['large', large]] as const);
    for (const [key, fleet] of order) scale[key].push(await measureWrite(fleet, i + 1));
    pairRatios.push(scale.large.at(-1)!.put / scale.small.at(-1)!.put);
  }
  const measured = scale.large.length;
  console.log(
    `\nfleet scale — PUT /networkpolicies/${MEASURED_POLICY} (targets every cluster), ${measured} writes per fleet, fleets alternating` +
      `${measured < PUTS ? ` (stopped at the ${SCALE_SECONDS} s budget; ${PUTS} asked)` : ''} (${secondsSince(started)} s):`,
  );
  for (const [key, fleet] of [['large', large], ['small', small]] as const) {
    const writes = scale[key];
    const puts = writes.map((w) => w.put);
    const propagations = writes.map((w) => w.propagation);
    const failed = writes.filter((w) => w.status !== 200 && w.status !== 201).length;
    const unreflected = writes.filter((w) => w.propagation === Infinity).length - failed;
    console.log(
      `  ${fleet.label.padStart(5)} clusters: put p50 ${ms(percentile(puts, 50))} ms, p99 ${ms(percentile(puts, 99))} ms; ` +
        `propagation p50 ${ms(percentile(propagations, 50))} ms, p99 ${ms(percentile(propagations, 99))} ms (median ${median(writes.map((w) => w.polls))} polls per write); ` +
        `failed writes ${failed}, not reflected within 30 s ${unreflected}`,
    );
  }
  const sortedRatios = [...pairRatios].sort((a, b) => a - b);
  if (pairRatios.length > 0) console.log(`  per-pair put latency ratio ${LARGE}/${SMALL}: median ${median(pairRatios).toFixed(2)} (min ${sortedRatios[0]!.toFixed(2)}, max ${sortedRatios.at(-1)!.toFixed(2)})`);
}
small.http.close();
await stopProcess(small.child); // its API is idle from here on; the mixed load runs on the large fleet
busyPids.splice(busyPids.indexOf(small.child.pid!), 1);

// ---- mixed load ----
// Spread over the background policies (offset 13: app-team policies for one or two label sets, none fleet-wide).
const mixedIndices = Array.from({ length: MIXED_POLICIES }, (_, i) => (i * Math.floor(POLICIES / MIXED_POLICIES) + 13) % POLICIES);
const mixedNames = mixedIndices.map(backgroundPolicyName);
const mixedIndex = new Map(mixedNames.map((name, i) => [name, mixedIndices[i]!]));
let variant = 1;
const mixedBody = (name: string) => backgroundPolicy(mixedIndex.get(name)!, variant++);
const errorSamples = new Map<string, string[]>();
const noteError = (kind: string) => (what: string) => {
  const list = errorSamples.get(kind) ?? [];
  if (list.length < 3) list.push(what);
  errorSamples.set(kind, list);
};
const raw = await connectToDatabase(store.endpoint, store.key, databaseOf(large.label));
const mixedHttp = new BenchHttpClient(large.baseUrl, MIXED_CLIENTS);
const api = apiTarget(mixedHttp, large.tokens, mixedBody, noteError('API'));
const rawClient = rawTarget(raw.connection.containers, mixedBody, noteError('raw'));
const rounds = { api: [] as MixedRound[], raw: [] as MixedRound[] };
{
  const started = performance.now();
  const drive = (target: MixedTarget, seconds: number, seed: number, mix?: Record<Operation, number>) =>
    driveMixed(target, mixedNames, { clients: MIXED_CLIENTS, seconds, drainSeconds: MIXED_DRAIN_SECONDS, seed, mix });
  // Warm-up (JIT, connections, the list path) with reads only: a write slower than the warm-up would spill into round 1.
  const reads = { list: 0.5, get: 0.5, put: 0 };
  await drive(rawClient, Math.min(2, MIXED_SECONDS), 1, reads);
  await drive(api, Math.min(2, MIXED_SECONDS), 2, reads);
  errorSamples.clear();
  for (let round = 0; round < MIXED_ROUNDS; round++) {
    await settle();
    rounds.raw.push(await drive(rawClient, MIXED_SECONDS, 10 + round));
    await settle();
    rounds.api.push(await drive(api, MIXED_SECONDS, 20 + round));
    // Requests cut off are still running in the server: a further round would measure them, not itself.
    if (rounds.raw.at(-1)!.cutOff > 0 || rounds.api.at(-1)!.cutOff > 0) break;
  }
  const all = (list: MixedRound[], op?: Operation) => list.flatMap((r) => (op ? r.latencies[op] : [...r.latencies.list, ...r.latencies.get, ...r.latencies.put]));
  const done = rounds.api.length;
  console.log(
    `\nmixed load — ${MIXED_CLIENTS} clients, 40% list / 40% get / 20% PUT over ${MIXED_POLICIES} policies, ${LARGE}-cluster fleet, ` +
      `${done} × (${MIXED_SECONDS} s raw, ${MIXED_SECONDS} s API)${done < MIXED_ROUNDS ? ` of ${MIXED_ROUNDS} (stopped: a round was cut off)` : ''}, ` +
      `requests in flight at the window's end waited for up to ${MIXED_DRAIN_SECONDS} s and counted (${secondsSince(started)} s):`,
  );
  for (const [kind, list] of [['API', rounds.api], ['raw', rounds.raw]] as const) {
    const errors = list.reduce((sum, r) => sum + r.errors, 0);
    const cutOff = list.reduce((sum, r) => sum + r.cutOff, 0);
    console.log(
      `  ${kind.padEnd(3)}: ${median(list.map((r) => r.rate)).toFixed(1)} req/s (rounds: ${list.map((r) => r.rate.toFixed(1)).join(', ')}), ` +
        `p99 ${ms(percentile(all(list), 99))} ms (list ${ms(percentile(all(list, 'list'), 99))}, get ${ms(percentile(all(list, 'get'), 99))}, put ${ms(percentile(all(list, 'put'), 99))}); ` +
        `completed list/get/put ${(['list', 'get', 'put'] as const).map((op) => all(list, op).length).join('/')}, errors ${errors}` +
        `${cutOff > 0 ? `, still running when cut off ${cutOff} (not counted: the rate is an upper bound)` : ''}; rounds lasted ${list.map((r) => (r.elapsedMillis / 1000).toFixed(1)).join('/')} s`,
    );
    for (const sample of errorSamples.get(kind) ?? []) console.log(`       e.g. ${sample}`);
  }
}
const mixedRatios = rounds.api.map((r, i) => r.rate / rounds.raw[i]!.rate);
const mixedCutOff = rounds.api.some((r) => r.cutOff > 0);

// ---- targets ----
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
const largePuts = scale.large.map((w) => w.put);
const largeFailed = scale.large.filter((w) => w.status !== 200 && w.status !== 201).length;
const largeP99 = percentile(largePuts, 99);
const smallP99 = percentile(scale.small.map((w) => w.put), 99);
const scaleRatio = largeP99 / smallP99;
const largePropagation = scale.large.map((w) => w.propagation);
const propagationP99 = percentile(largePropagation, 99);
const mixedRatio = median(mixedRatios);
const sortedMixed = [...mixedRatios].sort((a, b) => a - b);
const failures = largeFailed > 0 ? `; ${largeFailed} of ${scale.large.length} writes failed` : '';
console.log('\ntargets (value line, then target):');
console.log(`put p99 1000 clusters (ms): ${ms(largeP99)}`);
console.log(`  target ≤ 100 ms: ${verdict(largeP99 <= 100 && largeFailed === 0)} (${scale.large.length} writes${failures})${LARGE !== 1000 ? ` — fleet of ${LARGE}, not 1000` : ''}`);
console.log(`scale p99 ratio: ${scaleRatio.toFixed(2)}`);
console.log(`  target ≤ 1.5 with put p99 ≤ 100 ms: ${verdict(scaleRatio <= 1.5 && largeP99 <= 100 && largeFailed === 0)} (p99 ${ms(largeP99)} ms / ${ms(smallP99)} ms; median of per-pair ratios ${ms(median(pairRatios))})`);
console.log(`propagation p99: ${ms(propagationP99)} ms`);
console.log(
  `  target ≤ 2000 ms: ${verdict(propagationP99 <= 2000)} (${LARGE} clusters, ${largePropagation.length} writes${largePropagation.length < 20 ? ' — fewer than 20' : ''}; ` +
    `p50 ${ms(percentile(largePropagation, 50))} ms, max ${ms(Math.max(...largePropagation))} ms; Infinity = failed or not everywhere within 30 s)`,
);
console.log(`mixed ratio: ${mixedRatio.toFixed(3)}`);
if (mixedCutOff) console.log('  (an upper bound: API requests still running at the cut-off are not counted)');
console.log(`  target ≥ 0.5: ${verdict(mixedRatio >= 0.5)} (median of per-round API/raw ratios ${mixedRatios.map((r) => r.toFixed(3)).join(', ')}; spread ${sortedMixed[0]!.toFixed(3)}–${sortedMixed.at(-1)!.toFixed(3)})`);
const logSummary = logs.summary();
if (logSummary.length > 0) console.log(`\nserver processes' stderr (lines of the same shape counted once):\n${logSummary.join('\n')}`);
console.log(`\ntotal ${secondsSince(benchStarted)} s (of which ${(quietWaitMillis / 1000).toFixed(1)} s waiting for the store and API processes to go idle between measurements)`);

mixedHttp.close();
large.http.close();
await raw.connection.close();
for (const child of [...children].reverse()) await stopProcess(child); // the APIs before the store they use
process.exit(0);
