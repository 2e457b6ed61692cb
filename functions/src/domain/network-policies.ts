import type { Cluster, NetworkPolicy } from '../../../openapi/types.js';
import { validatePolicySpec } from '../../../core/policy/validate-policy-spec.js';
import { targetsCluster } from '../../../core/policy/select-clusters.js';
import { notFound, validationFailed } from '../http/api-error.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import { listAllClusters } from './cluster-directory.js';
import { collectPage, type Page } from './collect-page.js';
import type { DesiredStateService } from './desired-state.js';
import { KIND } from './fleet-store.js';
import type { Preconditions, PutOutcome } from './put-resource.js';
import { requireMatchingName } from './require-matching-name.js';
import type { RevisionLog } from './revision-log.js';
import { deleteRevisioned, putRevisioned, type RevisionedResource } from './revisioned-writes.js';
import type { ListQuery } from '../http/list-query.js';

export interface NetworkPolicyServiceDeps {
  policies: DocumentCollection<NetworkPolicy>;
  clusters: DocumentCollection<Cluster>;
  revisions: RevisionLog;
  desiredState: DesiredStateService;
  now: () => Date;
}

/**
 * Fleet network policies: validation beyond the schema, create-or-replace, delete, history, and keeping
 * the desired state of every affected cluster current (clusters targeted before or after the change).
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

  async put(name: string, incoming: NetworkPolicy, actor: string, preconditions: Preconditions): Promise<PutOutcome<NetworkPolicy>> {
    requireMatchingName(name, incoming.metadata.name);
    this.validate(incoming);
    const result = await putRevisioned(this.target(), name, incoming, actor, preconditions);
    if (result.specChanged) await this.refreshTargets([result.previous?.value, result.stored.value]);
    return result;
  }

  async delete(name: string, actor: string, ifMatch: string | null): Promise<void> {
    const deleted = await deleteRevisioned(this.target(), name, actor, ifMatch);
    await this.refreshTargets([deleted]);
  }

  private target(): RevisionedResource<NetworkPolicy> {
    return { kind: KIND.policy, partitionKey: KIND.policy, collection: this.deps.policies, revisions: this.deps.revisions, now: this.deps.now };
  }

  /** Recompiles every cluster that any of the given versions of a policy targets. */
  private async refreshTargets(versions: ReadonlyArray<NetworkPolicy | undefined>): Promise<void> {
    const clusters = await listAllClusters(this.deps.clusters);
    const affected = clusters.filter((cluster) => versions.some((policy) => policy && targetsCluster(policy.spec.targets, cluster)));
    await this.deps.desiredState.refresh(affected);
  }
}
