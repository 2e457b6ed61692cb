/**
 * `npm run bench:dns` — a benchmark, not a test: the agent's DNS proxy (agent/src/dns) against asking the
 * same DNS server directly, over UDP on loopback (127.0.0.1): in these rounds the client addresses the
 * proxy's socket itself and resolveClient answers from a constant (the redirect rounds, below, go
 * through the datapath).
 *
 * Three threads (worker_threads), so the proxy does not share an event loop with what it measures:
 * - the DNS server (agent/src/dns/test-dns-server.ts, dns-packet): A and AAAA records for BENCH_NAMES names;
 * - the proxy (DnsProxy): every query allowed by a `*.bench.test` matchPattern (core fqdnSelectorMatcher),
 *   a trivial `learn` (an already-resolved promise) whose duration each record carries (learnMs);
 * - the client (this main thread): BENCH_CONCURRENCY lanes, each one UDP socket with one query in flight
 *   (closed loop), names and A/AAAA in turn.
 * Throughput rounds alternate direct and proxied (ABBA order) for BENCH_ROUND_MS each; `dns ratio` is the
 * median of per-round ratios (proxy q/s ÷ direct q/s; the machine is noisy, only in-run ratios mean
 * anything). Latency rounds run the same way at concurrency 1 (BENCH_LATENCY_QUERIES queries each):
 * `dns p99 added` is the median over rounds of (proxy p99 − direct p99) — the time the proxy adds to one
 * query; under a saturating closed loop latency is concurrency ÷ throughput and only restates the ratio
 * (the loaded p50/p99 are printed too). `dns learn p99` is the 99th percentile of learnMs over all
 * proxied queries.
 * Then (root only) the real path (bench/dns-redirect.ts): a client pod's queries to a resolver pod in
 * network namespaces, redirected by the kernel to the proxy or allowed directly, alternating —
 * `dns redirect ratio` and `dns redirect p99 added` the same way; and `dns answer-to-maps-programmed
 * p99`: the agent's learn path on real maps (bench/dns-learn.ts) — what an answer with a new address
 * waits for before its release.
 * Knobs: BENCH_ROUNDS (default 7), BENCH_ROUND_MS (1500), BENCH_CONCURRENCY (32),
 * BENCH_LATENCY_QUERIES (2000), BENCH_NAMES (64), BENCH_LEARNS (500), BENCH_LEARN_PODS (200).
 */
import * as dgram from 'node:dgram';
import { cpus, loadavg } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Answer } from 'dns-packet';
import { fqdnSelectorMatcher } from '../core/policy/rules/fqdn.js';
import { DnsProxy } from '../agent/src/dns/index.js';
import { startTestDnsServer } from '../agent/src/dns/test-dns-server.js';
import type { DnsDestination } from '../agent/src/dns/index.js';
import { measureAnswerToMaps } from './dns-learn.js';
import { measureThroughRedirect, type RedirectRound } from './dns-redirect.js';
import { benchName, runDnsLanes } from './dns-query-lanes.js';

const HOST = '127.0.0.1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const LATENCY_QUERIES = Number(process.env.BENCH_LATENCY_QUERIES ?? 2000);
const NAMES = Number(process.env.BENCH_NAMES ?? 64);
const REDIRECT_ROUNDS = Number(process.env.BENCH_REDIRECT_ROUNDS ?? 6);
const QUERY_TIMEOUT_MS = 1000;

type Role = { role: 'server' } | { role: 'proxy'; upstream: DnsDestination };
type ProxyMessage = { type: 'learn-samples' };

async function runServer(): Promise<void> {
  const zone: Answer[] = [];
  for (let i = 0; i < NAMES; i++) {
    zone.push({ type: 'A', name: benchName(i), ttl: 300, data: `10.${(i >> 8) & 255}.${i & 255}.1` });
    zone.push({ type: 'AAAA', name: benchName(i), ttl: 300, data: `fd00::${i.toString(16)}:1` });
  }
  const server = await startTestDnsServer({ host: HOST, zone, log: false });
  parentPort!.postMessage({ port: server.port });
}

async function runProxy(upstream: DnsDestination): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, HOST, () => resolve()));
  const allowed = fqdnSelectorMatcher({ matchPattern: '*.bench.test' });
  let learnMs: number[] = [];
  new DnsProxy<string>({
    udp: [socket],
    resolveClient: () => ({ endpoint: 'bench-pod', original: upstream }),
    allowQuery: (_endpoint, qname) => ({ allowed: allowed(qname), ruleId: 1 }),
    learn: () => Promise.resolve(),
    onRecord: (record) => {
      if (record.learnMs !== undefined) learnMs.push(record.learnMs);
    },
  });
  parentPort!.on('message', (message: ProxyMessage) => {
    if (message.type !== 'learn-samples') return;
    parentPort!.postMessage({ learnMs });
    learnMs = [];
  });
  parentPort!.postMessage({ port: socket.address().port });
}

function startWorker(data: Role): Promise<{ worker: Worker; port: number }> {
  // tsx's loader hooks do not reach worker threads on Node 20: each worker registers them, then loads this file
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: data });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { port: number }) => resolve({ worker, port: message.port }));
  });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

interface RoundResult {
  qps: number;
  latenciesMs: number[];
  lost: number;
}

/** A closed loop of `lanes` UDP clients against port for `durationMs` (or `maxQueries` in total). */
async function runRound(port: number, lanes: number, limit: { durationMs?: number; maxQueries?: number }): Promise<RoundResult> {
  const r = await runDnsLanes({ server: HOST, port, lanes, names: NAMES, bindAddress: HOST, timeoutMs: QUERY_TIMEOUT_MS, ...limit });
  return { qps: r.latenciesMs.length / r.seconds, latenciesMs: r.latenciesMs, lost: r.lost };
}

function fmt(n: number, digits = 3): string {
  return n.toFixed(digits);
}

async function main(): Promise<void> {
  const server = await startWorker({ role: 'server' });
  const proxy = await startWorker({ role: 'proxy', upstream: { address: HOST, port: server.port } });
  console.log(`dns bench: UDP over loopback ${HOST}; server, proxy and client in three threads; in these rounds the client addresses the proxy directly; the datapath redirect comes in the 'redirect' rounds after them (root)`);
  const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`machine: ${cpus().length} CPUs, load average ${load()} at start (other work on the machine skews every round; the ratio is in-run)`);
  console.log(`throughput: ${ROUNDS} rounds × ${ROUND_MS} ms per mode, concurrency ${CONCURRENCY}, ABBA order; latency: ${ROUNDS} rounds × ${LATENCY_QUERIES} queries per mode at concurrency 1`);

  // warm-up: JIT, sockets, the proxy's upstream socket
  await runRound(server.port, CONCURRENCY, { durationMs: 300 });
  await runRound(proxy.port, CONCURRENCY, { durationMs: 300 });
  proxy.worker.postMessage({ type: 'learn-samples' } satisfies ProxyMessage);
  await new Promise((resolve) => proxy.worker.once('message', resolve));

  const ratios: number[] = [];
  const direct: RoundResult[] = [];
  const proxied: RoundResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['direct', 'proxy'] as const : ['proxy', 'direct'] as const;
    const results: Partial<Record<'direct' | 'proxy', RoundResult>> = {};
    for (const mode of order) results[mode] = await runRound(mode === 'direct' ? server.port : proxy.port, CONCURRENCY, { durationMs: ROUND_MS });
    direct.push(results.direct!);
    proxied.push(results.proxy!);
    ratios.push(results.proxy!.qps / results.direct!.qps);
    console.log(`round ${round + 1}: direct ${Math.round(results.direct!.qps)} q/s (p50 ${fmt(percentile(results.direct!.latenciesMs, 50))} ms, p99 ${fmt(percentile(results.direct!.latenciesMs, 99))} ms), proxy ${Math.round(results.proxy!.qps)} q/s (p50 ${fmt(percentile(results.proxy!.latenciesMs, 50))} ms, p99 ${fmt(percentile(results.proxy!.latenciesMs, 99))} ms), ratio ${fmt(ratios[round]!)}`);
  }

  const p99Added: number[] = [];
  const unloaded = { direct: [] as number[][], proxy: [] as number[][] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['direct', 'proxy'] as const : ['proxy', 'direct'] as const;
    const results: Partial<Record<'direct' | 'proxy', RoundResult>> = {};
    for (const mode of order) results[mode] = await runRound(mode === 'direct' ? server.port : proxy.port, 1, { maxQueries: LATENCY_QUERIES });
    unloaded.direct.push(results.direct!.latenciesMs);
    unloaded.proxy.push(results.proxy!.latenciesMs);
    p99Added.push(percentile(results.proxy!.latenciesMs, 99) - percentile(results.direct!.latenciesMs, 99));
  }

  proxy.worker.postMessage({ type: 'learn-samples' } satisfies ProxyMessage);
  const learnMs = await new Promise<number[]>((resolve) => proxy.worker.once('message', (m: { learnMs: number[] }) => resolve(m.learnMs)));
  learnMs.sort((a, b) => a - b);

  const medianOf = (rounds: RoundResult[], f: (r: RoundResult) => number): number => median(rounds.map(f));
  const lost = [...direct, ...proxied].reduce((sum, r) => sum + r.lost, 0);
  for (const [label, rounds] of [['direct', direct], ['proxy', proxied]] as const) {
    console.log(`${label} (concurrency ${CONCURRENCY}, medians of rounds): ${Math.round(medianOf(rounds, (r) => r.qps))} q/s, p50 ${fmt(medianOf(rounds, (r) => percentile(r.latenciesMs, 50)))} ms, p99 ${fmt(medianOf(rounds, (r) => percentile(r.latenciesMs, 99)))} ms`);
  }
  for (const label of ['direct', 'proxy'] as const) {
    const rounds = unloaded[label];
    console.log(`${label} (concurrency 1, medians of rounds): p50 ${fmt(median(rounds.map((r) => percentile(r, 50))))} ms, p99 ${fmt(median(rounds.map((r) => percentile(r, 99))))} ms`);
  }
  console.log(`load average at end: ${load()}`);
  console.log(`queries lost (no answer within ${QUERY_TIMEOUT_MS} ms): ${lost}`);
  console.log(`dns ratio range: ${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))} over ${ROUNDS} rounds (target ≥ 0.5)`);
  console.log(`dns p99 added range: ${fmt(Math.min(...p99Added))}–${fmt(Math.max(...p99Added))} ms (target ≤ 1 ms)`);
  console.log(`dns learn samples: ${learnMs.length}, p50 ${fmt(percentile(learnMs, 50), 4)} ms (trivial learn: the proxy's own await cost)`);
  console.log(`dns ratio: ${fmt(median(ratios))}`);
  console.log(`dns p99 added: ${fmt(median(p99Added))} ms`);
  console.log(`dns learn p99: ${fmt(percentile(learnMs, 99), 4)} ms`);
  await Promise.all([server.worker.terminate(), proxy.worker.terminate()]);
  const redirect = await measureThroughRedirect({ rounds: REDIRECT_ROUNDS, roundMs: ROUND_MS, names: NAMES, lanes: [CONCURRENCY, 1] });
  if (typeof redirect === 'string') {
    console.log(`dns through the redirect: ${redirect}`);
  } else {
    const pairRatios = (rounds: readonly RedirectRound[], pick: (r: RedirectRound) => number, combine: (proxy: number, direct: number) => number): number[] => {
      const out: number[] = [];
      for (let i = 0; i + 1 < rounds.length; i += 2) {
        const a = rounds[i]!;
        const b = rounds[i + 1]!;
        const [direct, proxied] = a.mode === 'direct' ? [a, b] : [b, a];
        out.push(combine(pick(proxied), pick(direct)));
      }
      return out;
    };
    for (const [lanes, rounds] of redirect) {
      for (const r of rounds) console.log(`redirect round (concurrency ${lanes}) ${r.mode}: ${Math.round(r.qps)} q/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, lost ${r.lost}; CPU per query: client ${r.clientCpuUs.toFixed(0)} µs, this process (the proxy) ${r.proxyCpuUs.toFixed(0)} µs (system ${r.proxySysUs.toFixed(0)})`);
    }
    const loaded = redirect.get(CONCURRENCY) ?? [];
    const single = redirect.get(1) ?? [];
    const ratios = pairRatios(loaded, (r) => r.qps, (p, d) => p / d);
    const added = pairRatios(single, (r) => r.p99, (p, d) => p - d);
    console.log(`dns redirect ratio range: ${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))} over ${ratios.length} pairs (client pod → resolver pod in namespaces, through the kernel redirect and the proxy vs allowed directly)`);
    console.log(`dns redirect p99 added range: ${fmt(Math.min(...added))}–${fmt(Math.max(...added))} ms (concurrency 1)`);
    console.log(`dns redirect ratio: ${fmt(median(ratios))}`);
    console.log(`dns redirect p99 added: ${fmt(median(added))} ms`);
  }
  const maps = await measureAnswerToMaps();
  if (typeof maps === 'string') {
    console.log(`dns answer-to-maps-programmed: ${maps}`);
  } else {
    const sorted = [...maps.samplesMs].sort((a, b) => a - b);
    console.log(`dns answer-to-maps-programmed (${maps.learns} learns, each a new name and address; compile + apply on real maps): p50 ${fmt(percentile(sorted, 50))} ms, max ${fmt(sorted.at(-1) ?? 0)} ms`);
    console.log(`dns answer-to-maps-programmed p99: ${fmt(percentile(sorted, 99))} ms`);
  }
}

if (isMainThread) {
  await main();
} else {
  const role = workerData as Role;
  if (role.role === 'server') await runServer();
  else await runProxy(role.upstream);
}
