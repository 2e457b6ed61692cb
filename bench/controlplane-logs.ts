import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

/**
 * What the server processes write to stderr, kept out of the bench's report: an overloaded API logs one
 * line per 503, hundreds per round. Lines are grouped by shape (paths and numbers blanked); stack frames
 * are dropped. `summary()` lists each shape once with its count and a first example.
 */
export class ProcessLogs {
  private readonly shapes = new Map<string, { process: string; count: number; example: string }>();
  private readonly recent: string[] = [];

  collect(process: string, stream: Readable): void {
    createInterface({ input: stream }).on('line', (line) => {
      if (/^\s+at /.test(line) || line.trim() === '') return;
      this.recent.push(`[${process}] ${line}`);
      if (this.recent.length > 20) this.recent.shift();
      const shape = `${process}\u0000${line.replace(/\/api\/[^\s:]+/g, '/api/…').replace(/\d+(\.\d+)?/g, 'N')}`;
      const seen = this.shapes.get(shape);
      if (seen) seen.count++;
      else this.shapes.set(shape, { process, count: 1, example: line });
    });
  }

  /** The last lines (any process), for a failure report. */
  tail(): string {
    return this.recent.join('\n');
  }

  summary(): string[] {
    return [...this.shapes.values()].map(({ process, count, example }) => `  ${String(count).padStart(5)} × [${process}] ${example.length > 200 ? `${example.slice(0, 200)}…` : example}`);
  }
}
