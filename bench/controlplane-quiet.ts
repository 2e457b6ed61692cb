import { readFileSync } from 'node:fs';

/** CPU (user + system) a process has used so far, in ms (Linux /proc/<pid>/stat; clock ticks of 10 ms). */
function processCpuMillis(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Waits until the given processes together use less than `percent` of one core over `windowMs`, or `maxMs`
 * passed: work a previous request left running (a fan-out that outlived its failed request, a background
 * compile) must not be billed to the next measurement. Returns the ms waited.
 */
export async function waitForQuiet(pids: readonly number[], options: { percent?: number; windowMs?: number; maxMs?: number } = {}): Promise<number> {
  const { percent = 10, windowMs = 300, maxMs = 30_000 } = options;
  const started = performance.now();
  const total = () => pids.reduce((sum, pid) => sum + processCpuMillis(pid), 0);
  for (;;) {
    const before = total();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    if (((total() - before) / windowMs) * 100 < percent || performance.now() - started > maxMs) return performance.now() - started;
  }
}
