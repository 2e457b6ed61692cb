/**
 * Pure: the outcome of programming a bundle (and the state of the desired-state sync) → the NodeStatus
 * the agent reports (putNodeStatus).
 *   Programmed True  Applied        — the maps hold the bundle's revision
 *   Programmed False <reason>       — compile or apply failed; the previous state keeps being enforced
 *   Programmed False NoDesiredState — nothing programmed yet (no last-known-good, no usable manifest)
 *   Degraded   True  <sync reason>  — the agent cannot take the API's desired state (e.g.
 *                                     UnsupportedDesiredStateFormat, PolicyContentMismatch): what it
 *                                     enforces is older than the API's; wins over the rule-level reason
 *   Degraded   True  UnsupportedRules — rules the datapath cannot enforce (fail-closed), named in the message
 *   Degraded   False Enforced
 * lastTransitionTime changes only when a condition's status changes.
 * `encryption` (the node's own evidence about transparent encryption, encryption-evidence/) is carried
 * as given: the latest read, on every status.
 */
import type { NodeCondition, NodeEncryptionEvidence, NodeStatus } from '../../../openapi/types.js';

export interface DegradedRule {
  policy: string;
  /** JSON pointer into the policy spec, e.g. /egress/0/toFQDNs */
  pointer: string;
  reason: string;
}

export interface ProgramOutcome {
  /** revision of the bundle the outcome is about */
  revision: number;
  programmed: boolean;
  /** when not programmed: a CamelCase reason (CompileFailed, ApplyFailed, …) */
  reason?: string;
  message?: string;
  degraded: readonly DegradedRule[];
}

/** A desired-state problem an operator has to act on (not a transient outage). */
export interface SyncProblem {
  /** CamelCase, the ApiError code, e.g. UnsupportedDesiredStateFormat */
  reason: string;
  message: string;
}

const MESSAGE_MAX = 4096;

const cap = (message: string) => (message.length > MESSAGE_MAX ? `${message.slice(0, MESSAGE_MAX - 1)}…` : message);

export function describeDegraded(degraded: readonly DegradedRule[]): string {
  const parts = degraded.map((d) => `policy ${d.policy} ${d.pointer}: ${d.reason}`);
  return cap(`${degraded.length} rule(s) not enforceable by the datapath (fail-closed): ${parts.join('; ')}`);
}

/**
 * @param outcome the last programming; undefined when nothing was programmed yet
 * @param observedRevision the revision actually enforced (the last one programmed successfully)
 * @param previous the conditions last reported, for lastTransitionTime
 * @param syncProblem set while the agent cannot take the API's desired state
 * @param encryption the latest encryption evidence read on the node (absent: not read yet)
 */
export function buildNodeStatus(
  outcome: ProgramOutcome | undefined,
  observedRevision: number | undefined,
  previous: readonly NodeCondition[] = [],
  now = new Date(),
  syncProblem?: SyncProblem,
  encryption?: NodeEncryptionEvidence,
): NodeStatus {
  const programmed: NodeCondition = !outcome
    ? { type: 'Programmed', status: 'False', reason: 'NoDesiredState', message: 'no desired state has been programmed yet' }
    : outcome.programmed
      ? { type: 'Programmed', status: 'True', reason: 'Applied', message: `revision ${outcome.revision} is enforced` }
      : {
          type: 'Programmed',
          status: 'False',
          reason: outcome.reason ?? 'ApplyFailed',
          message: (outcome.message ?? `revision ${outcome.revision} could not be programmed`).slice(0, MESSAGE_MAX),
        };
  const rules = outcome?.degraded ?? [];
  const degraded: NodeCondition = syncProblem
    ? { type: 'Degraded', status: 'True', reason: syncProblem.reason, message: cap(rules.length > 0 ? `${syncProblem.message} Also: ${describeDegraded(rules)}` : syncProblem.message) }
    : rules.length > 0
      ? { type: 'Degraded', status: 'True', reason: 'UnsupportedRules', message: describeDegraded(rules) }
      : { type: 'Degraded', status: 'False', reason: 'Enforced', message: 'every rule is enforced by the datapath' };
  const conditions = [programmed, degraded].map((c) => {
    const before = previous.find((p) => p.type === c.type);
    const since = before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now.toISOString();
    return { ...c, lastTransitionTime: since };
  });
  return { ...(observedRevision === undefined ? {} : { observedRevision }), conditions, ...(encryption ? { encryption } : {}) };
}
