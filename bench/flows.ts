/**
 * `npm run bench:flows` — a benchmark, not a test. In one run, on the embedded Cosmos server:
 * 1. Ingest: summaries/s through the API (HTTP POST of agent batches to the local host: parse, schema
 *    validation, authorization, chunking, compression, bulk writes, coverage) and through the SDK's bulk API
 *    straight into the same container (the same chunk documents, `container.items.bulk`), and their ratio
 *    (target ≥ 0.8). Rounds alternate API and SDK; the ratio is the median of per-round ratios. For scale, one
 *    round also bulk-writes one document per summary (the layout fleetnet does not use).
 * 2. Queries: latency of five typical security queries over everything stored (≥ 100,000 summaries):
 *    by namespace, by verdict DROPPED, by destination port (first page of 100 each), top talkers and the
 *    service graph (both scan the whole window).
 * The store (embedded Cosmos), the API (local host) and this load generator run in three processes.
 * It also prints the CPU each process spent per batch in each kind of round (Linux /proc): the machine has
 * two cores, so the API's extra CPU (parsing and validating what the SDK client already holds as objects)
 * shows up directly in its throughput.
 * Knobs: BENCH_BATCH (summaries per batch, default 5000), BENCH_ROUNDS (default 9), BENCH_BATCHES_PER_ROUND
 * (default 4), BENCH_CONCURRENCY (parallel batches in flight, default 4), BENCH_QUERY_RUNS (default 5),
 * BENCH_API_CPU_PROF (a directory: the API process writes V8 CPU profiles there, one per thread),
 * FLEETNET_FLOW_DECODER_THREADS (passed to the API process; default one per core).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FlowChunkStore, FlowCoverageStore } from '../functions/src/store/flow-store.js';
import { encodedChunkDocuments, inParallel as inParallelWith, recordBatchCoverage } from './flow-seeding.js';
import { connectToStore } from './flows-store-connection.js';
import { createRandom, generateSummaries } from '../test/helpers/flow-fixtures.js';
import type { FlowSummaryBatch } from '../openapi/types.js';

const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const PER_ROUND = Number(process.env.BENCH_BATCHES_PER_ROUND ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const QUERY_RUNS = Math.max(1, Number(process.env.BENCH_QUERY_RUNS ?? 5));
const RETENTION = 30 * 86_400;

/** Starts a server process of bench/flows-servers.ts and returns the JSON line it prints when ready. */
async function startProcess<T>(args: string[]): Promise<{ child: ChildProcess; info: T }> {
  const child = spawn(process.execPath, [...(args[0] === 'api' && process.env.BENCH_API_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_API_CPU_PROF}`] : []), '--import', 'tsx', new URL('./flows-servers.ts', import.meta.url).pathname, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: child.stdout! })) if (line.startsWith('{')) return { child, info: JSON.parse(line) as T };
  throw new Error(`${args[0]} process exited before it was ready`);
}

const store = await startProcess<{ endpoint: string; key: string }>(['store']);
const server = await startProcess<{ baseUrl: string; agent: string; reader: string }>(['api', store.info.endpoint, store.info.key]);
const { client: cosmosClient, connection } = await connectToStore(store.info.endpoint, store.info.key);
const baseUrl = server.info.baseUrl;
const agent = server.info.agent;
const chunks = new FlowChunkStore(connection.containers.flows);
const coverage = new FlowCoverageStore(connection.containers.flowCoverage);
const random = createRandom(2026);
const now = Date.now();

let sequence = 0;
function nextBatch(): { node: string; batch: FlowSummaryBatch } {
  const i = sequence++;
  const end = new Date(now - (5 + (i % 60) * 6) * 60_000).toISOString(); // spread over the last 6 hours
  return {
    node: `node-${i % 8}`,
    batch: { batchId: randomUUID(), sequence: Math.floor(i / 8), window: { start: new Date(Date.parse(end) - 60_000).toISOString(), end }, summaries: generateSummaries(BATCH, random) },
  };
}

const inParallel = <T>(items: T[], work: (item: T) => Promise<void>): Promise<void> => inParallelWith(items, CONCURRENCY, work);

async function viaApi(): Promise<number> {
  const bodies = Array.from({ length: PER_ROUND }, () => {
    const { node, batch } = nextBatch();
    return { node, body: Buffer.from(JSON.stringify(batch)) }; // serialised before timing: the client's cost is not the API's
  });
  const started = performance.now();
  await inParallel(bodies, async ({ node, body }) => {
    const response = await fetch(`${baseUrl}/clusters/bench-api/nodes/${node}/flows`, { method: 'POST', headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' }, body });
    const result = (await response.json()) as { accepted?: number };
    if (response.status !== 200 || result.accepted !== BATCH) throw new Error(`ingest failed: ${response.status} ${JSON.stringify(result)}`);
  });
  return (PER_ROUND * BATCH) / ((performance.now() - started) / 1000);
}

/** What coverage needs of each SDK-written batch (not the batches: holding them would tax this process's GC). */
const sdkBatches: Array<{ node: string; sequence: number; end: string }> = [];
async function viaSdk(): Promise<number> {
  const batches = Array.from({ length: PER_ROUND }, nextBatch);
  const started = performance.now();
  await inParallel(batches, async ({ node, batch }) => {
    const outcomes = await chunks.createAll(await encodedChunkDocuments('bench-sdk', node, batch, RETENTION));
    if (outcomes.some((o) => o !== 'created')) throw new Error('SDK bulk write did not create every chunk');
  });
  sdkBatches.push(...batches.map(({ node, batch }) => ({ node, sequence: batch.sequence, end: batch.window.end })));
  return (PER_ROUND * BATCH) / ((performance.now() - started) / 1000);
}

async function perSummaryDocuments(count: number): Promise<number> {
  const { container } = await connection.containers.flows.database.containers.createIfNotExists({ id: 'benchPerSummary', partitionKey: { paths: ['/pk'] } });
  const summaries = generateSummaries(count, random);
  const started = performance.now();
  const slices = Array.from({ length: Math.ceil(count / 100) }, (_, i) => summaries.slice(i * 100, i * 100 + 100));
  await inParallel(slices, async (slice) => {
    await container.items.bulk(slice.map((s) => ({ operationType: 'Create' as const, resourceBody: { id: randomUUID(), pk: 'bench|hour', ...s } })));
  });
  const rate = count / ((performance.now() - started) / 1000);
  await container.delete();
  return rate;
}

/** CPU (user + system) a process has used so far, in ms (Linux: /proc/<pid>/stat, in clock ticks of 10 ms). */
function processCpuMillis(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
const pids = { 'load generator': process.pid, API: server.child.pid!, store: store.child.pid! };
const cpuSpent = { api: new Map<string, number>(), sdk: new Map<string, number>() };
async function measuringCpu(kind: keyof typeof cpuSpent, run: () => Promise<number>): Promise<number> {
  const before = Object.entries(pids).map(([name, pid]) => [name, processCpuMillis(pid)] as const);
  const rate = await run();
  for (const [name, start] of before) cpuSpent[kind].set(name, (cpuSpent[kind].get(name) ?? 0) + processCpuMillis(pids[name as keyof typeof pids]) - start);
  return rate;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

console.log(`bench:flows — batches of ${BATCH}, ${PER_ROUND} per round, ${CONCURRENCY} in flight, ${ROUNDS} rounds (+1 warm-up)`);
await viaApi();
await viaSdk();
const api: number[] = [];
const sdk: number[] = [];
const ratios: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const a = round % 2 === 0 ? await measuringCpu('api', viaApi) : NaN;
  const s = await measuringCpu('sdk', viaSdk);
  const b = round % 2 === 0 ? a : await measuringCpu('api', viaApi);
  api.push(b);
  sdk.push(s);
  ratios.push(b / s);
  console.log(`  round ${round + 1}: API ${fmt(b)} summaries/s, SDK bulk ${fmt(s)} summaries/s, ratio ${(b / s).toFixed(2)}`);
}
const perSummary = await perSummaryDocuments(20_000);
console.log(`ingest: API ${fmt(median(api))} summaries/s · SDK bulk (same chunk documents) ${fmt(median(sdk))} summaries/s · ratio ${median(ratios).toFixed(2)} (target ≥ 0.8)`);
console.log(`        for scale: SDK bulk with one document per summary ${fmt(perSummary)} summaries/s`);
const perBatch = (spent: Map<string, number>) => [...spent].map(([name, ms]) => `${name} ${(ms / (ROUNDS * PER_ROUND)).toFixed(1)}`).join(', ');
console.log(`        CPU ms per batch (batch generation included): API rounds — ${perBatch(cpuSpent.api)}; SDK rounds — ${perBatch(cpuSpent.sdk)}`);

// Coverage for the SDK-written batches (what ingest records after its writes), so queries see them too.
for (const { node, sequence, end } of sdkBatches) await recordBatchCoverage(coverage, 'bench-sdk', { node, sequence, end, summaries: BATCH }, RETENTION);

const reader = server.info.reader;
const total = (await (await fetch(`${baseUrl}/flows/aggregations`, { method: 'POST', headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' }, body: JSON.stringify({ since: '7h' }) })).json()) as { totals: { summaries: number } };
console.log(`queries over ${fmt(total.totals.summaries)} stored summaries (window: last 7 h, 2 clusters, 16 nodes), ${QUERY_RUNS} runs each:`);
const queries: Array<[string, string, unknown]> = [
  ['by namespace (shop, first 100)', '/flows/query', { since: '7h', whitelist: [{ source_pod: ['shop/'] }, { destination_pod: ['shop/'] }] }],
  ['by verdict DROPPED (first 100)', '/flows/query', { since: '7h', whitelist: [{ verdict: ['DROPPED'] }] }],
  ['by destination port 5432 (first 100)', '/flows/query', { since: '7h', whitelist: [{ destination_port: ['5432'] }] }],
  ['top talkers (workload pairs, top 10)', '/flows/aggregations', { since: '7h', groupBy: ['source_workload', 'destination_workload'], orderBy: 'bytes', top: 10 }],
  ['service graph', '/flows/servicegraph', { since: '7h' }],
];
for (const [name, path, body] of queries) {
  const times: number[] = [];
  const cpuBefore = { api: processCpuMillis(pids.API), store: processCpuMillis(pids.store) };
  for (let run = 0; run < QUERY_RUNS; run++) {
    const started = performance.now();
    const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await response.text();
    if (response.status !== 200) throw new Error(`${name}: ${response.status}`);
    times.push(performance.now() - started);
  }
  const cpuPerRun = (pid: number, before: number) => ((processCpuMillis(pid) - before) / QUERY_RUNS).toFixed(0);
  console.log(`  ${name.padEnd(40)} median ${median(times).toFixed(1)} ms, min ${Math.min(...times).toFixed(1)} ms (CPU per run: API ${cpuPerRun(pids.API, cpuBefore.api)} ms, store ${cpuPerRun(pids.store, cpuBefore.store)} ms)`);
}

cosmosClient.dispose();
server.child.kill('SIGTERM');
store.child.kill('SIGTERM');
