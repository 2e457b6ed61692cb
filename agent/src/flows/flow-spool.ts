/**
 * Bounded on-disk spool of flow batches, delivered strictly in sequence order.
 *
 * Layout (`dir`): `batch-<sequence, 12 digits>.json` (one FlowSummaryBatch each) and `state.json`
 * {nextSequence, lost: {batches, summaries, packets, bytes, flows}, kernel?: {lostPackets, lostBytes,
 * lostFlows}}. Every file is written atomically (temp + fsync + rename), so a crash leaves whole files
 * only; leftover temp files are removed at open.
 *
 * Contract:
 *   - every batch goes through the spool (write first, then deliver), so a crash never loses one;
 *   - bounds: at most `maxFiles` batch files and `maxBytes` bytes; when full the OLDEST batches are
 *     dropped and counted in `lost`; `lost` is persisted and reported in the next delivered batch
 *     (added to that batch's `lost`), then reduced by what was reported once the API answered 2xx;
 *   - a batch's own `lost` (the kernel's packets/bytes/flows of its window, see kernel-loss.ts) is
 *     stored in its file; when the spool drops that batch (bounds, poison), its `lost` is added to the
 *     spool's, so kernel losses reach the API with the next delivered batch instead of vanishing
 *     (only an unreadable batch file — impossible with atomic writes — loses what it carried);
 *   - `kernel`: the cumulative kernel counters accounted for up to the newest batch, written in the
 *     same state write as that batch's sequence (enqueue) or alone (recordKernelCounters);
 *   - a batch file is deleted only after a 2xx; a failed delivery stops the pass (order is kept) and
 *     the same batch (same batchId) is retried next time — the API deduplicates by batchId; a batch the
 *     API refuses for good (the caller's `isPoison`, e.g. 400/413) is deleted and counted as lost;
 *   - `sequence` increases by one per batch and node and survives restarts (max of state and files).
 */
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlowSummaryBatch } from '../../../openapi/types.js';
import { addLost, hasLoss, type LostCounts } from '../../../core/flows/flow-coverage.js';
import { writeFileAtomic } from '../sync/bundle-store.js';
import { sameCounters, type KernelLossCounters } from './kernel-loss.js';

export interface SpoolLimits {
  maxBytes: number;
  maxFiles: number;
}

/** Spool drops (batches, summaries) and kernel losses (packets, bytes, flows) not yet reported. */
export type LostCount = Required<LostCounts>;

interface SpoolState {
  nextSequence: number;
  lost: LostCount;
  kernel?: KernelLossCounters;
}

interface SpoolFile {
  name: string;
  sequence: number;
  bytes: number;
  /** summaries and the batch's own `lost`; undefined for files found at open (read when needed) */
  meta?: { summaries: number; lost: FlowSummaryBatch['lost'] };
}

const NO_LOSS: LostCount = { batches: 0, summaries: 0, packets: 0, bytes: 0, flows: 0 };

/** A loss as FlowSummaryBatch.lost: absent when nothing is lost; kernel fields only when non-zero. */
export function wireLost(lost: LostCount): FlowSummaryBatch['lost'] {
  if (!hasLoss(lost)) return undefined;
  return {
    batches: lost.batches,
    summaries: lost.summaries,
    ...(lost.packets > 0 ? { packets: lost.packets } : {}),
    ...(lost.bytes > 0 ? { bytes: lost.bytes } : {}),
    ...(lost.flows > 0 ? { flows: lost.flows } : {}),
  };
}

const subtractLost = (a: LostCount, b: LostCount): LostCount => ({
  batches: a.batches - b.batches,
  summaries: a.summaries - b.summaries,
  packets: a.packets - b.packets,
  bytes: a.bytes - b.bytes,
  flows: a.flows - b.flows,
});

function isCounters(v: unknown): v is KernelLossCounters {
  const c = v as Partial<KernelLossCounters> | undefined;
  return typeof c?.lostPackets === 'number' && typeof c.lostBytes === 'number' && typeof c.lostFlows === 'number';
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
  private state: SpoolState = { nextSequence: 0, lost: { ...NO_LOSS } };
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
      this.state = { nextSequence: s.nextSequence ?? 0, lost: addLost(NO_LOSS, s.lost), ...(isCounters(s.kernel) ? { kernel: s.kernel } : {}) };
    } catch {
      /* fresh spool (or an unreadable state: sequence recovered from the files below) */
    }
    this.files = [];
    for (const n of names) {
      const m = FILE_RE.exec(n);
      if (!m) continue;
      const st = await stat(join(this.dir, n));
      this.files.push({ name: n, sequence: Number(m[1]), bytes: st.size });
    }
    this.files.sort((a, b) => a.sequence - b.sequence);
    const last = this.files.at(-1);
    if (last) this.state.nextSequence = Math.max(this.state.nextSequence, last.sequence + 1);
    this.opened = true;
  }

  get lost(): LostCount {
    return { ...this.state.lost };
  }

  /** The cumulative kernel loss counters accounted for so far (undefined: never recorded). */
  get kernelCounters(): KernelLossCounters | undefined {
    return this.state.kernel ? { ...this.state.kernel } : undefined;
  }

  /** Persists the kernel counters accounted for when no batch carries them (a window with nothing to
   *  send and nothing lost — e.g. counters re-created at 0). No write when unchanged. */
  async recordKernelCounters(counters: KernelLossCounters): Promise<void> {
    this.assertOpen();
    if (sameCounters(this.state.kernel, counters)) return;
    this.state.kernel = { ...counters };
    await this.saveState();
  }

  get pending(): number {
    return this.files.length;
  }

  get bytes(): number {
    return this.files.reduce((s, f) => s + f.bytes, 0);
  }

  /** Assigns the next sequence, writes the batch durably, then enforces the bounds (dropping the
   *  oldest batches, counted with what they carried in `lost`). `kernelCounters`: the cumulative
   *  counters this batch's `lost` accounts up to, saved in the same state write. Returns the stored batch. */
  async enqueue(batch: Omit<FlowSummaryBatch, 'sequence'>, options: { kernelCounters?: KernelLossCounters } = {}): Promise<FlowSummaryBatch> {
    this.assertOpen();
    const stored: FlowSummaryBatch = { ...batch, sequence: this.state.nextSequence };
    const text = JSON.stringify(stored);
    const name = fileName(stored.sequence);
    await writeFileAtomic(join(this.dir, name), text);
    this.state.nextSequence += 1;
    if (options.kernelCounters) this.state.kernel = { ...options.kernelCounters };
    this.files.push({ name, sequence: stored.sequence, bytes: Buffer.byteLength(text), meta: { summaries: stored.summaries.length, lost: stored.lost } });
    while (this.files.length > 0 && (this.files.length > this.limits.maxFiles || this.bytes > this.limits.maxBytes)) {
      const oldest = this.files[0]!;
      const meta = oldest.meta ?? (await this.readMeta(oldest));
      await rm(join(this.dir, oldest.name), { force: true });
      this.files.shift();
      this.countDropped(meta);
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
        this.countDropped({ summaries: 0, lost: undefined });
        await this.saveState();
        continue;
      }
      const reported = { ...this.state.lost };
      const withLost: FlowSummaryBatch = hasLoss(reported) ? { ...batch, lost: wireLost(addLost(batch.lost, reported)) } : batch;
      try {
        await send(withLost);
      } catch (e) {
        if (!isPoison(e)) return { delivered, remaining: this.files.length, error: e as Error };
        await rm(join(this.dir, head.name), { force: true });
        this.files.shift();
        this.countDropped({ summaries: batch.summaries.length, lost: batch.lost });
        await this.saveState();
        this.rejected.push({ sequence: batch.sequence, error: e as Error });
        continue;
      }
      await rm(join(this.dir, head.name), { force: true });
      this.files.shift();
      this.state.lost = subtractLost(this.state.lost, reported);
      if (hasLoss(reported)) await this.saveState();
      delivered += 1;
    }
    return { delivered, remaining: 0 };
  }

  /** A dropped batch: itself, its summaries and whatever it carried in `lost` become the spool's loss. */
  private countDropped(meta: NonNullable<SpoolFile['meta']>): void {
    this.state.lost = addLost(this.state.lost, addLost({ batches: 1, summaries: meta.summaries }, meta.lost));
  }

  private async readMeta(f: SpoolFile): Promise<NonNullable<SpoolFile['meta']>> {
    try {
      const batch = JSON.parse(await readFile(join(this.dir, f.name), 'utf8')) as FlowSummaryBatch;
      return { summaries: batch.summaries.length, lost: batch.lost };
    } catch {
      return { summaries: 0, lost: undefined };
    }
  }

  private saveState(): Promise<void> {
    return writeFileAtomic(join(this.dir, 'state.json'), JSON.stringify(this.state));
  }

  private assertOpen(): void {
    if (!this.opened) throw new Error('FlowSpool: call open() first');
  }
}
