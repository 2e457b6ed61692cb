/**
 * Replay of a candidate policy change against the fleet's stored flow history: which flows would change
 * fate (allowed → dropped, dropped → allowed), grouped by rule and workload pair, and a statement of
 * what the answer covers. The decisions are core's (core/policy/replay); this module gathers the inputs
 * — the window's stored summaries folded on decoder threads (FlowService.replayGroups), each cluster's
 * current policies and labels — and states completeness.
 *
 * Contract:
 * - Scope: the clusters the request names, else every cluster a changed policy targets now or would
 *   target after the change (a policy removed: the clusters whose desired state holds it).
 * - Per cluster, the current policies are its current desired state; the candidate is that with the
 *   change applied (core applyCandidate: generation + 1, `targets` decide per cluster).
 * - Completeness (`completeness.statements`, plain sentences, and `complete`): clusters in scope
 *   without data in the window, batch-sequence gaps per node, what agents reported lost, summaries not
 *   judged (by reason), summaries whose recorded verdict differs from what the current policies decide.
 *   `complete` is true only when the coverage is complete and every summary was judged.
 */
import type { BundledPolicy, FlowCoverage, FlowRecord } from '../../../openapi/types.js';
import { applyCandidate, changedPolicyNames, type CandidateChange } from '../../../core/policy/replay/candidate-policies.js';
import { replayChanges, type ClusterPolicySets, type ReplayResult } from '../../../core/policy/replay/replay-changes.js';
import { targetsCluster, type ClusterIdentity } from '../../../core/policy/select-clusters.js';
import { resolveFlowWindow } from '../../../core/flows/flow-time.js';
import type { FlowService } from './flows.js';

export interface PolicyReplayRequest {
  change: CandidateChange;
  /** window, as flow queries take it (RFC 3339 or a duration back from now, e.g. `7d`) */
  since?: string;
  until?: string;
  /** cluster ids; default: every cluster the change touches */
  clusters?: string[];
}

export interface PolicyReplayReport extends ReplayResult<FlowRecord> {
  window: { since: string; until: string };
  clusters: string[];
  coverage: FlowCoverage;
  completeness: { complete: boolean; statements: string[] };
}

export interface PolicyReplayDeps {
  flows: Pick<FlowService, 'replayGroups' | 'recordsAt'>;
  /** every registered cluster with its labels */
  clusters: () => Promise<ClusterIdentity[]>;
  /** the clock (the window of an empty scope is resolved against it) */
  now?: () => Date;
  /** the policies of a cluster's current desired state; undefined when it is not compiled (yet) */
  currentPolicies: (clusterId: string) => Promise<BundledPolicy[] | undefined>;
}

/** The reasons replay leaves summaries unjudged, in words (completeness statements and the wire). */
export const UNJUDGED_REASONS: Readonly<Record<string, string>> = {
  l7: 'L7 (DNS/HTTP) summaries: the proxies\' decisions are not replayed (the L3/L4 summaries of the same traffic are)',
  'direction-unknown': 'imported flows without a traffic direction',
  'subject-not-workload': 'summaries whose deciding endpoint carries no workload labels',
  'peer-labels-missing': 'summaries whose peer workload carries no labels',
  'protocol-other': 'summaries of protocols policies cannot name',
  'not-policy-drop': 'drops no policy decided (e.g. conntrack table full): another policy would not change them',
  'peer-address-unknown': 'summaries whose peer is known only by a prefix or as world while the change adds CIDR prefixes that could split it',
  'cluster-not-in-scope': 'summaries of clusters outside the replay\'s scope',
};

export async function runPolicyReplay(deps: PolicyReplayDeps, request: PolicyReplayRequest): Promise<PolicyReplayReport> {
  const registered = await deps.clusters();
  // Named clusters: only theirs are read; otherwise every cluster's, to find those the change touches.
  const all = request.clusters ? registered.filter((c) => request.clusters?.includes(c.id)) : registered;
  const names = new Set(changedPolicyNames(request.change));
  const current = new Map<string, BundledPolicy[]>();
  const uncompiled = new Set<string>();
  await Promise.all(
    all.map(async (c) => {
      const policies = await deps.currentPolicies(c.id);
      if (!policies) uncompiled.add(c.id);
      current.set(c.id, policies ?? []);
    }),
  );
  const upserts = request.change.upsert ?? [];
  const inScope = request.clusters ? all : all.filter((c) => (current.get(c.id) ?? []).some((p) => names.has(p.name)) || upserts.some((u) => targetsCluster(u.spec.targets, c)));
  const sets = new Map<string, ClusterPolicySets>(
    inScope.map((c) => {
      const now = current.get(c.id) ?? [];
      return [c.id, { current: now, candidate: applyCandidate(now, request.change, c) }];
    }),
  );
  const scope = inScope.map((c) => c.id).sort();
  if (scope.length === 0) {
    const empty = replayChanges<FlowRecord>({ groups: [], unjudged: [] }, sets);
    const resolved = resolveFlowWindow(request, (deps.now ?? (() => new Date()))());
    const window = 'errors' in resolved ? { since: request.since ?? '', until: request.until ?? '' } : resolved;
    return { ...empty, window, clusters: [], coverage: { since: window.since, until: window.until, complete: true, clusters: [], clustersWithoutData: [] }, completeness: { complete: true, statements: ['the change touches no registered cluster: nothing to replay'] } };
  }
  const { part, coverage, window } = await deps.flows.replayGroups({ since: request.since, until: request.until, whitelist: [{ cluster: scope }] });
  const result = await withExampleRecords(replayChanges(part, sets), deps.flows);
  const completeness = statementsOf(result, coverage);
  const pending = scope.filter((id) => uncompiled.has(id));
  for (const id of pending) completeness.statements.unshift(`cluster ${id} has no compiled desired state yet: its history was replayed against no current policies`);
  return { ...result, window, clusters: scope, coverage, completeness: pending.length > 0 ? { complete: false, statements: completeness.statements } : completeness };
}

/** Changed groups reported with examples (the rest keep their counts). */
const GROUPS_WITH_EXAMPLES = 200;

/** The result with its example positions read back as records (at most GROUPS_WITH_EXAMPLES change groups). */
async function withExampleRecords(result: ReplayResult<string>, flows: Pick<FlowService, 'recordsAt'>): Promise<ReplayResult<FlowRecord>> {
  const changes = result.changes.map((c, i) => (i < GROUPS_WITH_EXAMPLES ? c : { ...c, examples: [] }));
  const refs = [...changes.flatMap((c) => c.examples), ...result.unjudged.flatMap((u) => u.examples), ...result.disagreements.examples];
  const records = await flows.recordsAt(refs);
  const read = (list: readonly string[]): FlowRecord[] => list.flatMap((ref) => records.get(ref) ?? []);
  return {
    ...result,
    changes: changes.map((c) => ({ ...c, examples: read(c.examples) })),
    unjudged: result.unjudged.map((u) => ({ ...u, examples: read(u.examples) })),
    disagreements: { ...result.disagreements, examples: read(result.disagreements.examples) },
  };
}

function statementsOf(result: ReplayResult<FlowRecord>, coverage: FlowCoverage): { complete: boolean; statements: string[] } {
  const out: string[] = [];
  for (const c of coverage.clustersWithoutData) out.push(`cluster ${c} stored no flow summaries in the window: none of its traffic is in this answer`);
  for (const c of coverage.clusters) {
    for (const n of c.nodes) {
      for (const g of n.gaps) out.push(`cluster ${c.cluster} node ${n.node_name}: ${g.to !== g.from ? `batches ${g.from}–${g.to}` : `batch ${g.from}`} never arrived: their flows are not in this answer`);
      const lost = n.lost;
      if (lost.batches + lost.summaries > 0) out.push(`cluster ${c.cluster} node ${n.node_name}: its agent dropped ${lost.summaries} summaries (${lost.batches} batches) before sending them`);
      if (lost.packets + lost.flows > 0) out.push(`cluster ${c.cluster} node ${n.node_name}: its kernel could not count ${lost.packets} packets (${lost.flows} connections): their flows are not in this answer`);
    }
  }
  for (const u of result.unjudged) out.push(`${u.sums.summaries} summaries not judged: ${UNJUDGED_REASONS[u.reason] ?? u.reason}`);
  if (result.disagreements.sums.summaries > 0) {
    out.push(`${result.disagreements.sums.summaries} summaries were recorded with another verdict than the current policies give (recorded under other generations, a node behind, or a node without a proxy): changes are computed against the current policies`);
  }
  if (out.length === 0) out.push(`every summary of the window was judged (${result.totals.judged.summaries}), and the coverage has no gap or loss`);
  return { complete: coverage.complete && result.unjudged.length === 0, statements: out };
}

