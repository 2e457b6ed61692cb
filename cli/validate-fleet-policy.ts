/**
 * Client-side check of fleetnet's own NetworkPolicy documents, with the very validators a PUT runs on the
 * API (the contract's compiled JSON schema for NetworkPolicy, then validatePolicySpec). Used because the
 * API has no validate-only endpoint for fleet policies (`POST /networkpolicyimports?dryRun=true` takes
 * only Cilium and Kubernetes kinds). Loaded lazily: compiling the schema costs a few hundred ms.
 */
import type { FieldError, NetworkPolicy } from '../openapi/types.js';
import { validatePolicySpec } from '../core/policy/validate-policy-spec.js';
import { createSchemaValidator } from '../core/schema/compile-schema-validator.js';

/** Every problem of `value` as a fleet NetworkPolicy, pointers relative to the document; [] when valid. */
export function validateFleetPolicy(value: unknown): FieldError[] {
  const schemaErrors = createSchemaValidator('NetworkPolicy')(value, '');
  if (schemaErrors.length > 0) return schemaErrors;
  return validatePolicySpec((value as NetworkPolicy).spec, '/spec');
}
