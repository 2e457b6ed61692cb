import type { NetworkPolicy } from '../../../openapi/types.js';
import { validatePolicySpec } from '../../../core/policy/validate-policy-spec.js';
import { policyWarnings } from '../../../core/policy/unenforced-parts.js';
import { notFound, validationFailed } from '../http/api-error.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import { collectPage, type Page } from './collect-page.js';
import { KIND } from './fleet-store.js';
import { present } from './resource.js';
import type { Preconditions, PutOutcome } from './put-resource.js';
import { requireMatchingName } from './require-matching-name.js';
import type { RevisionLog } from './revision-log.js';
import { deleteRevisioned, putRevisioned, type RevisionedResource } from './revisioned-writes.js';
import type { ListQuery } from '../http/list-query.js';

export interface NetworkPolicyServiceDeps {
  policies: DocumentCollection<NetworkPolicy>;
  revisions: RevisionLog;
  now: () => Date;
}

/**
 * Fleet network policies: validation beyond the schema, create-or-replace, delete and history. A write
 * costs the same whatever the fleet's size: the clusters' desired state is compiled afterwards, from the
 * change feed (DesiredStateCompiler).
 */
export class NetworkPolicyService {
  constructor(private readonly deps: NetworkPolicyServiceDeps) {}

  async get(name: string): Promise<Versioned<NetworkPolicy>> {
    const found = await this.deps.policies.read(KIND.policy, name);
    if (!found) throw notFound(`NetworkPolicy "${name}"`);
    return found;
  }

  list(query: ListQuery): Promise<Page<NetworkPolicy>> {
    return collectPage(this.deps.policies, KIND.policy, query);
  }

  /** Checks a policy without storing it; throws a 400 listing every semantic error. */
  validate(policy: NetworkPolicy): void {
    const errors = validatePolicySpec(policy.spec, '/spec');
    if (errors.length > 0) throw validationFailed(errors);
  }

  /** What a PUT checks before it writes: the name in the path and the body agree, and the spec is valid. */
  check(name: string, incoming: NetworkPolicy): void {
    requireMatchingName(name, incoming.metadata.name);
    this.validate(incoming);
  }

  async put(name: string, incoming: NetworkPolicy, actor: string, preconditions: Preconditions): Promise<PutOutcome<NetworkPolicy>> {
    this.check(name, incoming);
    return putRevisioned(this.target(), name, incoming, actor, preconditions);
  }

  async delete(name: string, actor: string, ifMatch: string | null): Promise<void> {
    await deleteRevisioned(this.target(), name, actor, ifMatch);
  }

  private target(): RevisionedResource<NetworkPolicy> {
    return { kind: KIND.policy, partitionKey: KIND.policy, collection: this.deps.policies, revisions: this.deps.revisions, now: this.deps.now };
  }

}

/**
 * A stored policy as clients see it: `present` plus `status.warnings` — what the datapath will not enforce,
 * computed from the spec on every read (so a release that enforces more stops warning at once).
 */
export function presentPolicy(stored: Versioned<NetworkPolicy>): NetworkPolicy {
  return withWarnings(present(stored));
}

/** The policy with `status.warnings` set to what the datapath will not enforce (unset when nothing). */
export function withWarnings(policy: NetworkPolicy): NetworkPolicy {
  const { warnings: _previous, ...status } = policy.status ?? {};
  const warnings = policyWarnings(policy);
  const next = warnings.length > 0 ? { ...status, warnings } : status;
  const { status: _status, ...rest } = policy;
  return Object.keys(next).length > 0 ? { ...rest, status: next } : rest;
}
