/**
 * The desired-state loop: load the last-known-good bundle from disk and enforce it at once; register
 * the node; poll getDesiredState with If-None-Match every `pollIntervalMs`; on a new bundle persist it
 * (atomically) and program it; report status after every programming. Errors never stop the loop and
 * never touch what the kernel enforces: retries use full-jitter exponential backoff with the server's
 * Retry-After as a floor.
 *
 * Programming is serialized: `program` is called for a new bundle and, through `reprogram()`, when
 * the endpoints change (identity source events).
 */
import type { DesiredState, NodeCondition, NodeSpec } from '../../../openapi/types.js';
import { ApiError, type ApiClient } from './api-client.js';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.js';
import { loadBundle, saveBundle } from './bundle-store.js';
import { buildNodeStatus, type ProgramOutcome } from './node-status.js';
import { sleep } from './sleep.js';

export type Logger = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface SyncLoopOptions {
  client: ApiClient;
  stateDir: string;
  nodeSpec: NodeSpec;
  nodeLabels?: Record<string, string>;
  pollIntervalMs: number;
  /** compile + apply `bundle` against the current endpoints; must not throw for bad input */
  program: (bundle: DesiredState) => Promise<ProgramOutcome>;
  backoff?: BackoffPolicy;
  random?: () => number;
  log?: Logger;
}

export interface SyncState {
  etag?: string;
  bundle?: DesiredState;
  /** revision last programmed successfully */
  observedRevision?: number;
  lastOutcome?: ProgramOutcome;
  registered: boolean;
  /** consecutive failed API calls */
  failures: number;
  polls: number;
}

export class SyncLoop {
  readonly state: SyncState = { registered: false, failures: 0, polls: 0 };
  private conditions: NodeCondition[] = [];
  private statusPending = false;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;
  private readonly wake = new EventTarget();

  constructor(private readonly options: SyncLoopOptions) {
    this.log = options.log ?? (() => undefined);
  }

  /** Loads the last-known-good bundle (if any) and programs it. Call before run(). */
  async loadLastKnownGood(): Promise<boolean> {
    let stored;
    try {
      stored = await loadBundle(this.options.stateDir);
    } catch (e) {
      this.log('warn', 'last-known-good bundle unreadable; waiting for the API', { error: (e as Error).message });
      return false;
    }
    if (!stored) return false;
    this.state.etag = stored.etag;
    this.state.bundle = stored.bundle;
    this.log('info', 'enforcing last-known-good bundle', { revision: stored.bundle.revision, savedAt: stored.savedAt });
    await this.programCurrent();
    return true;
  }

  /** Re-programs the current bundle (endpoints changed). Status is reported on the next loop turn. */
  reprogram(): Promise<void> {
    if (!this.state.bundle) return Promise.resolve();
    return this.programCurrent().then(() => {
      this.wake.dispatchEvent(new Event('wake'));
    });
  }

  /** Runs until `signal` aborts. Never throws for API errors. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let delay = this.options.pollIntervalMs;
      try {
        if (!this.state.registered) {
          await this.options.client.registerNode(this.options.nodeSpec, this.options.nodeLabels);
          this.state.registered = true;
          this.log('info', 'node registered');
        }
        await this.pollOnce();
        if (this.statusPending) await this.reportStatus();
        this.state.failures = 0;
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError((e as Error).message, -1);
        if (err.status === 404) this.state.registered = false; // node deleted server-side: register again
        delay = backoffDelay(this.state.failures, this.options.backoff ?? DEFAULT_BACKOFF, this.options.random, err.retryAfterMs);
        this.state.failures += 1;
        this.log(err.retryable ? 'warn' : 'error', 'API call failed; enforcing the current state, retrying', {
          status: err.status,
          error: err.message,
          retryInMs: delay,
          failures: this.state.failures,
        });
      }
      await this.sleepOrWake(delay, signal);
    }
  }

  /** One poll: 304 → nothing; 200 → persist, program, report. */
  async pollOnce(): Promise<'unchanged' | 'updated'> {
    const r = await this.options.client.getDesiredState(this.state.etag);
    this.state.polls += 1;
    if (r.status === 304) return 'unchanged';
    await saveBundle(this.options.stateDir, r.etag, r.bundle);
    this.state.etag = r.etag;
    this.state.bundle = r.bundle;
    this.log('info', 'new desired state', { revision: r.bundle.revision, policies: r.bundle.policies.length });
    await this.programCurrent();
    await this.reportStatus();
    return 'updated';
  }

  private programCurrent(): Promise<void> {
    const run = async () => {
      const bundle = this.state.bundle;
      if (!bundle) return;
      let outcome: ProgramOutcome;
      try {
        outcome = await this.options.program(bundle);
      } catch (e) {
        outcome = { revision: bundle.revision, programmed: false, reason: 'ApplyFailed', message: (e as Error).message, degraded: [] };
      }
      if (outcome.programmed) this.state.observedRevision = outcome.revision;
      else this.log('error', 'programming failed; the previous state stays enforced', { revision: outcome.revision, reason: outcome.reason, error: outcome.message });
      if (outcome.degraded.length > 0) this.log('warn', 'rules not enforceable (fail-closed)', { degraded: outcome.degraded });
      this.state.lastOutcome = outcome;
      this.statusPending = true;
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async reportStatus(): Promise<void> {
    const outcome = this.state.lastOutcome;
    if (!outcome) return;
    const status = buildNodeStatus(outcome, this.state.observedRevision, this.conditions);
    this.statusPending = true;
    await this.options.client.putNodeStatus(status);
    this.conditions = status.conditions ?? [];
    if (this.state.lastOutcome === outcome) this.statusPending = false;
  }

  private sleepOrWake(ms: number, signal: AbortSignal): Promise<void> {
    const inner = new AbortController();
    const onWake = () => {
      if (this.state.failures === 0) inner.abort(); // after failures, the backoff wins
    };
    const onAbort = () => inner.abort();
    this.wake.addEventListener('wake', onWake);
    signal.addEventListener('abort', onAbort, { once: true });
    return sleep(ms, inner.signal).finally(() => {
      this.wake.removeEventListener('wake', onWake);
      signal.removeEventListener('abort', onAbort);
    });
  }
}
