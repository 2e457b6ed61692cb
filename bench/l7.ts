/**
 * `npm run bench:l7` — a benchmark, not a test: the agent's HTTP proxy (agent/src/http-proxy) against
 * asking the same HTTP server directly, over loopback (127.0.0.1). The datapath redirect is not in this
 * bench: the client connects to the proxy's port itself and resolveClient answers from a constant.
 *
 * Three processes (child_process.fork, so each has its own event loop and the proxy's RSS is its own):
 * - the server (node:http): `GET /bench/<n>` → 200, a 64-byte body, keep-alive;
 * - the proxy (HttpProxy): every request decided by the real matcher (core/policy/rules/http-match.ts) for
 *   the rule `{ method: GET, path: /bench/.* }`;
 * - the client (this process): node:http with a keep-alive agent, BENCH_CONCURRENCY lanes, each one request in
 *   flight (closed loop), the same client for both targets.
 * Throughput rounds alternate direct and proxied (ABBA order) for BENCH_ROUND_MS each; `l7 ratio` is the median
 * of per-round ratios (proxy req/s ÷ direct req/s). Latency rounds run the same way at concurrency 1
 * (BENCH_LATENCY_REQUESTS each): `l7 p99 added` is the median over rounds of (proxy p99 − direct p99); under a
 * saturating closed loop latency only restates the ratio (those p50/p99 are printed too).
 * Idle memory: the client opens BENCH_IDLE connections to the proxy, sends one request on each (so the proxy also
 * holds one upstream keep-alive connection per client connection) and leaves them idle; `http idle N connections
 * rss delta` is the proxy process's RSS after minus before (both after a forced GC).
 * Knobs: BENCH_ROUNDS (default 6), BENCH_ROUND_MS (1500), BENCH_CONCURRENCY (32), BENCH_LATENCY_REQUESTS (2000),
 * BENCH_IDLE (1000).
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { compileHttpRules } from '../core/policy/rules/http-match.js';
import { HttpProxy } from '../agent/src/http-proxy/index.js';

const HOST = '127.0.0.1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const LATENCY_REQUESTS = Number(process.env.BENCH_LATENCY_REQUESTS ?? 2000);
const IDLE = Number(process.env.BENCH_IDLE ?? 1000);
const BODY = 'x'.repeat(64);

type ChildMessage = { port: number } | { rss: number; heapUsed: number } | { stats: unknown };

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  return (server.address() as net.AddressInfo).port;
}

async function runServer(): Promise<void> {
  const server = http.createServer({ keepAliveTimeout: 600_000 }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  server.maxConnections = 100_000;
  process.send!({ port: await listen(server) });
}

async function runProxy(upstreamPort: number): Promise<void> {
  const server = net.createServer();
  const rules = compileHttpRules([{ method: 'GET', path: '/bench/.*' }]);
  const proxy = new HttpProxy<string>({
    server,
    resolveClient: () => ({ endpoint: 'bench-pod', original: { address: HOST, port: upstreamPort } }),
    decide: (_endpoint, _original, request) => {
      const result = rules.match(request);
      return { allowed: result.allowed, ...(result.rule === undefined ? {} : { ruleId: result.rule }) };
    },
    onRecord: () => undefined,
    idleTimeoutMs: 600_000,
  });
  process.on('message', (message: string) => {
    if (message === 'memory') {
      global.gc?.();
      global.gc?.();
      const usage = process.memoryUsage();
      process.send!({ rss: usage.rss, heapUsed: usage.heapUsed });
    } else if (message === 'stats') {
      process.send!({ stats: proxy.stats() });
    }
  });
  process.send!({ port: await listen(server) });
}

function start(role: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), role, { execArgv: [...process.execArgv, '--expose-gc'] });
  return new Promise((resolve) => child.once('message', (m: ChildMessage) => resolve({ child, port: (m as { port: number }).port })));
}

function ask<T extends ChildMessage>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m: T) => resolve(m));
    child.send(message);
  });
}

function get(agent: http.Agent, port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, agent }, (res) => {
      res.resume();
      res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.once('error', reject);
  });
}

async function load(port: number, concurrency: number, until: { ms?: number; requests?: number }): Promise<{ rps: number; latenciesMs: number[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latenciesMs: number[] = [];
  const start = performance.now();
  const deadline = until.ms === undefined ? Infinity : start + until.ms;
  const budget = until.requests ?? Infinity;
  let sent = 0;
  await Promise.all(Array.from({ length: concurrency }, async (_, lane) => {
    while (performance.now() < deadline && sent < budget) {
      sent++;
      const t = performance.now();
      await get(agent, port, `/bench/${lane}/${sent}`);
      latenciesMs.push(performance.now() - t);
    }
  }));
  const elapsed = performance.now() - start;
  agent.destroy();
  return { rps: (latenciesMs.length * 1000) / elapsed, latenciesMs };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
const median = (values: readonly number[]): number => percentile(values, 50);
const fmt = (n: number): string => n.toFixed(3);

async function main(): Promise<void> {
  const load0 = loadavg().map((l) => l.toFixed(2)).join(' ');
  const server = await start(['server']);
  const proxy = await start(['proxy', String(server.port)]);
  console.log(`l7 bench: loopback ${HOST}, 3 processes (server, proxy, client), concurrency ${CONCURRENCY}, ${ROUNDS} rounds × ${ROUND_MS} ms, load average at start ${load0}`);
  await load(server.port, CONCURRENCY, { ms: 300 });
  await load(proxy.port, CONCURRENCY, { ms: 300 });

  const ratios: number[] = [];
  const all = { direct: [] as number[], proxy: [] as number[], directRps: [] as number[], proxyRps: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['direct', 'proxy'] as const : ['proxy', 'direct'] as const;
    const results: Partial<Record<'direct' | 'proxy', { rps: number; latenciesMs: number[] }>> = {};
    for (const target of order) results[target] = await load(target === 'direct' ? server.port : proxy.port, CONCURRENCY, { ms: ROUND_MS });
    const d = results.direct!;
    const p = results.proxy!;
    ratios.push(p.rps / d.rps);
    all.direct.push(...d.latenciesMs);
    all.proxy.push(...p.latenciesMs);
    all.directRps.push(d.rps);
    all.proxyRps.push(p.rps);
    console.log(`round ${round + 1}: direct ${Math.round(d.rps)} req/s (p50 ${fmt(percentile(d.latenciesMs, 50))} ms, p99 ${fmt(percentile(d.latenciesMs, 99))} ms), proxy ${Math.round(p.rps)} req/s (p50 ${fmt(percentile(p.latenciesMs, 50))} ms, p99 ${fmt(percentile(p.latenciesMs, 99))} ms), ratio ${fmt(p.rps / d.rps)}`);
  }
  const p99Added: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['direct', 'proxy'] as const : ['proxy', 'direct'] as const;
    const results: Partial<Record<'direct' | 'proxy', number>> = {};
    for (const target of order) results[target] = percentile((await load(target === 'direct' ? server.port : proxy.port, 1, { requests: LATENCY_REQUESTS })).latenciesMs, 99);
    p99Added.push(results.proxy! - results.direct!);
  }
  console.log(`l7 direct: ${Math.round(median(all.directRps))} req/s, p50 ${fmt(percentile(all.direct, 50))} ms, p99 ${fmt(percentile(all.direct, 99))} ms (concurrency ${CONCURRENCY})`);
  console.log(`l7 proxy: ${Math.round(median(all.proxyRps))} req/s, p50 ${fmt(percentile(all.proxy, 50))} ms, p99 ${fmt(percentile(all.proxy, 99))} ms (concurrency ${CONCURRENCY})`);
  console.log(`l7 ratio: ${fmt(median(ratios))} (rounds ${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))})`);
  console.log(`l7 p99 added: ${fmt(median(p99Added))} ms (concurrency 1, rounds ${fmt(Math.min(...p99Added))}–${fmt(Math.max(...p99Added))})`);

  // idle keep-alive connections: one request each, then left open
  const before = await ask<{ rss: number; heapUsed: number }>(proxy.child, 'memory');
  const idleAgent = new http.Agent({ keepAlive: true, maxSockets: IDLE, maxFreeSockets: IDLE, timeout: 0 });
  await Promise.all(Array.from({ length: IDLE }, (_, i) => get(idleAgent, proxy.port, `/bench/idle/${i}`)));
  const after = await ask<{ rss: number; heapUsed: number }>(proxy.child, 'memory');
  const stats = await ask<{ stats: { openConnections: number } }>(proxy.child, 'stats');
  const mb = (bytes: number): string => (bytes / (1 << 20)).toFixed(1);
  console.log(`l7 idle ${IDLE} connections rss delta: ${mb(after.rss - before.rss)} MB (rss ${mb(before.rss)} → ${mb(after.rss)} MB, heap used ${mb(before.heapUsed)} → ${mb(after.heapUsed)} MB; proxy holds ${stats.stats.openConnections} client connections and one upstream connection each; ≈ ${((after.rss - before.rss) / IDLE / 1024).toFixed(1)} KB per connection pair)`);
  console.log(`load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  idleAgent.destroy();
  server.child.kill();
  proxy.child.kill();
}

const [role, arg] = process.argv.slice(2);
if (role === 'server') void runServer();
else if (role === 'proxy') void runProxy(Number(arg));
else void main();
