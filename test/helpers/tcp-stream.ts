/**
 * A long-lived TCP connection from inside a network namespace (nsenter, no /sys remount): sends a
 * small message every `everyMs` and expects its echo back within `timeoutMs`. `stop()` closes it and
 * returns how many round trips succeeded and whether any failed or the connection broke — a
 * connection "survives" when failures = 0 and it was never reset.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface StreamResult {
  ok: number;
  failures: number;
  closed: boolean;
  error?: string;
}

const SCRIPT = `
const [host, port, everyMs, timeoutMs] = process.argv.slice(1);
const net = require('net');
let ok = 0, failures = 0, closed = false, error, waiting = null;
const s = net.connect(Number(port), host);
s.setNoDelay(true);
s.on('error', (e) => { error = e.message; closed = true; });
s.on('close', () => { closed = true; });
s.on('data', () => { if (waiting) { clearTimeout(waiting); waiting = null; ok++; } });
s.on('connect', () => {
  console.log(JSON.stringify({ connected: true }));
  setInterval(() => {
    if (closed) return;
    if (waiting) return; // previous round trip still pending (counted on its timeout)
    s.write('x');
    waiting = setTimeout(() => { waiting = null; failures++; }, Number(timeoutMs));
  }, Number(everyMs));
});
process.stdin.on('data', () => { console.log(JSON.stringify({ ok, failures, closed, error })); process.exit(0); });
`;

export class TcpStream {
  private constructor(
    private readonly child: ReturnType<typeof spawn>,
    private readonly lines: AsyncIterator<string>,
  ) {}

  static async open(nsPath: string, host: string, port: number, everyMs = 50, timeoutMs = 1000): Promise<TcpStream> {
    const child = spawn('nsenter', [`--net=${nsPath}`, '--', process.execPath, '-e', SCRIPT, host, String(port), String(everyMs), String(timeoutMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await Promise.race([lines.next(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('TCP stream did not connect')), 3000))]);
    if (first.done || !(JSON.parse(first.value) as { connected?: boolean }).connected) throw new Error('TCP stream did not connect');
    return new TcpStream(child, lines);
  }

  async stop(): Promise<StreamResult> {
    this.child.stdin!.write('stop\n');
    const r = await this.lines.next();
    this.child.kill();
    return JSON.parse(String(r.value)) as StreamResult;
  }

  kill(): void {
    this.child.kill();
  }
}
