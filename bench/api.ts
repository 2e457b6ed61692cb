/**
 * `npm run bench:api` — a benchmark, not a test. Drives the agents' hot path (desired state answered
 * 304) on the local host, compiled as deployed, and in the same run a bare node:http server returning the
 * same bytes; prints the rates and fleetnet/bare (target ≥ 0.5). Each server runs in its own process; the load generator
 * (keep-alive, fixed concurrency) runs here. Each round measures every server back to back, and each
 * reported ratio is the median of the per-round ratios, so slow drifts of a shared machine cancel out.
 * A third server, the local host with an operation that answers 304 at once, splits the gap into the
 * @azure/functions handler model's cost and fleetnet's own.
 */
import { DESIRED_STATE_MEDIA_TYPE } from '../core/bundle/desired-state-format.js';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { compileToScratch } from '../test/helpers/compile-scratch.js';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

interface Target {
  url: string;
  token: string;
  etag: string;
}

const repo = new URL('..', import.meta.url).pathname;

// The servers run compiled, as the Functions host runs the API (tsc's JavaScript, not tsx).
const compiled = compileToScratch('bench-api-', ['bench/api-server.ts']);
process.on('exit', compiled.remove);

async function startServer(args: string[]): Promise<{ child: ChildProcess; target: Target }> {
  const child = spawn(process.execPath, [join(compiled.outDir, 'bench', 'api-server.js'), ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
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
  // Every server gets the same request bytes: the agent's real token (the others ignore it).
  const headers = { authorization: `Bearer ${fleetnet.target.token}`, 'if-none-match': target.etag, accept: DESIRED_STATE_MEDIA_TYPE };
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
const emptyOperation = await startServer(['empty-operation', fleetnet.target.etag]);
const bare = await startServer(['bare', fleetnet.target.etag]);
const servers = { fleetnet, emptyOperation, bare };
type Name = keyof typeof servers;
const names = Object.keys(servers) as Name[];
try {
  for (const name of names) await drive(servers[name].target, 1); // warm-up: JIT, caches, connections
  const rates = { fleetnet: [] as number[], emptyOperation: [] as number[], bare: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) rates[name].push(await drive(servers[name].target, SECONDS));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const pairedRatio = (top: Name, bottom: Name) => {
    const ratios = rates[top].map((rate, round) => rate / rates[bottom][round]!);
    return `${median(ratios).toFixed(3)}  (median of per-round ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}`;
  };
  const line = (label: string, name: Name) =>
    `  ${label.padEnd(20)}: ${median(rates[name]).toFixed(0)} req/s  (rounds: ${rates[name].map((r) => r.toFixed(0)).join(', ')})`;
  console.log(`desired-state 304, concurrency ${CONCURRENCY}, ${ROUNDS} rounds × ${SECONDS}s (median):`);
  console.log(line('fleetnet local host', 'fleetnet'));
  console.log(line('empty operation', 'emptyOperation'));
  console.log(line('bare node:http', 'bare'));
  console.log(`  ratio fleetnet/bare : ${pairedRatio('fleetnet', 'bare')}; target ≥ 0.5)`);
  // Where the gap is: the handler model's own cost (the local host with an operation that does nothing)
  // and fleetnet's code on top of it (token, route params, manifest lookup, ETag).
  console.log(`  ratio empty-operation/bare : ${pairedRatio('emptyOperation', 'bare')})`);
  console.log(`  ratio fleetnet/empty-operation : ${pairedRatio('fleetnet', 'emptyOperation')})`);
} finally {
  for (const name of names) servers[name].child.kill();
}
