/**
 * `npm run demo` (root): fleetnet's first five minutes, end to end on this machine.
 *
 *  1. a "node" network namespace and three "pod" namespaces (web, api, db) joined by veths —
 *     addresses exist only inside namespaces this script creates (10.201.<i>.0/24);
 *  2. the local API in-process (embedded Cosmos, dev token issuer), a cluster whose agent identity is
 *     `demo-agent`;
 *  3. the agent (`agent/src/main.ts`, static endpoints file, host veths in the node namespace);
 *  4. a policy over REST: web accepts TCP 8080 from app=api only;
 *  5. api → web:8080 is allowed, db → web:8080 is dropped — real packets, policed in the kernel;
 *  6. after a flow interval, the flow summaries the API stored (POST /flows/query).
 * Missing build outputs (eBPF object, N-API addon) are built first (scripts/demo-prerequisites.ts).
 *
 * Cleanup contract: everything this run creates — namespaces `fndemo<pid>*` (their veths go with them),
 * bpffs pins under /sys/fs/bpf/fleetnet-demo-<pid>, child processes (agent, echo server), the temp dir
 * /tmp/fleetnet-demo-<pid>-* — is removed on every exit path: normal end, failure, SIGINT, SIGTERM,
 * SIGHUP and a closed stdout/stderr (EPIPE, e.g. `npm run demo | head`; SIGPIPE is ignored, as Node does by
 * default, so the closed pipe always arrives as EPIPE and exits 0). Once stopping has begun,
 * nothing new is created. `--keep` leaves it all running until a signal; `--cleanup` removes what a demo
 * killed without a chance to clean up (SIGKILL) left behind. `--help` runs nothing.
 * Uses nsenter --net=… (never `ip netns exec`, which hides /sys/fs/bpf).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DesiredState, FlowSummary } from '../openapi/types.js';
import { missingBuildSteps } from './demo-prerequisites.js';

const HELP = `Usage: npm run demo [-- options]          (as root: network namespaces and eBPF)

fleetnet end to end on this machine: three pods in network namespaces, the API in-process (embedded
Cosmos, dev tokens), the node agent, a policy over REST, real packets allowed and dropped in the
kernel, and the flow summaries the API received. Takes about 20 s; builds the eBPF object and the
N-API addon first when they are missing (npm run build:bpf / build:native).

Options:
  --keep      leave the API, the agent and the pods running after the last step, to explore with the
              CLI (it prints the exports); Ctrl-C or kill <pid> then stops and cleans up
  --cleanup   remove what an earlier demo killed without cleaning up left behind (namespaces
              fndemo<pid>*, pins /sys/fs/bpf/fleetnet-demo-<pid>, its agent), then exit
  -h, --help  this text

Everything the demo creates is removed when it ends, fails or is interrupted (Ctrl-C, SIGTERM, a
closed pipe such as \`npm run demo | head\`).`;

const FLOW_INTERVAL_S = 3;
const POLL_INTERVAL_S = 1;
const NS_PREFIX = 'fndemo';
const PIN_PREFIX = '/sys/fs/bpf/fleetnet-demo-';
const tag = `${NS_PREFIX}${process.pid}`;
const NODE_NS = `${tag}n`;
const PODS = [
  { name: 'web', ns: `${tag}p1`, ip: '10.201.1.2', gw: '10.201.1.1', veth: 'dweb', labels: { app: 'web' } },
  { name: 'api', ns: `${tag}p2`, ip: '10.201.2.2', gw: '10.201.2.1', veth: 'dapi', labels: { app: 'api' } },
  { name: 'db', ns: `${tag}p3`, ip: '10.201.3.2', gw: '10.201.3.1', veth: 'ddb', labels: { app: 'db' } },
] as const;
const PIN_DIR = `${PIN_PREFIX}${process.pid}`;
const root = fileURLToPath(new URL('..', import.meta.url));

// ---- stopping: one path for every exit ------------------------------------------------------------

/** Set once stopping has begun: from then on nothing new is created (guard()). */
let stopping: string | undefined;
class Stopping extends Error {}
const guard = () => {
  if (stopping !== undefined) throw new Stopping(stopping);
};

let stdoutOpen = true;
let stderrOpen = true;
const say = (s: string) => stdoutOpen && console.log(s);
const warn = (s: string) => stderrOpen && console.error(s);

const cleanups: { what: string; fn: () => unknown }[] = [];
const onCleanup = (what: string, fn: () => unknown) => cleanups.push({ what, fn });
let cleaning: Promise<void> | undefined;
/** Runs every registered cleanup once, newest first; concurrent callers share the one run. */
function cleanup(): Promise<void> {
  stopping ??= 'cleanup';
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const c = cleanups.pop()!;
      try {
        await c.fn();
      } catch (e) {
        warn(`  cleanup of ${c.what} failed: ${(e as Error).message}`);
      }
    }
  })();
  return cleaning;
}

/** Stops the demo from anywhere (signal, closed pipe, crash): cleans up, then exits with `code`. */
let exiting = false;
function stop(reason: string, code: number, message?: string): void {
  if (exiting) return; // already on the way out: the running cleanup finishes first
  exiting = true;
  stopping = reason;
  if (message) warn(message);
  void cleanup().then(() => process.exit(code));
}

// Last resort (process.exit elsewhere): synchronous parts of what is left (kill, ip netns del, rm).
process.on('exit', () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      void c.fn();
    } catch {
      /* best effort */
    }
  }
});
const onStreamError = (which: 'stdout' | 'stderr') => (error: NodeJS.ErrnoException) => {
  if (which === 'stdout') stdoutOpen = false;
  else stderrOpen = false;
  if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') stop('closed pipe', 0, `\n${which} closed — stopping the demo and cleaning up`);
  else stop('stream error', 1, `\n${which}: ${error.message} — stopping the demo and cleaning up`);
};
process.stdout.on('error', onStreamError('stdout'));
process.stderr.on('error', onStreamError('stderr'));
// SIGPIPE stays ignored (Node's default): a write to a closed pipe then fails with EPIPE and takes the
// closed-pipe path above, deterministically (a SIGPIPE listener would race that error for the exit code).
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
for (const [signal, code] of Object.entries(SIGNAL_EXIT)) {
  process.on(signal, () => stop(signal, code, `\n${signal === 'SIGINT' ? 'interrupted' : signal} — cleaning up`));
}
process.on('uncaughtException', (e) => stop('crash', 1, `\ndemo failed: ${e.stack ?? e.message}`));
process.on('unhandledRejection', (e) => stop('crash', 1, `\ndemo failed: ${(e as Error)?.stack ?? String(e)}`));

// ---- helpers ----------------------------------------------------------------------------------

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (s: string) => !exiting && say(`\n${bold(`▶ ${s}`)}`);
const run = (cmd: string, args: string[]) => {
  guard();
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
};
const inNs = (ns: string, cmd: string, args: string[]) => run('nsenter', [`--net=/run/netns/${ns}`, '--', cmd, ...args]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function createTopology(): void {
  run('ip', ['netns', 'add', NODE_NS]);
  onCleanup(`netns ${NODE_NS}`, () => execFileSync('ip', ['netns', 'del', NODE_NS], { stdio: 'ignore' }));
  run('ip', ['-n', NODE_NS, 'link', 'set', 'lo', 'up']);
  inNs(NODE_NS, 'sh', ['-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
  for (const p of PODS) {
    run('ip', ['netns', 'add', p.ns]);
    onCleanup(`netns ${p.ns}`, () => execFileSync('ip', ['netns', 'del', p.ns], { stdio: 'ignore' }));
    run('ip', ['-n', NODE_NS, 'link', 'add', p.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns]);
    run('ip', ['-n', NODE_NS, 'addr', 'add', `${p.gw}/24`, 'dev', p.veth]);
    run('ip', ['-n', NODE_NS, 'link', 'set', p.veth, 'up']);
    run('ip', ['-n', p.ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', p.ns, 'addr', 'add', `${p.ip}/24`, 'dev', 'eth0']);
    run('ip', ['-n', p.ns, 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', p.ns, 'route', 'add', 'default', 'via', p.gw]);
    say(`  pod ${p.name.padEnd(3)} ${p.ip}  (netns ${p.ns}, host veth ${p.veth} in ${NODE_NS})`);
  }
}

/** TCP echo server in a pod namespace. */
function startTcpServer(ns: string, port: number): ChildProcess {
  guard();
  const code = `require('net').createServer((c) => { c.on('error', () => {}); c.pipe(c); }).listen(${port}, '0.0.0.0', () => console.log('ready'));`;
  const child = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  onCleanup(`server in ${ns}`, () => stopChild(child, 1000));
  return child;
}

/** One TCP connection + echo from a pod namespace: true when the echo came back. */
function tcpConnect(ns: string, host: string, port: number, timeoutMs = 1500): boolean {
  const code = `const s = require('net').connect(${port}, '${host}'); const t = setTimeout(() => process.exit(2), ${timeoutMs});
s.on('connect', () => s.write('hello fleetnet')); s.on('data', () => { clearTimeout(t); s.end(); process.exit(0); }); s.on('error', () => process.exit(1));`;
  try {
    inNs(ns, process.execPath, ['-e', code]);
    return true;
  } catch (e) {
    if (e instanceof Stopping) throw e;
    return false;
  }
}

function describeEndpoint(e: FlowSummary['source']): string {
  if (e.pod_name) return `${e.namespace}/${e.pod_name}`;
  return e.labels?.[0] ?? `identity ${e.identity}`;
}

/** Builds the eBPF object / N-API addon when absent; build output goes to stderr. */
function buildMissing(): void {
  for (const s of missingBuildSteps(root, process.env)) {
    guard();
    say(`  ${s.what} is missing (${s.output}): npm run ${s.npmScript}`);
    const r = spawnSync('bash', [join(root, s.script)], { cwd: root, stdio: ['ignore', 2, 2] });
    if (r.status !== 0) {
      throw new Error(
        `building ${s.what} failed (npm run ${s.npmScript}, exit ${r.status ?? r.signal}). It needs Debian packages: \`bash scripts/install.sh\` installs them (clang, llvm, libbpf-dev, libelf-dev, …).`,
      );
    }
  }
}

// ---- --cleanup: leftovers of demos that are no longer running ----------------------------------

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function cleanupLeftovers(): number {
  const owner = (name: string) => Number(/^fndemo(\d+)(?:n|p\d)$/.exec(name)?.[1] ?? /^fleetnet-demo-(\d+)(?:-|$)/.exec(name)?.[1] ?? NaN);
  const dead = (name: string) => Number.isInteger(owner(name)) && owner(name) !== process.pid && !alive(owner(name));
  let removed = 0;
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(dead);
  const pins = existsSync('/sys/fs/bpf') ? readdirSync('/sys/fs/bpf').filter(dead) : [];
  // Agents of dead demos (their --pin-dir names the demo) and processes still inside its namespaces.
  const pids = new Set<number>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (pins.some((p) => argv.includes(`${PIN_PREFIX}${p.slice('fleetnet-demo-'.length)}`))) pids.add(Number(entry));
    } catch {
      /* gone */
    }
  }
  for (const ns of namespaces) {
    for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) pids.add(Number(pid));
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      console.log(`  killed process ${pid}`);
      removed++;
    } catch {
      /* gone */
    }
  }
  for (const ns of namespaces) {
    execFileSync('ip', ['netns', 'del', ns]);
    console.log(`  removed netns ${ns}`);
    removed++;
  }
  for (const pin of pins) {
    rmSync(join('/sys/fs/bpf', pin), { recursive: true, force: true });
    console.log(`  removed pins /sys/fs/bpf/${pin}`);
    removed++;
  }
  for (const dir of readdirSync(tmpdir()).filter(dead)) {
    rmSync(join(tmpdir(), dir), { recursive: true, force: true });
    console.log(`  removed ${join(tmpdir(), dir)}`);
    removed++;
  }
  return removed;
}

async function main(keep: boolean): Promise<void> {
  const [{ DESIRED_STATE_MEDIA_TYPE }, { createAppServices }, { loadOrCreateDevIssuer }, { startLocalHost }, { createOperations }, { openCosmos }] = await Promise.all([
    import('../core/bundle/desired-state-format.js'),
    import('../functions/src/app-services.js'),
    import('../functions/src/auth/dev-issuer.js'),
    import('../functions/src/local-host/local-host.js'),
    import('../functions/src/routes.js'),
    import('../functions/src/store/open-cosmos.js'),
  ]);
  if (process.getuid?.() !== 0) throw new Error('npm run demo needs root (network namespaces and eBPF).');
  if (!/ \/sys\/fs\/bpf bpf /.test(readFileSync('/proc/mounts', 'utf8'))) {
    mkdirSync('/sys/fs/bpf', { recursive: true });
    run('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  }
  buildMissing();
  guard();
  const work = mkdtempSync(join(tmpdir(), `fleetnet-demo-${process.pid}-`));
  onCleanup('temp dir', () => rmSync(work, { recursive: true, force: true }));

  step('1. Network namespaces: one node, three pods');
  createTopology();

  step('2. The fleetnet API, in-process (embedded Cosmos, dev token issuer)');
  guard();
  const cosmos = await openCosmos();
  onCleanup('embedded Cosmos', () => cosmos.close());
  const issuerDir = join(work, 'issuer');
  const services = await createAppServices({ env: { FLEETNET_AUTH_DEV_ISSUER_DIR: issuerDir, FLEETNET_DESIRED_STATE_CACHE_MS: '0' }, cosmos });
  onCleanup('API services', () => services.close());
  const host = await startLocalHost({ operations: createOperations(async () => services) });
  onCleanup('API host', () => host.close());
  const issuer = await loadOrCreateDevIssuer(issuerDir);
  const admin = await issuer.mintToken({ role: 'Fleet.Admin', objectId: 'demo-admin' });
  say(`  API at ${host.baseUrl}`);

  const rest = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${host.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} → ${r.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  await rest('PUT', '/clusters/demo', { apiVersion: 'fleetnet.io/v1', kind: 'Cluster', metadata: { name: 'demo', labels: { env: 'demo' } }, spec: { agentIdentities: ['demo-agent'] } });
  say('  PUT /clusters/demo  (agent identity: demo-agent)');

  step('3. The node agent (static endpoints file, host veths in the node namespace)');
  const tokenFile = join(work, 'agent.token');
  writeFileSync(tokenFile, await issuer.mintToken({ role: 'Fleet.Agent', objectId: 'demo-agent', expiresInSeconds: 3600 }), { mode: 0o600 });
  const endpointsFile = join(work, 'endpoints.yaml');
  writeFileSync(endpointsFile, `endpoints:\n${PODS.map((p) => `  - {podName: ${p.name}, namespace: demo, ip: ${p.ip}, labels: {app: ${p.name}}}`).join('\n')}\n`);
  const agentArgs = [
    '--api', host.baseUrl, '--cluster', 'demo', '--node', 'demo-node', '--token-file', tokenFile,
    '--pin-dir', PIN_DIR, '--state-dir', join(work, 'agent-state'), '--endpoints-file', endpointsFile,
    '--netns', `/run/netns/${NODE_NS}`, '--poll-interval', `${POLL_INTERVAL_S}s`, '--flow-interval', `${FLOW_INTERVAL_S}s`,
  ];
  say(`  npm run agent -- ${agentArgs.join(' ')}`);
  onCleanup('bpf pins', () => rmSync(PIN_DIR, { recursive: true, force: true }));
  guard();
  const agent = spawn(process.execPath, ['--import', 'tsx', join(root, 'agent/src/main.ts'), ...agentArgs], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  onCleanup('agent', () => stopChild(agent));
  createInterface({ input: agent.stderr! }).on('line', (line) => {
    try {
      const l = JSON.parse(line) as { level: string; msg: string; [k: string]: unknown };
      const { time: _t, level, msg, ...fields } = l;
      say(`  [agent] ${level === 'info' ? '' : `${level}: `}${msg} ${Object.keys(fields).length ? JSON.stringify(fields) : ''}`);
    } catch {
      say(`  [agent] ${line}`);
    }
  });
  agent.once('exit', (code) => code !== 0 && code !== null && stopping === undefined && warn(`  [agent] exited with ${code}`));

  step('4. A fleet policy over REST: web accepts TCP 8080 from app=api only');
  const policy = {
    apiVersion: 'fleetnet.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web-from-api' },
    spec: {
      targets: { clusterIds: ['demo'] },
      endpointSelector: { matchLabels: { app: 'web' } },
      ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }],
    },
  };
  const written = (await rest('PUT', '/networkpolicies/web-from-api', policy)) as { metadata?: { generation?: number } };
  say(`  PUT /networkpolicies/web-from-api\n  ${JSON.stringify(policy.spec)}`);
  // Desired state is compiled just after the write returns: read the manifest (as the agent does) until
  // it lists this generation, then wait for the node to report that revision.
  const generation = written.metadata?.generation ?? 1;
  const deadline = Date.now() + 30_000;
  let revision = 0;
  for (;;) {
    const ds = await fetch(`${host.baseUrl}/clusters/demo/nodes/demo-node/desiredstate`, {
      headers: { authorization: `Bearer ${readFileSync(tokenFile, 'utf8')}`, accept: DESIRED_STATE_MEDIA_TYPE },
    });
    const manifest = ds.ok ? ((await ds.json()) as DesiredState) : undefined;
    if (manifest?.policies.some((p) => p.name === 'web-from-api' && p.generation === generation)) {
      revision = manifest.revision;
      say(`  desired state revision ${revision}: ${manifest.policies.map((p) => `${p.name}@${p.generation}`).join(', ')}`);
      break;
    }
    if (Date.now() > deadline) throw new Error('the API did not compile the policy into the desired state within 30 s');
    await sleep(100);
  }
  for (;;) {
    const node = (await rest('GET', '/clusters/demo/nodes/demo-node').catch(() => ({}))) as { status?: { observedRevision?: number; conditions?: { type: string; status: string }[] } };
    if ((node.status?.observedRevision ?? 0) >= revision) {
      say(`  node demo-node reports observedRevision ${node.status?.observedRevision}: ${node.status?.conditions?.map((c) => `${c.type}=${c.status}`).join(', ')}`);
      break;
    }
    if (Date.now() > deadline) throw new Error('the agent did not program the policy within 30 s');
    if (agent.exitCode !== null) throw new Error('the agent exited');
    await sleep(200);
  }

  step('5. Real packets');
  const since = new Date(Date.now() - 1000).toISOString();
  const web = PODS[0];
  const server = startTcpServer(web.ns, 8080);
  await new Promise<void>((r) => createInterface({ input: server.stdout! }).once('line', () => r()));
  const allowed = tcpConnect(PODS[1].ns, web.ip, 8080);
  say(`  api → web:8080  ${allowed ? 'ALLOWED ✔ (echo received)' : 'FAILED ✘'}`);
  const dropped = !tcpConnect(PODS[2].ns, web.ip, 8080);
  say(`  db  → web:8080  ${dropped ? 'DROPPED ✔ (no answer: the SYN was dropped at web\'s veth)' : 'CONNECTED ✘'}`);

  step(`6. Flow summaries the API received (one flow interval = ${FLOW_INTERVAL_S}s)`);
  say(`  POST /flows/query {"since": "${since}"}`);
  const want = Date.now() + (FLOW_INTERVAL_S + 5) * 1000;
  let records: { node_name: string; flow: FlowSummary }[] = [];
  for (;;) {
    records = ((await rest('POST', '/flows/query', { since, maxPageSize: 1000 })) as unknown as { items: { node_name: string; flow: FlowSummary }[] }).items;
    const verdicts = new Set(records.map((r) => r.flow.verdict));
    if ((verdicts.has('DROPPED') && verdicts.has('FORWARDED')) || Date.now() > want) break;
    await sleep(500);
  }
  if (records.length === 0) say('  (none yet — the agent keeps its batches spooled until the API accepts them)');
  for (const { flow: s } of records) {
    const port = s.l4.destination_port === undefined ? '' : `:${s.l4.destination_port}`;
    say(
      `  ${s.verdict.padEnd(9)} ${s.traffic_direction.padEnd(7)} ${describeEndpoint(s.source)} → ${describeEndpoint(s.destination)}${port}/${s.l4.protocol}` +
        `  packets=${s.packets} bytes=${s.bytes} flows=${s.flows}` +
        (s.policy ? `  policy=${s.policy.name}@${s.policy.revision}` : '') +
        (s.drop_reason_desc ? `  ${s.drop_reason_desc}` : ''),
    );
  }
  if (!allowed || !dropped) throw new Error('enforcement did not behave as the policy says');
  if (!keep) {
    step('Done — cleaning up (agent, API, pins, namespaces)');
    return;
  }
  const token = await issuer.mintToken({ role: 'Fleet.Admin', objectId: 'demo-admin', expiresInSeconds: 8 * 3600 });
  step('Kept running (--keep): the API, the agent, the pods and web\'s echo server on :8080');
  say('  In another shell (as root for nsenter):');
  say(`    export FLEETNET_API_URL=${host.baseUrl}`);
  say(`    export FLEETNET_TOKEN=${token}`);
  say('    npm run -s fleetnet -- flows --since 10m');
  say('    npm run -s fleetnet -- policy list');
  say(`    nsenter --net=/run/netns/${PODS[2].ns} -- curl -s -m 2 http://${web.ip}:8080/   # db → web: dropped`);
  say(`  Stop and clean up: Ctrl-C here, or kill ${process.pid}. If this process is killed with SIGKILL, remove`);
  say('  what it leaves with: npm run demo -- --cleanup');
  await new Promise<never>(() => setInterval(() => undefined, 1 << 30));
}


// ---- entry ------------------------------------------------------------------------------------

const args = process.argv.slice(2);
const known = new Set(['--help', '-h', '--keep', '--cleanup']);
const unknown = args.filter((a) => !known.has(a));
if (args.includes('--help') || args.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}
if (unknown.length > 0) {
  console.error(`npm run demo: unknown option ${unknown.join(' ')} (npm run demo -- --help)`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('npm run demo needs root (network namespaces and eBPF): sudo npm run demo');
  process.exit(1);
}
if (args.includes('--cleanup')) {
  const removed = cleanupLeftovers();
  console.log(removed === 0 ? 'nothing left over by earlier demos' : `removed ${removed} leftover(s) of earlier demos`);
  process.exit(0);
}

let exitCode = 0;
try {
  await main(args.includes('--keep'));
} catch (e) {
  if (e instanceof Stopping || exiting) await new Promise<never>(() => undefined); // stop() exits
  warn(`\ndemo failed: ${(e as Error).message}`);
  exitCode = 1;
}
if (!exiting) {
  exiting = true;
  await cleanup();
  process.exit(exitCode);
}
