import { POLLED_NODE } from './controlplane-fleet.js';
import { forEachLimited, type BenchHttpClient } from './controlplane-http.js';

/** The desired-state format agents ask for (openapi getDesiredState). Servers before v2 ignore it. */
export const DESIRED_STATE_ACCEPT = 'application/vnd.fleetnet.desiredstate.v2+json';

export interface PropagationResult {
  /** ms from `startedAt` until the last cluster answered with the policy at the generation (or the deadline). */
  millis: number;
  reflected: number;
  missing: number;
  polls: number;
  /** Answers other than 200/304 (e.g. 404 before a new cluster's first compile), by status; those clusters stay pending. */
  unexpected: Record<number, number>;
}

/**
 * Black-box view of desired state, as agents poll it: one node per cluster, If-None-Match with the ETag
 * held, the v2 Accept header (a Fleet.Reader token may read every cluster's). Reads `policies[]` of
 * {name, generation, …}, so it works with manifests (v2) and full bundles (v1) alike.
 */
export class DesiredStateWatcher {
  private readonly etags = new Map<string, string>();

  constructor(
    private readonly http: BenchHttpClient,
    private readonly token: string,
    private readonly clusterIds: readonly string[],
    private readonly concurrency = 64,
  ) {}

  /**
   * Polls every cluster until each answers 200 with `policy` at `generation` or later, sweeping the
   * clusters still pending again and again (at most `concurrency` requests in flight) until `deadlineMs`.
   */
  async waitFor(policy: string, generation: number, startedAt: number, deadlineMs = 30_000): Promise<PropagationResult> {
    let pending = [...this.clusterIds];
    let last = startedAt;
    let polls = 0;
    const unexpected: Record<number, number> = {};
    while (pending.length > 0 && performance.now() - startedAt < deadlineMs) {
      const sweepStarted = performance.now();
      const still: string[] = [];
      await forEachLimited(pending, this.concurrency, async (clusterId) => {
        polls++;
        const seen = await this.poll(clusterId, policy);
        if (typeof seen === 'object') unexpected[seen.status] = (unexpected[seen.status] ?? 0) + 1;
        if (typeof seen === 'number' && seen >= generation) last = Math.max(last, performance.now());
        else still.push(clusterId);
      });
      pending = still;
      // A sweep of cheap 304s can finish in a few ms: keep at least 20 ms between sweeps of the same cluster.
      const idle = 20 - (performance.now() - sweepStarted);
      if (pending.length > 0 && idle > 0) await new Promise((resolve) => setTimeout(resolve, idle));
    }
    const reflected = this.clusterIds.length - pending.length;
    return { millis: pending.length > 0 ? performance.now() - startedAt : last - startedAt, reflected, missing: pending.length, polls, unexpected };
  }

  /** The generation of `policy` in the cluster's desired state on a 200; undefined on 304 or if absent; the status otherwise. */
  private async poll(clusterId: string, policy: string): Promise<number | undefined | { status: number }> {
    const held = this.etags.get(clusterId);
    const headers: Record<string, string> = { accept: DESIRED_STATE_ACCEPT };
    if (held) headers['if-none-match'] = held;
    const answer = await this.http.request('GET', `/clusters/${clusterId}/nodes/${POLLED_NODE}/desiredstate`, { token: this.token, headers });
    if (answer.status === 304) return undefined;
    if (answer.status !== 200) return { status: answer.status };
    if (answer.etag) this.etags.set(clusterId, answer.etag);
    const body = JSON.parse(answer.body.toString()) as { policies?: Array<{ name: string; generation: number }> };
    return body.policies?.find((entry) => entry.name === policy)?.generation;
  }
}
