/**
 * explainFlow — why a cluster's policies forward or drop one flow (pure): the verdict at each hook with
 * the deciding rule (policy, generation, pointer, mode) or the default that decided, the policies
 * whose rules select each side, and the parts of those policies the datapath does not enforce under
 * the assumed environment (each fails closed; a node reports them in its Degraded status).
 * The decision itself is cluster-evaluator.ts (core's evaluateFlow over core's verdict table: the
 * same code the agent encodes into kernel entries).
 */
import type { BundledPolicy } from '../../../openapi/types.js';
import { matchesEndpointSelector, scopeSubjectSelector } from '../endpoint-selector.js';
import { findUnenforcedParts, rulesOf, WRITE_TIME_ENVIRONMENT, type EnforcementEnvironment } from '../unenforced-parts.js';
import { createClusterEvaluator, type FlowEvaluation, type FlowSide, type ResolvedSide } from './cluster-evaluator.js';

export interface ExplainInput {
  /** the cluster's desired state: every policy that applies to it, at its current generation */
  policies: readonly BundledPolicy[];
  source: FlowSide;
  destination: FlowSide;
  protocol: number;
  /** destination port, or ICMP type; 0 for protocols without ports */
  port: number;
  environment?: EnforcementEnvironment;
  localhostPolicy?: boolean;
}

/** A policy with rules selecting one side: the pointers of those rules (`''` = the inline rule,
 *  `/specs/<i>` = an entry of `specs`). */
export interface SelectingPolicy {
  policy: string;
  generation: number;
  mode: 'enforce' | 'audit';
  rules: string[];
}

export interface UnenforcedPolicyPart {
  policy: string;
  generation: number;
  pointer: string;
  reason: string;
}

export interface Explanation extends FlowEvaluation {
  selecting: { source: SelectingPolicy[]; destination: SelectingPolicy[] };
  unenforced: UnenforcedPolicyPart[];
}

/** The policies with a rule whose (namespace-scoped) endpointSelector selects the side; none for a
 *  side that is not a workload (host policies are not enforced). */
export function policiesSelecting(policies: readonly BundledPolicy[], side: ResolvedSide): SelectingPolicy[] {
  if (side.kind !== 'workload') return [];
  const out: SelectingPolicy[] = [];
  for (const policy of [...policies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const rules = rulesOf(policy.spec)
      .filter(({ rule }) => rule.nodeSelector === undefined && rule.endpointSelector !== undefined && matchesEndpointSelector(scopeSubjectSelector(rule.endpointSelector, policy.spec.namespace), side.labels))
      .map(({ base }) => base);
    if (rules.length > 0) out.push({ policy: policy.name, generation: policy.generation, mode: policy.mode, rules });
  }
  return out;
}

export function explainFlow(input: ExplainInput): Explanation {
  const environment = input.environment ?? WRITE_TIME_ENVIRONMENT;
  const evaluator = createClusterEvaluator({ policies: input.policies, sides: [input.source, input.destination], environment, localhostPolicy: input.localhostPolicy === true });
  const evaluation = evaluator.evaluate(input.source, input.destination, input.protocol, input.port);
  const selecting = { source: policiesSelecting(input.policies, evaluation.source), destination: policiesSelecting(input.policies, evaluation.destination) };
  const involved = new Set([...selecting.source, ...selecting.destination].map((p) => p.policy));
  const unenforced = input.policies
    .filter((p) => involved.has(p.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((p) => findUnenforcedParts(p, environment).map(({ pointer, reason }) => ({ policy: p.name, generation: p.generation, pointer, reason })));
  return { ...evaluation, selecting, unenforced };
}
