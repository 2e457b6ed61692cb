/**
 * Pure: the outcome of programming a bundle → the NodeStatus the agent reports (putNodeStatus).
 *   Programmed True  Applied        — the maps hold the bundle's revision
 *   Programmed False <reason>       — compile or apply failed; the previous state keeps being enforced
 *   Degraded   True  UnsupportedRules — rules the datapath cannot enforce (fail-closed), named in the message
 *   Degraded   False Enforced
 * lastTransitionTime changes only when a condition's status changes.
 */
import type { NodeCondition, NodeStatus } from '../../../openapi/types.js';

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

const MESSAGE_MAX = 4096;

export function describeDegraded(degraded: readonly DegradedRule[]): string {
  const parts = degraded.map((d) => `policy ${d.policy} ${d.pointer}: ${d.reason}`);
  let message = `${degraded.length} rule(s) not enforceable by the datapath (fail-closed): ${parts.join('; ')}`;
  if (message.length > MESSAGE_MAX) message = `${message.slice(0, MESSAGE_MAX - 1)}…`;
  return message;
}

/**
 * @param observedRevision the revision actually enforced (the last one programmed successfully)
 * @param previous the conditions last reported, for lastTransitionTime
 */
export function buildNodeStatus(outcome: ProgramOutcome, observedRevision: number | undefined, previous: readonly NodeCondition[] = [], now = new Date()): NodeStatus {
  const programmed: NodeCondition = outcome.programmed
    ? { type: 'Programmed', status: 'True', reason: 'Applied', message: `revision ${outcome.revision} is enforced` }
    : {
        type: 'Programmed',
        status: 'False',
        reason: outcome.reason ?? 'ApplyFailed',
        message: (outcome.message ?? `revision ${outcome.revision} could not be programmed`).slice(0, MESSAGE_MAX),
      };
  const degraded: NodeCondition =
    outcome.degraded.length > 0
      ? { type: 'Degraded', status: 'True', reason: 'UnsupportedRules', message: describeDegraded(outcome.degraded) }
      : { type: 'Degraded', status: 'False', reason: 'Enforced', message: 'every rule is enforced by the datapath' };
  const conditions = [programmed, degraded].map((c) => {
    const before = previous.find((p) => p.type === c.type);
    const since = before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now.toISOString();
    return { ...c, lastTransitionTime: since };
  });
  return { ...(observedRevision === undefined ? {} : { observedRevision }), conditions };
}
