/**
 * The desired-state loop: load the last-known-good bundle from disk and enforce it at once; register
 * the node; poll getDesiredState (a fleetnet.io/v2 manifest) with If-None-Match every `pollIntervalMs`;
 * on a new manifest resolve it (reuse the bodies held, fetch and hash-check the others:
 * resolve-manifest.ts), persist the resolved bundle with the manifest's ETag (atomically), program it;
 * report status after every programming. Errors never stop the loop and never touch what the kernel
 * enforces: retries use full-jitter exponential backoff with the server's Retry-After as a floor.
 *
 * All or nothing: a manifest is programmed and persisted only once every body it lists is resolved and
 * verified; until then (404 on a body, hash mismatch, outage) the previous bundle stays enforced and the
 * held ETag stays, so the next poll fetches the manifest again.
 *
 * A desired state the agent cannot take for a reason an operator must fix (format not v2, invalid
 * manifest, body not matching its hash) is logged at error level and reported as `Degraded` True with
 * that reason (node-status.ts) as long as it lasts; the next manifest taken clears it.
 *
 * Every status carries the latest encryption evidence (`encryptionEvidence`, read by the runtime's
 * EncryptionEvidenceMonitor); a change of it is reported through statusChanged().
 *
 * Programming is serialized: `program` is called for a new bundle and, through `reprogram()`, when
 * the endpoints change (identity source events).
 */
import type { ResolvedDesiredState } from '../../../core/bundle/desired-state-format.js';
import type { BundledPolicy, NodeCondition, NodeEncryptionEvidence, NodeSpec } from '../../../openapi/types.js';
import { ApiError, SyncErrorCode, type ApiClient } from './api-client.js';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.js';
import { loadBundle, saveBundle } from './bundle-store.js';
import { buildNodeStatus, type DegradedRule, type ProgramOutcome, type SyncProblem } from './node-status.js';
import { DEFAULT_RESOLVE_CONCURRENCY, resolveManifest } from './resolve-manifest.js';
import { sleep } from './sleep.js';

export type Logger = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface SyncLoopOptions {
  client: ApiClient;
  stateDir: string;
  nodeSpec: NodeSpec;
  nodeLabels?: Record<string, string>;
  pollIntervalMs: number;
  /** compile + apply `bundle` against the current endpoints; must not throw for bad input */
  program: (bundle: ResolvedDesiredState) => Promise<ProgramOutcome>;
  /** parallel policy-body fetches while resolving a manifest (default 8) */
  fetchConcurrency?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  /** rules the agent found unenforceable while running (e.g. the HTTP proxy's h2c refusals), reported in
   *  the Degraded condition after the last program outcome's; call statusChanged() when it changes */
  extraDegraded?: () => readonly DegradedRule[];
  /** the node's latest encryption evidence, put in every status (Node.status.encryption); call
   *  statusChanged() when it changes */
  encryptionEvidence?: () => NodeEncryptionEvidence | undefined;
  log?: Logger;
}

/** Error codes that mean "the API's desired state cannot be taken until someone acts": Degraded. */
const OPERATOR_PROBLEMS: ReadonlySet<string> = new Set([SyncErrorCode.UnsupportedDesiredStateFormat, SyncErrorCode.InvalidDesiredState, SyncErrorCode.PolicyContentMismatch]);

export interface SyncState {
  /** ETag of the manifest `bundle` was resolved from (undefined: the next poll is unconditional) */
  etag?: string;
  /** the resolved bundle being enforced */
  bundle?: ResolvedDesiredState;
  /** set while the API's desired state cannot be taken (reported as Degraded) */
  problem?: SyncProblem;
  /** policy bodies fetched (and verified) since start, by resolutions that completed */
  fetchedPolicies: number;
  /** revision last programmed successfully */
  observedRevision?: number;
  lastOutcome?: ProgramOutcome;
  registered: boolean;
  /** consecutive failed API calls */
  failures: number;
  polls: number;
}

export class SyncLoop {
  readonly state: SyncState = { registered: false, failures: 0, polls: 0, fetchedPolicies: 0 };
  private conditions: NodeCondition[] = [];
  /** verified bodies of a resolution that did not complete, reused by the next one (cleared on success) */
  private readonly spare = new Map<string, BundledPolicy>();
  private statusPending = false;
  /** counts statusChanged() calls: a report clears statusPending only if none came while it was sent */
  private statusVersion = 0;
  /** the statusVersion a skipped sleep was for (a pending report gets one immediate turn per change) */
  private sleptAtVersion = 0;
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
    if (stored.legacyFormat) {
      this.log('warn', 'last-known-good bundle is in an older format; enforcing its policies until the API serves a manifest (the next save rewrites it)', { format: stored.legacyFormat, revision: stored.bundle.revision });
    }
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
        // node deleted server-side: register again (a policy body's 404 is about the manifest, not the node,
        // and DesiredStatePending means the cluster's desired state is not compiled yet)
        const aboutTheNode = err.code !== SyncErrorCode.PolicyGenerationGone && err.code !== 'DesiredStatePending';
        if (err.status === 404 && aboutTheNode) this.state.registered = false;
        delay = backoffDelay(this.state.failures, this.options.backoff ?? DEFAULT_BACKOFF, this.options.random, err.retryAfterMs);
        this.state.failures += 1;
        this.log(err.retryable ? 'warn' : 'error', 'API call failed; enforcing the current state, retrying', {
          status: err.status,
          ...(err.code ? { code: err.code } : {}),
          error: err.message,
          retryInMs: delay,
          failures: this.state.failures,
        });
        if (err.code !== undefined && OPERATOR_PROBLEMS.has(err.code)) await this.reportProblem({ reason: err.code, message: err.message });
      }
      await this.sleepOrWake(delay, signal);
    }
  }

  /** One poll: 304 → nothing; 200 → resolve (all or nothing), persist, program, report. */
  async pollOnce(): Promise<'unchanged' | 'updated'> {
    const client = this.options.client;
    const r = await client.getDesiredState(this.state.etag);
    this.state.polls += 1;
    if (r.status === 304) {
      this.clearProblem();
      return 'unchanged';
    }
    const keyOf = (b: { name: string; generation: number }) => `${b.name}\n${b.generation}`;
    const listed = new Set(r.manifest.policies.map(keyOf));
    for (const key of this.spare.keys()) if (!listed.has(key)) this.spare.delete(key); // bounded by the manifest
    const resolved = await resolveManifest(r.manifest, {
      held: [...(this.state.bundle?.policies ?? []), ...this.spare.values()],
      fetchPolicy: (name, generation) => client.getBundledPolicy(name, generation),
      onVerified: (body) => this.spare.set(keyOf(body), body),
      concurrency: this.options.fetchConcurrency ?? DEFAULT_RESOLVE_CONCURRENCY,
    });
    this.spare.clear();
    this.state.fetchedPolicies += resolved.fetched;
    await saveBundle(this.options.stateDir, r.etag, resolved.bundle);
    this.state.etag = r.etag;
    this.state.bundle = resolved.bundle;
    this.clearProblem();
    this.log('info', 'new desired state', { revision: resolved.bundle.revision, policies: resolved.bundle.policies.length, fetched: resolved.fetched, reused: resolved.reused });
    await this.programCurrent();
    await this.reportStatus();
    return 'updated';
  }

  /** Records an operator-facing problem and reports it at once when the node is registered (best effort:
   *  the status path may be down too; then the next successful turn reports it). The same problem again
   *  is not reported again. */
  private async reportProblem(problem: SyncProblem): Promise<void> {
    const known = this.state.problem;
    if (known && known.reason === problem.reason && known.message === problem.message && !this.statusPending) return; // reported already
    this.state.problem = problem;
    this.statusPending = true;
    if (!this.state.registered) return;
    try {
      await this.reportStatus();
    } catch (e) {
      this.log('warn', 'could not report the Degraded status', { error: (e as Error).message });
    }
  }

  private clearProblem(): void {
    if (!this.state.problem) return;
    this.log('info', 'desired state taken again; the Degraded condition clears', { reason: this.state.problem.reason });
    this.state.problem = undefined;
    this.statusPending = true;
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

  /**
   * extraDegraded() or encryptionEvidence() changed: the status is reported on the next loop turn, which
   * starts now — or, when the loop is busy (polling, reporting), right after this turn: a change during a
   * report is never absorbed by it (statusVersion), and the loop does not sleep on a pending report.
   */
  statusChanged(): void {
    this.statusVersion += 1;
    this.statusPending = true;
    this.wake.dispatchEvent(new Event('wake'));
  }

  private async reportStatus(): Promise<void> {
    const outcome = this.state.lastOutcome;
    const problem = this.state.problem;
    if (!outcome && !problem) return;
    const version = this.statusVersion;
    const extra = this.options.extraDegraded?.() ?? [];
    const reported = outcome && extra.length > 0 ? { ...outcome, degraded: [...outcome.degraded, ...extra] } : outcome;
    const status = buildNodeStatus(reported, this.state.observedRevision, this.conditions, new Date(), problem, this.options.encryptionEvidence?.());
    this.statusPending = true;
    await this.options.client.putNodeStatus(status);
    this.conditions = status.conditions ?? [];
    if (this.state.lastOutcome === outcome && this.state.problem === problem && this.statusVersion === version) this.statusPending = false;
  }

  private sleepOrWake(ms: number, signal: AbortSignal): Promise<void> {
    if (this.statusPending && this.state.failures === 0 && this.statusVersion !== this.sleptAtVersion) {
      this.sleptAtVersion = this.statusVersion; // a change arrived during the turn: one more turn now, not a spin
      return Promise.resolve();
    }
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
