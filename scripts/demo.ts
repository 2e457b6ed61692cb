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
 * Everything (agent, API, pins, namespaces, temp files) is removed at the end, also on failure or ^C.
 * Uses nsenter --net=… (never `ip netns exec`, which hides /sys/fs/bpf).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DESIRED_STATE_MEDIA_TYPE } from '../core/bundle/desired-state-format.js';
import type { DesiredState, FlowSummary } from '../openapi/types.js';
import { createAppServices } from '../functions/src/app-services.js';
import { loadOrCreateDevIssuer } from '../functions/src/auth/dev-issuer.js';
import { startLocalHost } from '../functions/src/local-host/local-host.js';
import { createOperations } from '../functions/src/routes.js';
import { openCosmos } from '../functions/src/store/open-cosmos.js';
import { findRepoRoot } from '../agent/src/kernel/native-binding.js';

const FLOW_INTERVAL_S = 3;
const POLL_INTERVAL_S = 1;
const tag = `fndemo${process.pid}`;
const NODE_NS = `${tag}n`;
const PODS = [
  { name: 'web', ns: `${tag}p1`, ip: '10.201.1.2', gw: '10.201.1.1', veth: 'dweb', labels: { app: 'web' } },
  { name: 'api', ns: `${tag}p2`, ip: '10.201.2.2', gw: '10.201.2.1', veth: 'dapi', labels: { app: 'api' } },
  { name: 'db', ns: `${tag}p3`, ip: '10.201.3.2', gw: '10.201.3.1', veth: 'ddb', labels: { app: 'db' } },
] as const;
const PIN_DIR = `/sys/fs/bpf/fleetnet-demo-${process.pid}`;
const root = findRepoRoot();

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (s: string) => console.log(`\n${bold(`▶ ${s}`)}`);
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const inNs = (ns: string, cmd: string, args: string[]) => run('nsenter', [`--net=/run/netns/${ns}`, '--', cmd, ...args]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanups: { what: string; fn: () => unknown }[] = [];
const onCleanup = (what: string, fn: () => unknown) => cleanups.push({ what, fn });
async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c.fn();
    } catch (e) {
      console.error(`  cleanup of ${c.what} failed: ${(e as Error).message}`);
    }
  }
}

function createTopology(): void {
  run('ip', ['netns', 'add', NODE_NS]);
  onCleanup(`netns ${NODE_NS}`, () => run('ip', ['netns', 'del', NODE_NS]));
  run('ip', ['-n', NODE_NS, 'link', 'set', 'lo', 'up']);
  inNs(NODE_NS, 'sh', ['-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
  for (const p of PODS) {
    run('ip', ['netns', 'add', p.ns]);
    onCleanup(`netns ${p.ns}`, () => run('ip', ['netns', 'del', p.ns]));
    run('ip', ['-n', NODE_NS, 'link', 'add', p.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns]);
    run('ip', ['-n', NODE_NS, 'addr', 'add', `${p.gw}/24`, 'dev', p.veth]);
    run('ip', ['-n', NODE_NS, 'link', 'set', p.veth, 'up']);
    run('ip', ['-n', p.ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', p.ns, 'addr', 'add', `${p.ip}/24`, 'dev', 'eth0']);
    run('ip', ['-n', p.ns, 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', p.ns, 'route', 'add', 'default', 'via', p.gw]);
    console.log(`  pod ${p.name.padEnd(3)} ${p.ip}  (netns ${p.ns}, host veth ${p.veth} in ${NODE_NS})`);
  }
}

/** TCP echo server in a pod namespace. */
function startTcpServer(ns: string, port: number): ChildProcess {
  const code = `require('net').createServer((c) => { c.on('error', () => {}); c.pipe(c); }).listen(${port}, '0.0.0.0', () => console.log('ready'));`;
  const child = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  onCleanup(`server in ${ns}`, () => child.kill());
  return child;
}

/** One TCP connection + echo from a pod namespace: true when the echo came back. */
function tcpConnect(ns: string, host: string, port: number, timeoutMs = 1500): boolean {
  const code = `const s = require('net').connect(${port}, '${host}'); const t = setTimeout(() => process.exit(2), ${timeoutMs});
s.on('connect', () => s.write('hello fleetnet')); s.on('data', () => { clearTimeout(t); s.end(); process.exit(0); }); s.on('error', () => process.exit(1));`;
  try {
    inNs(ns, process.execPath, ['-e', code]);
    return true;
  } catch {
    return false;
  }
}

function describeEndpoint(e: FlowSummary['source']): string {
  if (e.pod_name) return `${e.namespace}/${e.pod_name}`;
  return e.labels?.[0] ?? `identity ${e.identity}`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('npm run demo needs root (network namespaces and eBPF).');
  if (!/ \/sys\/fs\/bpf bpf /.test(readFileSync('/proc/mounts', 'utf8'))) {
    mkdirSync('/sys/fs/bpf', { recursive: true });
    run('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  }
  const work = mkdtempSync(join(tmpdir(), 'fleetnet-demo-'));
  onCleanup('temp dir', () => rmSync(work, { recursive: true, force: true }));

  step('1. Network namespaces: one node, three pods');
  createTopology();

  step('2. The fleetnet API, in-process (embedded Cosmos, dev token issuer)');
  const cosmos = await openCosmos();
  onCleanup('embedded Cosmos', () => cosmos.close());
  const issuerDir = join(work, 'issuer');
  const services = await createAppServices({ env: { FLEETNET_AUTH_DEV_ISSUER_DIR: issuerDir, FLEETNET_DESIRED_STATE_CACHE_MS: '0' }, cosmos });
  onCleanup('API services', () => services.close());
  const host = await startLocalHost({ operations: createOperations(async () => services) });
  onCleanup('API host', () => host.close());
  const issuer = await loadOrCreateDevIssuer(issuerDir);
  const admin = await issuer.mintToken({ role: 'Fleet.Admin', objectId: 'demo-admin' });
  console.log(`  API at ${host.baseUrl}`);

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
  console.log('  PUT /clusters/demo  (agent identity: demo-agent)');

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
  console.log(`  npm run agent -- ${agentArgs.join(' ')}`);
  onCleanup('bpf pins', () => rmSync(PIN_DIR, { recursive: true, force: true }));
  const agent = spawn(process.execPath, ['--import', 'tsx', join(root, 'agent/src/main.ts'), ...agentArgs], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  onCleanup('agent', () => new Promise<void>((r) => (agent.exitCode !== null ? r() : (agent.once('exit', () => r()), agent.kill('SIGTERM')))));
  createInterface({ input: agent.stderr! }).on('line', (line) => {
    try {
      const l = JSON.parse(line) as { level: string; msg: string; [k: string]: unknown };
      const { time: _t, level, msg, ...fields } = l;
      console.log(`  [agent] ${level === 'info' ? '' : `${level}: `}${msg} ${Object.keys(fields).length ? JSON.stringify(fields) : ''}`);
    } catch {
      console.log(`  [agent] ${line}`);
    }
  });
  agent.once('exit', (code) => code !== 0 && code !== null && console.error(`  [agent] exited with ${code}`));

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
  console.log(`  PUT /networkpolicies/web-from-api\n  ${JSON.stringify(policy.spec)}`);
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
      console.log(`  desired state revision ${revision}: ${manifest.policies.map((p) => `${p.name}@${p.generation}`).join(', ')}`);
      break;
    }
    if (Date.now() > deadline) throw new Error('the API did not compile the policy into the desired state within 30 s');
    await sleep(100);
  }
  for (;;) {
    const node = (await rest('GET', '/clusters/demo/nodes/demo-node').catch(() => ({}))) as { status?: { observedRevision?: number; conditions?: { type: string; status: string }[] } };
    if ((node.status?.observedRevision ?? 0) >= revision) {
      console.log(`  node demo-node reports observedRevision ${node.status?.observedRevision}: ${node.status?.conditions?.map((c) => `${c.type}=${c.status}`).join(', ')}`);
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
  console.log(`  api → web:8080  ${allowed ? 'ALLOWED ✔ (echo received)' : 'FAILED ✘'}`);
  const dropped = !tcpConnect(PODS[2].ns, web.ip, 8080);
  console.log(`  db  → web:8080  ${dropped ? 'DROPPED ✔ (no answer: the SYN was dropped at web\'s veth)' : 'CONNECTED ✘'}`);

  step(`6. Flow summaries the API received (one flow interval = ${FLOW_INTERVAL_S}s)`);
  console.log(`  POST /flows/query {"since": "${since}"}`);
  const want = Date.now() + (FLOW_INTERVAL_S + 5) * 1000;
  let records: { node_name: string; flow: FlowSummary }[] = [];
  for (;;) {
    records = ((await rest('POST', '/flows/query', { since, maxPageSize: 1000 })) as unknown as { items: { node_name: string; flow: FlowSummary }[] }).items;
    const verdicts = new Set(records.map((r) => r.flow.verdict));
    if ((verdicts.has('DROPPED') && verdicts.has('FORWARDED')) || Date.now() > want) break;
    await sleep(500);
  }
  if (records.length === 0) console.log('  (none yet — the agent keeps its batches spooled until the API accepts them)');
  for (const { flow: s } of records) {
    const port = s.l4.destination_port === undefined ? '' : `:${s.l4.destination_port}`;
    console.log(
      `  ${s.verdict.padEnd(9)} ${s.traffic_direction.padEnd(7)} ${describeEndpoint(s.source)} → ${describeEndpoint(s.destination)}${port}/${s.l4.protocol}` +
        `  packets=${s.packets} bytes=${s.bytes} flows=${s.flows}` +
        (s.policy ? `  policy=${s.policy.name}@${s.policy.revision}` : '') +
        (s.drop_reason_desc ? `  ${s.drop_reason_desc}` : ''),
    );
  }
  if (!allowed || !dropped) throw new Error('enforcement did not behave as the policy says');
  step('Done — cleaning up (agent, API, pins, namespaces)');
}

let exitCode = 0;
process.on('SIGINT', () => {
  console.error('\ninterrupted — cleaning up');
  void cleanup().then(() => process.exit(130));
});
try {
  await main();
} catch (e) {
  console.error(`\ndemo failed: ${(e as Error).message}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
