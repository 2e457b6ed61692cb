/**
 * Bounded on-disk spool of flow batches, delivered strictly in sequence order.
 *
 * Layout (`dir`): `batch-<sequence, 12 digits>.json` (one FlowSummaryBatch each) and `state.json`
 * {nextSequence, lost: {batches, summaries}}. Every file is written atomically (temp + fsync +
 * rename), so a crash leaves whole files only; leftover temp files are removed at open.
 *
 * Contract:
 *   - every batch goes through the spool (write first, then deliver), so a crash never loses one;
 *   - bounds: at most `maxFiles` batch files and `maxBytes` bytes; when full the OLDEST batches are
 *     dropped and counted in `lost`; `lost` is persisted and reported in the next delivered batch
 *     (added to that batch's `lost`), then reduced by what was reported once the API answered 2xx;
 *   - a batch file is deleted only after a 2xx; a failed delivery stops the pass (order is kept) and
 *     the same batch (same batchId) is retried next time — the API deduplicates by batchId; a batch the
 *     API refuses for good (the caller's `isPoison`, e.g. 400/413) is deleted and counted as lost;
 *   - `sequence` increases by one per batch and node and survives restarts (max of state and files).
 */
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlowSummaryBatch } from '../../../openapi/types.js';
import { writeFileAtomic } from '../sync/bundle-store.js';

export interface SpoolLimits {
  maxBytes: number;
  maxFiles: number;
}

export interface LostCount {
  batches: number;
  summaries: number;
}

interface SpoolState {
  nextSequence: number;
  lost: LostCount;
}

interface SpoolFile {
  name: string;
  sequence: number;
  bytes: number;
  summaries: number;
}

const FILE_RE = /^batch-(\d{12})\.json$/;
const fileName = (sequence: number) => `batch-${String(sequence).padStart(12, '0')}.json`;

export interface DeliveryReport {
  delivered: number;
  remaining: number;
  error?: Error;
}

export class FlowSpool {
  private files: SpoolFile[] = [];
  private state: SpoolState = { nextSequence: 0, lost: { batches: 0, summaries: 0 } };
  private opened = false;
  /** batches refused as poison since open (newest last), for logging */
  readonly rejected: { sequence: number; error: Error }[] = [];

  constructor(
    readonly dir: string,
    readonly limits: SpoolLimits,
  ) {}

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const names = await readdir(this.dir);
    for (const n of names) if (n.includes('.tmp-')) await rm(join(this.dir, n), { force: true });
    try {
      const s = JSON.parse(await readFile(join(this.dir, 'state.json'), 'utf8')) as Partial<SpoolState>;
      this.state = { nextSequence: s.nextSequence ?? 0, lost: { batches: s.lost?.batches ?? 0, summaries: s.lost?.summaries ?? 0 } };
    } catch {
      /* fresh spool (or an unreadable state: sequence recovered from the files below) */
    }
    this.files = [];
    for (const n of names) {
      const m = FILE_RE.exec(n);
      if (!m) continue;
      const st = await stat(join(this.dir, n));
      this.files.push({ name: n, sequence: Number(m[1]), bytes: st.size, summaries: -1 });
    }
    this.files.sort((a, b) => a.sequence - b.sequence);
    const last = this.files.at(-1);
    if (last) this.state.nextSequence = Math.max(this.state.nextSequence, last.sequence + 1);
    this.opened = true;
  }

  get lost(): LostCount {
    return { ...this.state.lost };
  }

  get pending(): number {
    return this.files.length;
  }

  get bytes(): number {
    return this.files.reduce((s, f) => s + f.bytes, 0);
  }

  /** Assigns the next sequence, writes the batch durably, then enforces the bounds (dropping the
   *  oldest batches, counted). Returns the stored batch. */
  async enqueue(batch: Omit<FlowSummaryBatch, 'sequence'>): Promise<FlowSummaryBatch> {
    this.assertOpen();
    const stored: FlowSummaryBatch = { ...batch, sequence: this.state.nextSequence };
    const text = JSON.stringify(stored);
    const name = fileName(stored.sequence);
    await writeFileAtomic(join(this.dir, name), text);
    this.state.nextSequence += 1;
    this.files.push({ name, sequence: stored.sequence, bytes: Buffer.byteLength(text), summaries: stored.summaries.length });
    while (this.files.length > 0 && (this.files.length > this.limits.maxFiles || this.bytes > this.limits.maxBytes)) {
      const oldest = this.files[0]!;
      const summaries = oldest.summaries >= 0 ? oldest.summaries : await this.countSummaries(oldest);
      await rm(join(this.dir, oldest.name), { force: true });
      this.files.shift();
      this.state.lost.batches += 1;
      this.state.lost.summaries += summaries;
    }
    await this.saveState();
    return stored;
  }

  /** Delivers spooled batches oldest first until one fails. `send` must resolve only on a 2xx.
   *  `isPoison(error)`: the API will never accept this batch (e.g. 400/413) — it is deleted and
   *  counted as lost instead of blocking the spool forever. */
  async deliver(send: (batch: FlowSummaryBatch) => Promise<void>, isPoison: (error: unknown) => boolean = () => false): Promise<DeliveryReport> {
    this.assertOpen();
    let delivered = 0;
    while (this.files.length > 0) {
      const head = this.files[0]!;
      let batch: FlowSummaryBatch;
      try {
        batch = JSON.parse(await readFile(join(this.dir, head.name), 'utf8')) as FlowSummaryBatch;
      } catch {
        // unreadable (should not happen with atomic writes): count it as lost rather than block the spool
        await rm(join(this.dir, head.name), { force: true });
        this.files.shift();
        this.state.lost.batches += 1;
        await this.saveState();
        continue;
      }
      const reported = { ...this.state.lost };
      const withLost: FlowSummaryBatch =
        reported.batches > 0 || reported.summaries > 0
          ? { ...batch, lost: { batches: (batch.lost?.batches ?? 0) + reported.batches, summaries: (batch.lost?.summaries ?? 0) + reported.summaries } }
          : batch;
      try {
        await send(withLost);
      } catch (e) {
        if (!isPoison(e)) return { delivered, remaining: this.files.length, error: e as Error };
        await rm(join(this.dir, head.name), { force: true });
        this.files.shift();
        this.state.lost.batches += 1;
        this.state.lost.summaries += batch.summaries.length;
        await this.saveState();
        this.rejected.push({ sequence: batch.sequence, error: e as Error });
        continue;
      }
      await rm(join(this.dir, head.name), { force: true });
      this.files.shift();
      this.state.lost.batches -= reported.batches;
      this.state.lost.summaries -= reported.summaries;
      if (reported.batches > 0 || reported.summaries > 0) await this.saveState();
      delivered += 1;
    }
    return { delivered, remaining: 0 };
  }

  private async countSummaries(f: SpoolFile): Promise<number> {
    try {
      return (JSON.parse(await readFile(join(this.dir, f.name), 'utf8')) as FlowSummaryBatch).summaries.length;
    } catch {
      return 0;
    }
  }

  private saveState(): Promise<void> {
    return writeFileAtomic(join(this.dir, 'state.json'), JSON.stringify(this.state));
  }

  private assertOpen(): void {
    if (!this.opened) throw new Error('FlowSpool: call open() first');
  }
}
