/**
 * `npm run bench:api` — a benchmark, not a test. Drives the agents' hot path (desired state answered
 * 304) on the local host, and in the same run a bare node:http server returning the same bytes; prints
 * both rates and fleetnet/bare (target ≥ 0.5). Each server runs in its own process; the load generator
 * (keep-alive, fixed concurrency) runs here. Each round measures both servers back to back, and the
 * reported ratio is the median of the per-round ratios, so slow drifts of a shared machine cancel out.
 */
import { DESIRED_STATE_MEDIA_TYPE } from '../core/bundle/desired-state-format.js';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

interface Target {
  url: string;
  token: string;
  etag: string;
}

async function startServer(args: string[]): Promise<{ child: ChildProcess; target: Target }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./api-server.ts', import.meta.url).pathname, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    if (line.startsWith('{')) return { child, target: JSON.parse(line) as Target };
  }
  throw new Error(`server ${args[0]} exited before it was ready`);
}

/** Requests completed per second over `seconds`, each answered 304 (anything else aborts the run). */
async function drive(target: Target, seconds: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const url = new URL(target.url);
  const headers = { authorization: `Bearer ${target.token}`, 'if-none-match': target.etag, accept: DESIRED_STATE_MEDIA_TYPE };
  const deadline = performance.now() + seconds * 1000;
  let completed = 0;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.get({ agent, host: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 304 ? resolve() : reject(new Error(`unexpected status ${res.statusCode}`))));
      });
      req.on('error', reject);
    });
  const worker = async () => {
    while (performance.now() < deadline) {
      await once();
      completed++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return completed / elapsed;
}

const fleetnet = await startServer(['fleetnet']);
const bare = await startServer(['bare', fleetnet.target.etag]);
try {
  await drive(fleetnet.target, 1); // warm-up: JIT, caches, connections
  await drive(bare.target, 1);
  const rates = { fleetnet: [] as number[], bare: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    rates.fleetnet.push(await drive(fleetnet.target, SECONDS));
    rates.bare.push(await drive(bare.target, SECONDS));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const f = median(rates.fleetnet);
  const b = median(rates.bare);
  const ratios = rates.fleetnet.map((rate, round) => rate / rates.bare[round]!);
  console.log(`desired-state 304, concurrency ${CONCURRENCY}, ${ROUNDS} rounds × ${SECONDS}s (median):`);
  console.log(`  fleetnet local host : ${f.toFixed(0)} req/s  (rounds: ${rates.fleetnet.map((r) => r.toFixed(0)).join(', ')})`);
  console.log(`  bare node:http      : ${b.toFixed(0)} req/s  (rounds: ${rates.bare.map((r) => r.toFixed(0)).join(', ')})`);
  console.log(`  ratio fleetnet/bare : ${median(ratios).toFixed(3)}  (median of per-round ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}; target ≥ 0.5)`);
} finally {
  fleetnet.child.kill();
  bare.child.kill();
}
