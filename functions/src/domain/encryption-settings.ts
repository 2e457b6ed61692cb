import type { EncryptionSettings } from '../../../openapi/types.js';
import { validateEncryptionSpec } from '../../../core/encryption/validate-encryption-spec.js';
import { notFound, validationFailed } from '../http/api-error.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import { FLEET_ENCRYPTION_NAME, KIND } from './fleet-store.js';
import type { Preconditions, PutOutcome } from './put-resource.js';
import { requireMatchingName } from './require-matching-name.js';
import type { RevisionLog } from './revision-log.js';
import { deleteRevisioned, putRevisioned, type RevisionedResource } from './revisioned-writes.js';

export interface EncryptionServiceDeps {
  encryption: DocumentCollection<EncryptionSettings>;
  revisions: RevisionLog;
  now: () => Date;
}

/** The fleet's one EncryptionSettings resource (named "fleet"): default plus ordered overrides. Compiled into desired state from the change feed. */
export class EncryptionSettingsService {
  constructor(private readonly deps: EncryptionServiceDeps) {}

  async get(): Promise<Versioned<EncryptionSettings>> {
    const found = await this.deps.encryption.read(KIND.encryption, FLEET_ENCRYPTION_NAME);
    if (!found) throw notFound('EncryptionSettings');
    return found;
  }

  /** What a PUT checks before it writes: the name is the fleet's, and the spec is valid. */
  check(incoming: EncryptionSettings): void {
    requireMatchingName(FLEET_ENCRYPTION_NAME, incoming.metadata.name);
    const errors = validateEncryptionSpec(incoming.spec, '/spec');
    if (errors.length > 0) throw validationFailed(errors);
  }

  async put(incoming: EncryptionSettings, actor: string, preconditions: Preconditions): Promise<PutOutcome<EncryptionSettings>> {
    this.check(incoming);
    return putRevisioned(this.target(), FLEET_ENCRYPTION_NAME, incoming, actor, preconditions);
  }

  async delete(actor: string, ifMatch: string | null): Promise<void> {
    await deleteRevisioned(this.target(), FLEET_ENCRYPTION_NAME, actor, ifMatch);
  }

  private target(): RevisionedResource<EncryptionSettings> {
    return { kind: KIND.encryption, partitionKey: KIND.encryption, collection: this.deps.encryption, revisions: this.deps.revisions, now: this.deps.now };
  }
}
