/**
 * `npm run bench:startup` — a benchmark, not a test: what the compiled entry points cost to start and to
 * keep running (issue 10, "compiled, fast entry points"). It compiles the API, the agent and the CLI with
 * tsconfig.build.json into a scratch directory (test/helpers/compile-scratch.ts), then measures:
 *
 * - `fleetnet --help`: wall time of `node <build>/cli/fleetnet.js --help`, median of HELP_RUNS runs
 *   (alternated with the same command through tsx, the development path, for comparison);
 * - the agent's idle RSS (root: network namespaces and eBPF): the compiled agent (`node
 *   <build>/agent/src/main.js`) against an in-process API, three pods in network namespaces and one policy
 *   programmed; once it logs `programmed`, VmRSS is sampled every second for IDLE_SECONDS of idle polling
 *   (poll 1 s, flow report 1 s) and the largest sample is reported.
 *
 * Prints the lines `fleetnet --help: X ms` (target ≤ 300) and `agent idle RSS: X MB` (target ≤ 150).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startTestApi } from '../test/helpers/api-harness.js';
import { clusterBody } from '../test/helpers/fixtures.js';
import { createTopology, ensureBpffs, isRoot, type Topology } from '../test/helpers/netns.js';
import { compileToScratch } from '../test/helpers/compile-scratch.js';

const HELP_RUNS = Number(process.env.BENCH_HELP_RUNS ?? 11);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
const repo = new URL('..', import.meta.url).pathname;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Wall time of one run of `command`, in ms (it must exit 0). */
function timeRun(command: string, args: string[]): number {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return performance.now() - started;
}

function measureHelp(build: string): void {
  const compiled: number[] = [];
  const viaTsx: number[] = [];
  timeRun(process.execPath, [join(build, 'cli/fleetnet.js'), '--help']); // warm the page cache
  for (let run = 0; run < HELP_RUNS; run++) {
    compiled.push(timeRun(process.execPath, [join(build, 'cli/fleetnet.js'), '--help']));
    viaTsx.push(timeRun(process.execPath, ['--import', 'tsx', join(repo, 'cli/fleetnet.ts'), '--help']));
  }
  console.log(`fleetnet --help, ${HELP_RUNS} runs each (median; compiled and tsx alternated):`);
  console.log(`  compiled : ${compiled.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  console.log(`  tsx      : ${viaTsx.map((ms) => ms.toFixed(0)).join(', ')} ms  (median ${median(viaTsx).toFixed(0)} ms)`);
  console.log(`fleetnet --help: ${median(compiled).toFixed(0)} ms`);
}

const rssKib = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

async function measureAgentIdle(build: string): Promise<void> {
  if (!isRoot()) {
    console.log('agent idle RSS: not measured (needs root: network namespaces and eBPF)');
    return;
  }
  for (const artifact of ['agent/bpf/build/fleetnet.bpf.o', 'agent/native/build/Release/fleetnet_bpf.node']) {
    if (!existsSync(join(repo, artifact))) throw new Error(`${artifact} is missing: run npm run build:bpf and npm run build:native`);
  }
  ensureBpffs();
  const work = mkdtempSync(join(tmpdir(), 'fleetnet-bench-startup-'));
  const pinDir = `/sys/fs/bpf/fleetnet-bench-startup-${process.pid}`;
  let topology: Topology | undefined;
  let agent: ReturnType<typeof spawn> | undefined;
  const api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
  try {
    topology = createTopology('startup', 3);
    const admin = { authorization: `Bearer ${api.tokens.admin}`, 'content-type': 'application/json' };
    await fetch(`${api.baseUrl}/clusters/bench`, { method: 'PUT', headers: admin, body: JSON.stringify(clusterBody('bench', { env: 'bench' }, ['bench-agent'])) });
    const policy = {
      apiVersion: 'fleetnet.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'web-ingress' },
      spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] },
    };
    await fetch(`${api.baseUrl}/networkpolicies/web-ingress`, { method: 'PUT', headers: admin, body: JSON.stringify(policy) });
    writeFileSync(join(work, 'token'), await api.issuer.mintToken({ role: 'Fleet.Agent', objectId: 'bench-agent', expiresInSeconds: 3600 }));
    const names = ['web', 'api', 'db'];
    writeFileSync(join(work, 'endpoints.yaml'), `endpoints:\n${topology.pods.map((p, i) => `  - {podName: ${names[i]}, namespace: bench, ip: ${p.ip}, labels: {app: ${names[i]}}}`).join('\n')}\n`);
    const args = [
      join(build, 'agent/src/main.js'),
      '--api', api.baseUrl, '--cluster', 'bench', '--node', 'bench-node', '--token-file', join(work, 'token'),
      '--pin-dir', pinDir, '--state-dir', join(work, 'state'), '--endpoints-file', join(work, 'endpoints.yaml'),
      '--netns', topology.node.nsPath, '--poll-interval', '1s', '--flow-interval', '1s',
    ];
    agent = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
    const child = agent;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the compiled agent did not log "programmed" within 60 s')), 60_000);
      child.once('exit', (code) => reject(new Error(`the compiled agent exited with ${code}`)));
      createInterface({ input: child.stderr! }).on('line', (line) => {
        if (line.includes('"msg":"programmed"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const samples: number[] = [];
    for (let second = 0; second < IDLE_SECONDS; second++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      samples.push(rssKib(child.pid!) / 1024);
    }
    console.log(`agent (compiled, 3 pods, 1 policy, poll and flow report every 1 s), VmRSS each second for ${IDLE_SECONDS} s:`);
    console.log(`  ${samples.map((mb) => mb.toFixed(0)).join(', ')} MB`);
    console.log(`agent idle RSS: ${Math.max(...samples).toFixed(0)} MB`);
  } finally {
    agent?.kill('SIGKILL');
    topology?.destroy();
    rmSync(pinDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    await api.close();
  }
}

const build = compileToScratch('bench-startup-');
try {
  measureHelp(build.outDir);
  await measureAgentIdle(build.outDir);
} finally {
  build.remove();
}
