import type { GroupManifest } from '../../../../core/bundle/group-manifest.js';
import { WriteConflictError, type DocumentCollection, type Versioned } from '../../store/document-collection.js';
import type { ManifestLedger } from './manifest-ledger.js';

/** The id of a label group's manifest in its partition (container desiredStates, partition key = group key). */
export const MANIFEST_ID = 'manifest';

/** Label-group manifests with optimistic writes: every write names the version it read (or creates). A
 *  manifest written is recorded in the realization ledger (manifest-ledger.ts) when one is given. */
export class ManifestStore {
  constructor(
    private readonly documents: DocumentCollection<GroupManifest>,
    readonly ledger?: ManifestLedger,
  ) {}

  read(groupKey: string): Promise<Versioned<GroupManifest> | undefined> {
    return this.documents.read(groupKey, MANIFEST_ID);
  }

  /** Every manifest (one cross-partition query; a fleet has a few dozen label groups, at most one per cluster). */
  all(): Promise<Versioned<GroupManifest>[]> {
    return this.documents.everything();
  }

  /** Stores `next` over `previous` (create when undefined). False when another writer got there first. */
  async write(previous: Versioned<GroupManifest> | undefined, next: GroupManifest): Promise<boolean> {
    const written = await lostRaceIsFalse(() =>
      previous ? this.documents.replace(next.groupKey, MANIFEST_ID, next, previous.version) : this.documents.create(next.groupKey, MANIFEST_ID, next),
    );
    if (written) await this.ledger?.record(next);
    return written;
  }

  /** Deletes the manifest at the version read. False when it changed meanwhile (true when already gone). */
  async remove(previous: Versioned<GroupManifest>): Promise<boolean> {
    return lostRaceIsFalse(() => this.documents.delete(previous.value.groupKey, MANIFEST_ID, previous.version));
  }
}

async function lostRaceIsFalse(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (error instanceof WriteConflictError) return false;
    throw error;
  }
}
