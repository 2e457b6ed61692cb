/**
 * The policies an explanation needs out of a cluster's desired state (pure; the API's explain and
 * bench:replay use it). core's explainFlow resolves a
 * verdict table over every policy it is given; at thousands of policies that is most of an explain's cost,
 * while the answer depends only on:
 * - the policies with a rule selecting either side (core's policiesSelecting): they make every row and
 *   default of the two hooks, the `selecting` lists and the `unenforced` parts;
 * - for an address side, the prefix the datapath would give it — the longest `cidr`/`except` prefix of ALL
 *   the policies containing it (P) — and whether some selector selects P (a CIDR identity) or none does
 *   (the family's world). Keeping the policies that name P and those with a selector selecting P keeps both:
 *   no kept prefix is longer than P, so the narrowed set resolves the address to P with the same identity
 *   kind (and number, allocateHashed per prefix, unless hashes collide).
 * Contract (explain-scope.test.ts): explainFlow over narrowPolicies(…) equals explainFlow over all policies.
 */
import type { BundledPolicy } from '../../../openapi/types.js';
import type { FlowSide } from './cluster-evaluator.js';
import { policiesSelecting } from './explain-flow.js';
import { policyCidrSelectors, prefixSelector } from '../resolve/cidr-identities.js';
import { containsPrefix, hostPrefix, maskPrefix, type Prefix } from '../rules/ip-prefix.js';

/** A desired state's policies with their CIDR selectors parsed once (kept per view). */
export interface ExplainScope {
  policies: readonly BundledPolicy[];
  cidrs: ReadonlyArray<{ policy: string; prefixes: Prefix[]; selects: (q: Prefix) => boolean }>;
}

export function prepareExplainScope(policies: readonly BundledPolicy[]): ExplainScope {
  const cidrs = policies.flatMap((policy) =>
    policyCidrSelectors([policy]).map((selector) => ({
      policy: policy.name,
      prefixes: [selector.cidr, ...selector.except].flatMap((text) => maskPrefix(text) ?? []),
      selects: prefixSelector(selector),
    })),
  );
  return { policies, cidrs };
}

/** The policies explainFlow needs for these two sides (see the module contract), in their given order. */
export function narrowPolicies(scope: ExplainScope, sides: readonly FlowSide[]): BundledPolicy[] {
  const keep = new Set<string>();
  for (const side of sides) {
    if ('workload' in side) {
      for (const p of policiesSelecting(scope.policies, { identity: 0, kind: 'workload', labels: [...side.workload] })) keep.add(p.policy);
    } else if ('address' in side) {
      const host = hostPrefix(side.address);
      if (!host) continue;
      let longest: Prefix | undefined;
      for (const c of scope.cidrs) for (const p of c.prefixes) if (p.family === host.family && containsPrefix(p, host) && (!longest || p.bits > longest.bits)) longest = p;
      if (!longest) continue;
      const at = longest;
      for (const c of scope.cidrs) if (c.selects(at) || c.prefixes.some((p) => p.text === at.text)) keep.add(c.policy);
    }
  }
  return scope.policies.filter((p) => keep.has(p.name));
}
