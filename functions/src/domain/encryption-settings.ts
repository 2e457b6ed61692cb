import type { Cluster, EffectiveEncryption, EncryptionSettings } from '../../../openapi/types.js';
import { computeEffectiveEncryption } from '../../../core/encryption/effective-encryption.js';
import { validateEncryptionSpec } from '../../../core/encryption/validate-encryption-spec.js';
import { notFound, validationFailed } from '../http/api-error.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import { listAllClusters, toClusterRecord } from './cluster-directory.js';
import { deleteAtVersion } from './delete-at-version.js';
import type { DesiredStateService } from './desired-state.js';
import { FLEET_ENCRYPTION_NAME, KIND } from './fleet-store.js';
import { putResource, type Preconditions, type PutOutcome } from './put-resource.js';
import { requireMatchingName } from './require-matching-name.js';
import { revisionOf, type RevisionLog } from './revision-log.js';

export interface EncryptionServiceDeps {
  encryption: DocumentCollection<EncryptionSettings>;
  clusters: DocumentCollection<Cluster>;
  revisions: RevisionLog;
  desiredState: DesiredStateService;
  now: () => Date;
}

/** The fleet's one EncryptionSettings resource (named "fleet"): default plus ordered overrides. */
export class EncryptionSettingsService {
  constructor(private readonly deps: EncryptionServiceDeps) {}

  async get(): Promise<Versioned<EncryptionSettings>> {
    const found = await this.deps.encryption.read(KIND.encryption, FLEET_ENCRYPTION_NAME);
    if (!found) throw notFound('EncryptionSettings');
    return found;
  }

  async put(incoming: EncryptionSettings, actor: string, preconditions: Preconditions): Promise<PutOutcome<EncryptionSettings>> {
    requireMatchingName(FLEET_ENCRYPTION_NAME, incoming.metadata.name);
    const errors = validateEncryptionSpec(incoming.spec, '/spec');
    if (errors.length > 0) throw validationFailed(errors);
    const result = await putResource({
      collection: this.deps.encryption,
      partitionKey: KIND.encryption,
      id: FLEET_ENCRYPTION_NAME,
      incoming,
      actor,
      now: this.deps.now(),
      preconditions,
      firstGeneration: async () => (await this.deps.revisions.highestGeneration(KIND.encryption, FLEET_ENCRYPTION_NAME)) + 1,
    });
    if (result.specChanged) {
      const { metadata, spec } = result.stored.value;
      const operation = result.outcome === 'created' ? 'create' : 'replace';
      await this.deps.revisions.record(
        revisionOf(KIND.encryption, FLEET_ENCRYPTION_NAME, metadata.generation ?? 1, operation, actor, metadata.updatedAt ?? '', { spec, labels: metadata.labels }),
      );
      await this.deps.desiredState.refresh(await listAllClusters(this.deps.clusters));
    }
    return result;
  }

  async delete(actor: string, ifMatch: string | null): Promise<void> {
    const existing = await this.get();
    await deleteAtVersion(this.deps.encryption, KIND.encryption, FLEET_ENCRYPTION_NAME, existing.version, ifMatch);
    const generation = (existing.value.metadata.generation ?? 1) + 1;
    await this.deps.revisions.record(revisionOf(KIND.encryption, FLEET_ENCRYPTION_NAME, generation, 'delete', actor, this.deps.now().toISOString()));
    await this.deps.desiredState.refresh(await listAllClusters(this.deps.clusters));
  }

  async effectiveFor(cluster: Cluster): Promise<EffectiveEncryption> {
    const settings = await this.deps.encryption.read(KIND.encryption, FLEET_ENCRYPTION_NAME);
    return computeEffectiveEncryption(settings?.value.spec, toClusterRecord(cluster), settings?.value.metadata.generation ?? null);
  }
}
