/**
 * A helper process inside a network namespace, driven over stdio with JSON lines: each request
 * {id, op, ...args} gets one response {id, ...} (or {id, failure}); the process announces itself
 * with {id: 0} when ready. Started with nsenter --net=… (never `ip netns exec`, which hides bpffs).
 * Used by the traffic peer (netns.ts Peer) and the raw frame port (raw-frames.ts RawPort).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export class NsChild {
  private nextId = 1;
  private readonly pending = new Map<number, (v: Record<string, unknown>) => void>();

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      const cb = this.pending.get(Number(msg.id));
      this.pending.delete(Number(msg.id));
      cb?.(msg);
    });
  }

  /** Spawns `cmd args` in the namespace and resolves once it said it is ready; `what` names it in errors. */
  static async start(nsPath: string, cmd: string, args: string[], what: string, cwd?: string): Promise<NsChild> {
    const child = spawn('nsenter', [`--net=${nsPath}`, '--', cmd, ...args], cwd ? { cwd } : {});
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const c = new NsChild(child);
    await new Promise<void>((resolve, reject) => {
      c.pending.set(0, () => resolve());
      child.once('exit', (code) => reject(new Error(`${what} in ${nsPath} exited ${code}: ${stderr}`)));
    });
    return c;
  }

  /** One request; resolves with the response's fields but `id`, rejects on `failure`. */
  request(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => {
        const { id: _id, failure, ...rest } = m;
        if (failure !== undefined) reject(new Error(String(failure)));
        else resolve(rest);
      });
      this.child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  stop(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
