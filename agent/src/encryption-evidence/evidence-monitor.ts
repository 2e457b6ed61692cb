/**
 * Keeps the node's latest encryption evidence: one read at start(), then one every `intervalMs`
 * (the agent's default: 60 s), never two at once. `onChange` is called when a read differs from the
 * previous one in anything but `observedAt` (an interface appears or goes, up/down, peer counts, the
 * source or the error), so the agent reports its status then rather than at its next programming.
 */
import type { NodeEncryptionEvidence } from '../../../openapi/types.js';

export interface EvidenceMonitorOptions {
  /** must not throw (readEncryptionEvidence does not); a throw is kept as an `error` evidence */
  read: () => Promise<NodeEncryptionEvidence>;
  intervalMs: number;
  onChange?: (evidence: NodeEncryptionEvidence) => void;
  now?: () => Date;
}

/** The evidence without its timestamp, as a comparable string. */
export function evidenceDigest(e: NodeEncryptionEvidence): string {
  const { observedAt: _, ...rest } = e;
  return JSON.stringify(rest);
}

export class EncryptionEvidenceMonitor {
  private current: NodeEncryptionEvidence | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private reading: Promise<void> | undefined;

  constructor(private readonly options: EvidenceMonitorOptions) {}

  /** The last evidence read (undefined before the first read completes). */
  latest(): NodeEncryptionEvidence | undefined {
    return this.current;
  }

  /** Reads once (resolves when that read is done), then every intervalMs until stop(). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.readOnce();
    this.schedule();
  }

  /** Reads now (the read in flight, if any, is awaited instead). */
  readOnce(): Promise<void> {
    this.reading ??= this.doRead().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.reading;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.readOnce().then(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref?.();
  }

  private async doRead(): Promise<void> {
    let next: NodeEncryptionEvidence;
    try {
      next = await this.options.read();
    } catch (e) {
      const now = (this.options.now ?? (() => new Date()))();
      next = { observedAt: now.toISOString(), source: 'agent', wireguardInterfaces: [], error: `evidence could not be read: ${(e as Error).name}` };
    }
    if (this.stopped && this.current) return;
    const changed = this.current === undefined || evidenceDigest(this.current) !== evidenceDigest(next);
    this.current = next;
    if (changed) this.options.onChange?.(next);
  }
}
