/**
 * `npm start` and `npm run demo` as a new user meets them (issue 10 items 4 and 5): the busy-port hint,
 * the printed exports, `demo --help` without side effects, and the demo's cleanup on a closed pipe,
 * a failing step, SIGINT, SIGTERM under --keep, and --cleanup of a SIGKILLed demo's leftovers. Runs the scripts as child
 * processes (node --import tsx); the demo parts need root. Whatever a failed test leaves — a child, its
 * namespaces fndemo<pid>*, its pins /sys/fs/bpf/fleetnet-demo-<pid> — is removed in afterEach.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { demoBuildSteps, missingBuildSteps } from '../../scripts/demo-prerequisites.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const isRoot = process.getuid?.() === 0;

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];
const tempDirs: string[] = [];

function runScript(script: string, args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const demoNamespaces = (pid?: number) =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => (pid === undefined ? /^fndemo\d+/.test(n) : new RegExp(`^fndemo${pid}(n|p\\d)$`).test(n)));
const pinDir = (pid: number) => `/sys/fs/bpf/fleetnet-demo-${pid}`;
const demoTempDirs = (pid: number) => readdirSync(tmpdir()).filter((d) => d.startsWith(`fleetnet-demo-${pid}-`));
const processesNaming = (text: string) =>
  readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(text);
      } catch {
        return false;
      }
    });

/** Asserts nothing of demo `pid` is left: namespaces, pins, temp dir, agent. */
function expectNoLeftovers(pid: number): void {
  expect(demoNamespaces(pid)).toEqual([]);
  expect(existsSync(pinDir(pid))).toBe(false);
  expect(demoTempDirs(pid)).toEqual([]);
  expect(processesNaming(pinDir(pid))).toEqual([]);
}

afterEach(() => {
  for (const child of started.splice(0)) {
    const pid = child.pid;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (pid === undefined || !isRoot) continue;
    for (const p of processesNaming(pinDir(pid))) process.kill(Number(p), 'SIGKILL');
    for (const ns of demoNamespaces(pid)) {
      for (const p of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) process.kill(Number(p), 'SIGKILL');
      execFileSync('ip', ['netns', 'del', ns]);
    }
    rmSync(pinDir(pid), { recursive: true, force: true });
    for (const d of demoTempDirs(pid)) rmSync(join(tmpdir(), d), { recursive: true, force: true });
  }
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'fleetnet-start-test-'));
  tempDirs.push(d);
  return d;
};

describe('npm start', () => {
  it('on a busy port prints a one-line hint with a free port, no stack, and exits 1', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const run = runScript('scripts/start.ts', [], { PORT: String(port), HOST: '127.0.0.1', FLEETNET_AUTH_DEV_ISSUER_DIR: tempDir() });
      const { code } = await run.exit;
      expect(code).toBe(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^npm start: port ${port} on 127\\.0\\.0\\.1 is in use: PORT=\\d+ npm start$`));
      expect(run.stderr).not.toMatch(/EADDRINUSE|\n\s+at /);
      expect(run.stdout).toBe('');
    } finally {
      busy.close();
    }
  });

  it('rejects a PORT that is not a number in one line', async () => {
    const run = runScript('scripts/start.ts', [], { PORT: 'http', FLEETNET_AUTH_DEV_ISSUER_DIR: tempDir() });
    expect((await run.exit).code).toBe(1);
    expect(run.stderr.trim()).toBe('npm start: PORT=http is not a port number (0–65535): PORT=7072 npm start');
  });

  it('prints ready-to-paste exports for API, FLEETNET_API_URL and tokens that work, and the console\'s URL', async () => {
    const run = runScript('scripts/start.ts', [], { PORT: '0', HOST: '127.0.0.1', FLEETNET_AUTH_DEV_ISSUER_DIR: tempDir() });
    await waitFor('the exports', () => run.stdout.includes('Ctrl-C to stop'), 20_000);
    const api = /^ {2}export API=(http:\/\/localhost:\d+\/api)$/m.exec(run.stdout)?.[1];
    expect(api).toBeDefined();
    expect(run.stdout).toContain(`  export FLEETNET_API_URL=${api}\n`);
    expect(run.stdout).toMatch(/^ {2}export AGENT_TOKEN=\$\(npm run -s token -- --role Fleet\.Agent --object-id agent-east\)$/m);
    const admin = /^ {2}export ADMIN_TOKEN=(\S+)$/m.exec(run.stdout)?.[1];
    const r = await fetch(`${api}/networkpolicies`, { headers: { authorization: `Bearer ${admin}` } });
    expect(r.status).toBe(200);
    // and the console's URL, which serves the page
    expect(run.stdout).toContain(`Console: ${api}/console/`);
    expect((await fetch(`${api}/console/`)).headers.get('content-type')).toBe('text/html; charset=utf-8');
    run.child.kill('SIGTERM');
    expect((await run.exit).code).toBe(0);
  });
});

describe('demo build prerequisites', () => {
  it('names the build scripts for the eBPF object and the addon when their outputs are absent', () => {
    const fake = tempDir();
    expect(missingBuildSteps(fake).map((s) => s.npmScript)).toEqual(['build:bpf', 'build:native']);
    expect(missingBuildSteps(fake, { FLEETNET_NATIVE_ADDON: '/elsewhere.node' }).map((s) => s.npmScript)).toEqual(['build:bpf']);
    for (const s of demoBuildSteps(fake)) {
      mkdirSync(join(s.output, '..'), { recursive: true });
      writeFileSync(s.output, '');
      expect(existsSync(join(root, s.script))).toBe(true);
    }
    expect(missingBuildSteps(fake)).toEqual([]);
  });
});

describe.skipIf(!isRoot)('npm run demo (root)', () => {
  it('--help answers at once, exits 0 and creates nothing', async () => {
    const before = demoNamespaces();
    const t0 = Date.now();
    const run = runScript('scripts/demo.ts', ['--help']);
    expect((await run.exit).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(run.stdout).toMatch(/^Usage: npm run demo/);
    expect(run.stdout).toContain('--keep');
    expect(run.stdout).toContain('--cleanup');
    expect(demoNamespaces()).toEqual(before);
    expect(existsSync(pinDir(run.child.pid!))).toBe(false);
  });

  it('an unknown option is a usage error (exit 2) that runs nothing', async () => {
    const run = runScript('scripts/demo.ts', ['--kep']);
    expect((await run.exit).code).toBe(2);
    expect(run.stderr).toContain('unknown option --kep');
    expect(demoNamespaces(run.child.pid!)).toEqual([]);
  });

  it('a reader that closes after the first line stops the demo, which cleans up and exits', async () => {
    const run = runScript('scripts/demo.ts', []);
    const pid = run.child.pid!;
    await waitFor('the first line', () => run.stdout.includes('\n'), 20_000);
    run.child.stdout!.destroy();
    const { code } = await Promise.race([run.exit, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('the demo did not exit')), 20_000))]);
    expect(code).toBe(0);
    expect(run.stderr).toContain('stdout closed — stopping the demo and cleaning up');
    expect(run.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expectNoLeftovers(pid);
  });

  it('a pipe closed while the agent runs: agent, pins and namespaces are removed', async () => {
    const run = runScript('scripts/demo.ts', []);
    const pid = run.child.pid!;
    await waitFor('the agent loading the datapath', () => run.stdout.includes('[agent] datapath loaded'), 25_000);
    expect(demoNamespaces(pid)).toHaveLength(4);
    expect(existsSync(pinDir(pid))).toBe(true);
    run.child.stdout!.destroy();
    expect((await run.exit).code).toBe(0);
    expectNoLeftovers(pid);
  });

  it('a failing step (the agent cannot load its addon) reports the failure, cleans up and exits 1', async () => {
    const run = runScript('scripts/demo.ts', [], { FLEETNET_NATIVE_ADDON: '/nonexistent/fleetnet_bpf.node' });
    const pid = run.child.pid!;
    await waitFor('namespaces', () => run.stdout.includes('pod db'), 20_000);
    expect(demoNamespaces(pid)).toHaveLength(4);
    expect((await run.exit).code).toBe(1);
    expect(run.stderr).toMatch(/demo failed: the agent exited/);
    expectNoLeftovers(pid);
  });

  it('SIGINT while the agent runs: cleans up everything and exits 130', async () => {
    const run = runScript('scripts/demo.ts', []);
    const pid = run.child.pid!;
    await waitFor('the agent loading the datapath', () => run.stdout.includes('[agent] datapath loaded'), 25_000);
    expect(existsSync(pinDir(pid))).toBe(true);
    // Exactly one agent. A child the agent forks (execFile of `ip`) carries the agent's command line until
    // it execs, so a single look can see two: the count must be exactly one within 5 s (else this fails).
    await waitFor('exactly one agent process', () => processesNaming(pinDir(pid)).length === 1, 5_000);
    run.child.kill('SIGINT');
    expect((await run.exit).code).toBe(130);
    expect(run.stderr).toContain('interrupted — cleaning up');
    expectNoLeftovers(pid);
  });

  it('--keep leaves API, agent and pods running with the exports to use them; SIGTERM then cleans up', async () => {
    const run = runScript('scripts/demo.ts', ['--keep']);
    const pid = run.child.pid!;
    await waitFor('the --keep summary', () => run.stdout.includes('npm run demo -- --cleanup'), 45_000);
    expect(run.stdout).toContain('ALLOWED ✔');
    expect(run.stdout).toContain('DROPPED ✔');
    const api = /export FLEETNET_API_URL=(\S+)/.exec(run.stdout)?.[1];
    const token = /export FLEETNET_TOKEN=(\S+)/.exec(run.stdout)?.[1];
    const policies = await fetch(`${api}/networkpolicies`, { headers: { authorization: `Bearer ${token}` } });
    expect(policies.status).toBe(200);
    expect(demoNamespaces(pid)).toHaveLength(4);
    expect(existsSync(pinDir(pid))).toBe(true);
    run.child.kill('SIGTERM');
    expect((await run.exit).code).toBe(143);
    expectNoLeftovers(pid);
  }, 60_000);

  it('--cleanup removes what a SIGKILLed demo left (namespaces, pins, temp dir) and nothing of live demos', async () => {
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    const dead = gone.pid!;
    const live = process.pid; // a running process standing in for a demo still in progress
    execFileSync('ip', ['netns', 'add', `fndemo${dead}n`]);
    execFileSync('ip', ['netns', 'add', `fndemo${live}n`]);
    mkdirSync(pinDir(dead), { recursive: true });
    mkdirSync(join(tmpdir(), `fleetnet-demo-${dead}-x`));
    try {
      const run = runScript('scripts/demo.ts', ['--cleanup']);
      expect((await run.exit).code).toBe(0);
      expect(demoNamespaces(dead)).toEqual([]);
      expect(existsSync(pinDir(dead))).toBe(false);
      expect(demoTempDirs(dead)).toEqual([]);
      expect(demoNamespaces(live)).toEqual([`fndemo${live}n`]);
      expect(run.stdout).toContain(`removed netns fndemo${dead}n`);
    } finally {
      for (const ns of [...demoNamespaces(dead), ...demoNamespaces(live)]) execFileSync('ip', ['netns', 'del', ns]);
      rmSync(pinDir(dead), { recursive: true, force: true });
      rmSync(join(tmpdir(), `fleetnet-demo-${dead}-x`), { recursive: true, force: true });
    }
  });
});
