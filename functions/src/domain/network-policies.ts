import type { NetworkPolicy } from '../../../openapi/types.js';
import { validatePolicySpec } from '../../../core/policy/validate-policy-spec.js';
import { targetsCluster } from '../../../core/policy/select-clusters.js';
import { notFound, validationFailed } from '../http/api-error.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import { listAllClusters } from './cluster-directory.js';
import { collectPage, type Page } from './collect-page.js';
import type { DesiredStateService } from './desired-state.js';
import { KIND } from './fleet-store.js';
import { putResource, type Preconditions, type PutOutcome } from './put-resource.js';
import { requireMatchingName } from './require-matching-name.js';
import { deleteAtVersion } from './delete-at-version.js';
import { revisionOf, type RevisionLog } from './revision-log.js';
import type { Cluster } from '../../../openapi/types.js';
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
    const { revisions, now } = this.deps;
    const existing = await this.deps.policies.read(KIND.policy, name);
    // Repair: a previous write that died before recording its revision gets it now (idempotent).
    if (existing) await this.recordRevision(existing.value, existing.value.metadata.generation === 1 ? 'create' : 'replace');
    const result = await putResource({
      collection: this.deps.policies,
      partitionKey: KIND.policy,
      id: name,
      incoming,
      actor,
      now: now(),
      preconditions,
      firstGeneration: async () => (await revisions.highestGeneration(KIND.policy, name)) + 1,
    });
    if (result.specChanged) {
      await this.recordRevision(result.stored.value, result.outcome === 'created' ? 'create' : 'replace');
      await this.refreshTargets([result.previous?.value, result.stored.value]);
    }
    return result;
  }

  async delete(name: string, actor: string, ifMatch: string | null): Promise<void> {
    const existing = await this.get(name);
    await deleteAtVersion(this.deps.policies, KIND.policy, name, existing.version, ifMatch);
    const generation = (existing.value.metadata.generation ?? 1) + 1;
    await this.deps.revisions.record(
      revisionOf(KIND.policy, name, generation, 'delete', actor, this.deps.now().toISOString(), { labels: existing.value.metadata.labels }),
    );
    await this.refreshTargets([existing.value]);
  }

  private recordRevision(policy: NetworkPolicy, operation: 'create' | 'replace'): Promise<void> {
    const { metadata } = policy;
    return this.deps.revisions.record(
      revisionOf(KIND.policy, metadata.name, metadata.generation ?? 1, operation, metadata.updatedBy ?? 'unknown', metadata.updatedAt ?? '', {
        spec: policy.spec,
        labels: metadata.labels,
      }),
    );
  }

  /** Recompiles every cluster that any of the given versions of a policy targets. */
  private async refreshTargets(versions: ReadonlyArray<NetworkPolicy | undefined>): Promise<void> {
    const clusters = await listAllClusters(this.deps.clusters);
    const affected = clusters.filter((cluster) => versions.some((policy) => policy && targetsCluster(policy.spec.targets, cluster)));
    await this.deps.desiredState.refresh(affected);
  }
}
