/**
 * Policy replays as long-running operations: the request checked, the operation stored, the replay
 * (policy-replay.ts) run in this process, its outcome written back; any instance answers a read.
 *
 * Contract:
 * - start(): every check runs before anything is stored (400 ValidationFailed, pointers into the request):
 *   at least one change (`/`, rule `minChanges`); a name once across `policies`, `remove`, `modes` (rule
 *   `uniqueName`, at the later occurrence); `remove` / `modes` name existing policies (rule `exists`); every
 *   spec as putNetworkPolicy validates it (`/policies/<i>/spec/...`); `clusters` name registered clusters
 *   (`/clusters/<i>`, rule `exists`); the window (`/since`, `/until`; default
 *   since = 7 d before now), resolved to absolute times at acceptance. Then the operation is created
 *   (NotStarted) and the replay started without being awaited.
 * - The run (long-running-operation.ts: Running, heartbeat, final write retried) ends Succeeded with the
 *   result or Failed with the problem the error boundary would have answered.
 * - get(): 404 NotFound for an unknown id; a replay whose instance stopped is answered Failed with
 *   `OperationInterrupted` (long-running-operation.ts).
 * - Every document carries `ttl` = OPERATION_TTL_SECONDS (kept 7 days after its last write).
 * - The stored result keeps at most MAX_STORED_GROUPS change groups (all with examples); `truncated` says how
 *   many were left out (`totals` count them all). A result still over MAX_RESULT_BYTES of JSON loses the
 *   examples of its last groups first.
 */
import { randomUUID } from 'node:crypto';
import type { FieldError, FlowRecord, NetworkPolicy, PolicyReplayDecision, PolicyReplayOperation, PolicyReplayRequest, PolicyReplayResult, PolicyReplaySums } from '../../../openapi/types.js';
import { resolveFlowWindow } from '../../../core/flows/flow-time.js';
import { validatePolicySpec } from '../../../core/policy/validate-policy-spec.js';
import type { CandidateChange } from '../../../core/policy/replay/candidate-policies.js';
import type { ReplayDecision } from '../../../core/policy/replay/replay-changes.js';
import type { ReplaySums } from '../../../core/policy/replay/replay-groups.js';
import { validationFailed } from '../http/api-error.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import { readOperation, RunningOperations, runOperation } from './long-running-operation.js';
import { OPERATION_TTL_SECONDS } from '../store/cosmos-layout.js';
import { runPolicyReplay, type PolicyReplayDeps, type PolicyReplayReport, UNJUDGED_REASONS } from './policy-replay.js';

export const MAX_STORED_GROUPS = 200;
const MAX_RESULT_BYTES = 1_500_000;
const DEFAULT_SINCE = '7d';

export interface PolicyReplayOperationDeps {
  operations: DocumentCollection<PolicyReplayOperation>;
  /** the stored policy of that name, if any */
  policy: (name: string) => Promise<NetworkPolicy | undefined>;
  replay: PolicyReplayDeps;
  now: () => Date;
  log: (message: string) => void;
  /** ms between heartbeats (default long-running-operation.ts HEARTBEAT_MS; tests shorten it) */
  heartbeatMs?: number;
}

export class PolicyReplayOperations {
  private readonly running = new RunningOperations();

  constructor(private readonly deps: PolicyReplayOperationDeps) {}

  async start(request: PolicyReplayRequest): Promise<PolicyReplayOperation> {
    const { change, window } = await this.check(request);
    const at = this.deps.now().toISOString();
    const operation: PolicyReplayOperation = {
      id: randomUUID(),
      status: 'NotStarted',
      createdAt: at,
      lastUpdatedAt: at,
      request: {
        policies: (change.upsert ?? []).map((u) => u.name),
        remove: [...(change.remove ?? [])],
        modes: (change.modes ?? []).map((m) => ({ ...m })),
        ...window,
        ...(request.clusters ? { clusters: [...request.clusters] } : {}),
      },
    };
    const stored = await this.deps.operations.create(operation.id, operation.id, operation, { ttl: OPERATION_TTL_SECONDS });
    this.running.track(this.run(stored, { change, ...window, ...(request.clusters ? { clusters: request.clusters } : {}) }), this.deps.log, `policy replay ${operation.id}`);
    return stored.value;
  }

  get(id: string): Promise<PolicyReplayOperation> {
    return readOperation(this.deps.operations, id, { label: 'Policy replay', noun: 'replay', advice: 'Start the replay again.' }, this.deps.now());
  }

  /** Resolves when every replay this process started has written its outcome (tests, shutdown). */
  settled(): Promise<void> {
    return this.running.settled();
  }

  private async check(request: PolicyReplayRequest): Promise<{ change: CandidateChange; window: { since: string; until: string } }> {
    const errors: FieldError[] = [];
    const policies = request.policies ?? [];
    const remove = request.remove ?? [];
    const modes = request.modes ?? [];
    if (policies.length + remove.length + modes.length === 0) errors.push({ pointer: '', message: 'name at least one change: policies, remove or modes', rule: 'minChanges' });
    const seen = new Map<string, string>();
    const named: Array<[string, string]> = [...policies.map((p, i): [string, string] => [p.metadata.name, `/policies/${i}/metadata/name`]), ...remove.map((n, i): [string, string] => [n, `/remove/${i}`]), ...modes.map((m, i): [string, string] => [m.name, `/modes/${i}/name`])];
    for (const [name, pointer] of named) {
      const first = seen.get(name);
      if (first) errors.push({ pointer, message: `policy "${name}" is already changed at ${first}: name each policy once`, rule: 'uniqueName' });
      else seen.set(name, pointer);
    }
    policies.forEach((p, i) => errors.push(...validatePolicySpec(p.spec, `/policies/${i}/spec`)));
    const window = resolveFlowWindow({ since: request.since ?? DEFAULT_SINCE, until: request.until }, this.deps.now());
    if ('errors' in window) errors.push(...window.errors);
    if (request.clusters && request.clusters.length > 0) {
      const registered = new Set((await this.deps.replay.clusters()).map((c) => c.id));
      request.clusters.forEach((id, i) => {
        if (!registered.has(id)) errors.push({ pointer: `/clusters/${i}`, message: `no cluster "${id}" is registered`, rule: 'exists' });
      });
    }
    const mustExist = named.filter(([, pointer]) => !pointer.startsWith('/policies/'));
    const exists = await Promise.all(mustExist.map(async ([name]) => (await this.deps.policy(name)) !== undefined));
    mustExist.forEach(([name, pointer], i) => {
      if (!exists[i]) errors.push({ pointer, message: `no policy "${name}" exists`, rule: 'exists' });
    });
    if (errors.length > 0 || 'errors' in window) throw validationFailed(errors, 'The policy replay request is invalid; nothing was started.');
    return { change: { upsert: policies.map((p) => ({ name: p.metadata.name, spec: p.spec })), remove, modes }, window };
  }

  private run(initial: Versioned<PolicyReplayOperation>, request: Parameters<typeof runPolicyReplay>[1]): Promise<void> {
    return runOperation({
      operations: this.deps.operations,
      initial,
      work: async () => {
        const result = toWireResult(await runPolicyReplay(this.deps.replay, request));
        return (op): PolicyReplayOperation => ({ ...op, status: 'Succeeded', result });
      },
      instance: `/api/policyreplays/${initial.value.id}`,
      now: this.deps.now,
      log: this.deps.log,
      ...(this.deps.heartbeatMs !== undefined ? { heartbeatMs: this.deps.heartbeatMs } : {}),
    });
  }
}


const sumsOf = (s: ReplaySums): PolicyReplaySums => ({
  packets: s.packets,
  bytes: s.bytes,
  flows: s.flows,
  summaries: s.summaries,
  ...(s.firstSeen ? { firstSeen: s.firstSeen } : {}),
  ...(s.lastSeen ? { lastSeen: s.lastSeen } : {}),
});

const decisionOf = (d: ReplayDecision): PolicyReplayDecision => ({
  verdict: d.verdict,
  decidedBy: d.decidedBy === 'row' ? 'rule' : d.decidedBy,
  ...(d.rule ? { rule: { policy: d.rule.policy, generation: d.rule.generation, pointer: d.rule.pointer, verdict: d.rule.verdict === 'deny' ? 'deny' : 'allow', mode: d.rule.mode } } : {}),
});

/** The engine's report on the wire, capped for one document (module contract). */
export function toWireResult(report: PolicyReplayReport): PolicyReplayResult {
  const changes = report.changes.slice(0, MAX_STORED_GROUPS).map((c) => ({
    change: c.change,
    direction: c.direction,
    subject: c.subject,
    peer: c.peer,
    candidate: decisionOf(c.candidate),
    current: decisionOf(c.current),
    clusters: c.clusters,
    ports: c.ports,
    sums: sumsOf(c.sums),
    examples: c.examples as FlowRecord[],
  }));
  const result: PolicyReplayResult = {
    window: report.window,
    clusters: report.clusters,
    changes,
    truncated: { truncated: report.changes.length > changes.length, groupsLeftOut: report.changes.length - changes.length },
    totals: { judged: sumsOf(report.totals.judged), allowedToDropped: sumsOf(report.totals.allowedToDropped), droppedToAllowed: sumsOf(report.totals.droppedToAllowed), auditedToDropped: sumsOf(report.totals.auditedToDropped) },
    unjudged: report.unjudged.map((u) => ({ reason: u.reason, description: UNJUDGED_REASONS[u.reason] ?? u.reason, sums: sumsOf(u.sums), examples: u.examples })),
    disagreements: { sums: sumsOf(report.disagreements.sums), examples: report.disagreements.examples },
    coverage: report.coverage,
    completeness: report.completeness,
  };
  for (let i = changes.length - 1; i >= 0 && JSON.stringify(result).length > MAX_RESULT_BYTES; i--) changes[i]!.examples = [];
  return result;
}

