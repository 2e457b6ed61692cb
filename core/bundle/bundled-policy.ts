import { createHash } from 'node:crypto';
import type { BundledPolicy, NetworkPolicy, PolicyReference } from '../../openapi/types.js';
import { canonicalJson } from '../policy/canonical-json.js';

/**
 * A policy as a node enforces it (pure): name, generation, mode and spec with `targets` removed (targets
 * choose clusters; they never change what a node does). Immutable per (name, generation).
 */
export function toBundledPolicy(policy: NetworkPolicy): BundledPolicy {
  const { targets: _targets, ...spec } = policy.spec;
  return { name: policy.metadata.name, generation: policy.metadata.generation ?? 1, mode: policy.spec.mode ?? 'enforce', spec };
}

/** SHA-256 (hex) of the canonical JSON of a bundled policy: what a manifest entry names and an agent checks. */
export function bundledPolicyHash(bundled: BundledPolicy): string {
  return createHash('sha256').update(canonicalJson(bundled)).digest('hex');
}

/** The manifest entry of a policy. */
export function policyReference(policy: NetworkPolicy): PolicyReference {
  const bundled = toBundledPolicy(policy);
  return { name: bundled.name, generation: bundled.generation, mode: bundled.mode, contentHash: bundledPolicyHash(bundled) };
}
