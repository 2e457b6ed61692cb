/**
 * `npm run bench:replay` — a benchmark, not a test. In one run, on the embedded Cosmos server (its own
 * process, as Cosmos DB is):
 * 1. Stores BENCH_SUMMARIES (default 1,000,000) generated flow summaries of one cluster in the layout
 *    ingest writes (chunk documents + coverage), spread over the last 6 hours.
 * 2. Replay vs scan, interleaved rounds (BENCH_ROUNDS pairs, default 5, order alternating): the time to
 *    replay one policy change over every stored summary (runPolicyReplay: read, decode, group on decoder
 *    threads, evaluate each group under the current and the candidate policies, state completeness) and
 *    the time to merely read and decode the same summaries (FlowService.countWindow: the same reads and
 *    decoder threads, counting). Prints the median of per-pair ratios with its spread, and the line
 *    `replay/scan: X` (target ≤ 2.0).
 * 3. Explain at 2,000 policies, for random workload pairs, BENCH_EXPLAIN_RUNS (default 300) after 30
 *    warm-up: what the API's explain computes once the cluster's policy bodies are cached — the policies
 *    the two sides need (core explain-scope.ts, prepared once per desired-state view) then core
 *    explainFlow — printed as `explain p99 at 2000 policies: X ms`; and, for scale, explainFlow over all
 *    2,000 policies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { BundledPolicy, NetworkPolicySpec } from '../openapi/types.js';
import { buildPodLabelSet } from '../core/labels/cilium-labels.js';
import { explainFlow } from '../core/policy/explain/explain-flow.js';
import { narrowPolicies, prepareExplainScope } from '../core/policy/explain/explain-scope.js';
import type { CandidateChange } from '../core/policy/replay/candidate-policies.js';
import { FlowService } from '../functions/src/domain/flows.js';
import { runPolicyReplay } from '../functions/src/domain/policy-replay.js';
import { createFlowDecoder, defaultDecoderThreads } from '../functions/src/ingest/flow-decoder.js';
import { FlowChunkStore, FlowCoverageStore } from '../functions/src/store/flow-store.js';
import { createRandom, generateSummaries } from '../test/helpers/flow-fixtures.js';
import { encodedChunkDocuments, inParallel, recordBatchCoverage } from './flow-seeding.js';
import { connectToStore } from './flows-store-connection.js';

const SUMMARIES = Number(process.env.BENCH_SUMMARIES ?? 1_000_000);
const BATCH = 5000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const EXPLAIN_RUNS = Number(process.env.BENCH_EXPLAIN_RUNS ?? 300);
const RETENTION = 30 * 86_400;
const CLUSTER = 'bench-replay';
const NAMESPACES = ['shop', 'payments', 'search', 'infra'];
const WORKLOADS = ['web', 'api', 'db', 'cache', 'worker', 'gateway'];
const PORTS = ['80', '443', '5432', '6379', '8080', '53'];

async function startStore(): Promise<{ child: ChildProcess; endpoint: string; key: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./flows-servers.ts', import.meta.url).pathname, 'store'], { stdio: ['pipe', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('{')) return { child, ...(JSON.parse(line) as { endpoint: string; key: string }) };
  }
  throw new Error('store process exited before it was ready');
}

const random = createRandom(1313);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** One namespaced policy per workload: ingress from three workloads of any namespace on two ports. */
function workloadPolicy(ns: string, wl: string, from: string[], ports: string[]): NetworkPolicySpec {
  return {
    namespace: ns,
    endpointSelector: { matchLabels: { app: wl } },
    ingress: [{ fromEndpoints: from.map((app) => ({ matchLabels: { app, 'k8s:io.kubernetes.pod.namespace': pick(NAMESPACES) } })), toPorts: [{ ports: ports.map((port) => ({ port, protocol: 'TCP' as const })) }] }],
  };
}
const current: BundledPolicy[] = NAMESPACES.flatMap((ns) => WORKLOADS.map((wl) => ({ name: `${ns}.${wl}`, generation: 1, mode: 'enforce' as const, spec: workloadPolicy(ns, wl, [pick(WORKLOADS), pick(WORKLOADS), pick(WORKLOADS)], [pick(PORTS), pick(PORTS)]) })));
const change: CandidateChange = { upsert: [{ name: 'shop.db', spec: workloadPolicy('shop', 'db', ['api', 'worker'], ['5432']) }] };

const store = await startStore();
const { client: cosmosClient, connection } = await connectToStore(store.endpoint, store.key);
const chunks = new FlowChunkStore(connection.containers.flows);
const coverage = new FlowCoverageStore(connection.containers.flowCoverage);
const decoder = createFlowDecoder({ threads: defaultDecoderThreads() });
const flows = new FlowService({ chunks, coverage, listClusterIds: async () => [CLUSTER], retentionSeconds: RETENTION, folds: decoder, now: () => new Date() });

// ---- 1. history -------------------------------------------------------------------------------
const seedStarted = performance.now();
const now = Date.now();
const batches = Array.from({ length: Math.ceil(SUMMARIES / BATCH) }, (_, i) => i);
const written: Array<{ node: string; sequence: number; end: string; summaries: number }> = [];
await inParallel(batches, 4, async (i) => {
  const node = `node-${i % 8}`;
  const end = new Date(now - (5 + (i % 60) * 6) * 60_000).toISOString();
  const summaries = generateSummaries(Math.min(BATCH, SUMMARIES - i * BATCH), random);
  const batch = { batchId: randomUUID(), sequence: Math.floor(i / 8), window: { start: new Date(Date.parse(end) - 60_000).toISOString(), end }, summaries };
  const outcomes = await chunks.createAll(await encodedChunkDocuments(CLUSTER, node, batch, RETENTION));
  if (outcomes.some((o) => o !== 'created')) throw new Error('bulk write did not create every chunk');
  written.push({ node, sequence: batch.sequence, end, summaries: summaries.length });
});
for (const b of written) await recordBatchCoverage(coverage, CLUSTER, b, RETENTION);
console.log(`bench:replay — stored ${SUMMARIES.toLocaleString('en-US')} summaries of one cluster in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s; ${defaultDecoderThreads()} decoder threads`);

// ---- 2. replay vs scan ------------------------------------------------------------------------
const deps = { flows, clusters: async () => [{ id: CLUSTER, labels: {} }], currentPolicies: async () => current };
const timeScan = async (): Promise<number> => {
  const started = performance.now();
  const n = await flows.countWindow({ since: '7h', whitelist: [{ cluster: [CLUSTER] }] });
  if (n !== SUMMARIES) throw new Error(`scan counted ${n} summaries, stored ${SUMMARIES}`);
  return performance.now() - started;
};
let lastReport: Awaited<ReturnType<typeof runPolicyReplay>> | undefined;
const timeReplay = async (): Promise<number> => {
  const started = performance.now();
  lastReport = await runPolicyReplay(deps, { change, since: '7h' });
  return performance.now() - started;
};
await timeScan();
await timeReplay();
const scans: number[] = [];
const replays: number[] = [];
const ratios: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const [scan, replay] = round % 2 === 0 ? [await timeScan(), await timeReplay()] : await (async () => {
    const r = await timeReplay();
    return [await timeScan(), r];
  })();
  scans.push(scan);
  replays.push(replay);
  ratios.push(replay / scan);
  console.log(`  round ${round + 1}: scan ${(scan / 1000).toFixed(2)} s, replay ${(replay / 1000).toFixed(2)} s, ratio ${(replay / scan).toFixed(2)}`);
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const report = lastReport!;
const judged = report.totals.judged.summaries;
const notJudged = report.unjudged.reduce((n, u) => n + u.sums.summaries, 0);
console.log(`replay of one policy change (shop.db) over ${SUMMARIES.toLocaleString('en-US')} stored summaries: judged ${judged.toLocaleString('en-US')}, not judged ${notJudged.toLocaleString('en-US')}, allowed→dropped ${report.totals.allowedToDropped.summaries.toLocaleString('en-US')}, dropped→allowed ${report.totals.droppedToAllowed.summaries.toLocaleString('en-US')} summaries in ${report.changes.length} groups`);
console.log(`replay time: ${(median(replays) / 1000).toFixed(2)} s (median of ${ROUNDS})`);
console.log(`scan time: ${(median(scans) / 1000).toFixed(2)} s (median of ${ROUNDS})`);
console.log(`replay/scan spread: ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`);
console.log(`replay/scan: ${median(ratios).toFixed(2)}`);

// ---- 3. explain at 2,000 policies -------------------------------------------------------------
const many: BundledPolicy[] = [...current];
for (let i = many.length; i < 2000; i++) {
  const ns = `team-${i % 40}`;
  many.push({ name: `${ns}.svc-${i}`, generation: 1 + (i % 5), mode: i % 10 === 0 ? 'audit' : 'enforce', spec: workloadPolicy(ns, `svc-${i % 150}`, [`svc-${(i * 7) % 150}`, pick(WORKLOADS)], [pick(PORTS)]) });
}
const side = (ns: string, wl: string) => ({ workload: buildPodLabelSet({ labels: { app: wl }, namespace: ns, clusterId: CLUSTER }) });
const scope = prepareExplainScope(many);
const explainOnce = (narrow: boolean) => (): number => {
  const source = side(pick(NAMESPACES), pick(WORKLOADS));
  const destination = side(pick(NAMESPACES), pick(WORKLOADS));
  const started = performance.now();
  const policies = narrow ? narrowPolicies(scope, [source, destination]) : many;
  explainFlow({ policies, source, destination, protocol: 6, port: Number(pick(PORTS)) });
  return performance.now() - started;
};
const p99 = (sorted: number[]): number => sorted[Math.ceil(sorted.length * 0.99) - 1]!;
for (let i = 0; i < 30; i++) explainOnce(true)();
const narrowed = Array.from({ length: EXPLAIN_RUNS }, explainOnce(true)).sort((a, b) => a - b);
for (let i = 0; i < 10; i++) explainOnce(false)();
const full = Array.from({ length: EXPLAIN_RUNS }, explainOnce(false)).sort((a, b) => a - b);
console.log(`explain over ${many.length} policies, ${EXPLAIN_RUNS} runs: as the API runs it (the sides' policies) median ${median(narrowed).toFixed(2)} ms; over all ${many.length} policies median ${median(full).toFixed(2)} ms, p99 ${p99(full).toFixed(2)} ms`);
console.log(`explain p99 at 2000 policies: ${p99(narrowed).toFixed(2)} ms`);

await decoder.close();
cosmosClient.dispose();
store.child.kill('SIGTERM');
