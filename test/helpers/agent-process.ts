/**
 * The real agent (`agent/src/main.ts`) as a child process, for end-to-end suites: JSON log lines are
 * kept, `waitFor` resolves on a log message, `kill` sends SIGKILL (a crash) or SIGTERM (a stop).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { findRepoRoot } from '../../agent/src/kernel/native-binding.js';

export interface AgentLogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export class AgentProcess {
  readonly logs: AgentLogLine[] = [];
  private readonly waiters: { test: (l: AgentLogLine) => boolean; resolve: (l: AgentLogLine) => void }[] = [];
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let l: AgentLogLine;
      try {
        l = JSON.parse(line) as AgentLogLine;
      } catch {
        l = { level: 'raw', msg: line };
      }
      this.logs.push(l);
      if (process.env['FLEETNET_TEST_AGENT_LOGS']) process.stderr.write(`[agent ${child.pid}] ${line}\n`);
      for (const w of [...this.waiters]) {
        if (w.test(l)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(l);
        }
      }
    });
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  static start(args: string[]): AgentProcess {
    const root = findRepoRoot();
    const child = spawn(process.execPath, ['--import', 'tsx', `${root}/agent/src/main.ts`, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    return new AgentProcess(child);
  }

  /** Resolves with the first log line (past or future) that matches. */
  waitFor(test: (l: AgentLogLine) => boolean, timeoutMs = 20_000): Promise<AgentLogLine> {
    const seen = this.logs.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { test, resolve };
      this.waiters.push(w);
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`agent log line not seen in ${timeoutMs} ms; last lines:\n${this.logs.slice(-10).map((x) => JSON.stringify(x)).join('\n')}`));
      }, timeoutMs);
      void this.exited.then(() => {
        clearTimeout(t);
        if (this.waiters.includes(w)) reject(new Error(`agent exited; last lines:\n${this.logs.slice(-10).map((x) => JSON.stringify(x)).join('\n')}`));
      });
      const orig = w.resolve;
      w.resolve = (l) => {
        clearTimeout(t);
        orig(l);
      };
    });
  }

  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
