/**
 * The realization ledger's storage: every group manifest as it was sealed, kept for the retention
 * (container manifestLedger, LEDGER_TTL_SECONDS), so a node's observedRevision maps back to the policy
 * generations it enforces (core/policy/realization).
 *
 * Contract:
 * - record(manifest) is idempotent: one document per (group, revision, content); a group removed and
 *   created again restarts at revision 1, hence the content hash in the id, and a reader takes the most
 *   recently recorded document of a revision.
 * - ManifestStore records a manifest after its write succeeded: a revision the ledger holds was current
 *   once. A crash between the two writes loses that revision's entry (nodes reporting it read as
 *   `unknown`, never as something they are not); the current manifest is always known besides.
 * - viewsFor(groupKey, clusterId): the views of that cluster — entries whose members include it, the
 *   policies a member sees (entries restricted by `onlyClusters` to other members left out).
 */
import type { GroupManifest, ManifestEntry } from '../../../../core/bundle/group-manifest.js';
import type { LedgerView } from '../../../../core/policy/realization/policy-realization.js';
import { WriteConflictError, type DocumentCollection } from '../../store/document-collection.js';

export interface LedgerEntry {
  groupKey: string;
  revision: number;
  contentHash: string;
  /** the group's member clusters at that revision */
  members: string[];
  policies: ManifestEntry[];
  /** RFC 3339 */
  recordedAt: string;
}

export const ledgerEntryId = (revision: number, contentHash: string): string => `${String(revision).padStart(12, '0')}.${contentHash.slice(0, 16)}`;

export class ManifestLedger {
  constructor(
    private readonly documents: DocumentCollection<LedgerEntry>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(manifest: GroupManifest): Promise<void> {
    const entry: LedgerEntry = {
      groupKey: manifest.groupKey,
      revision: manifest.revision,
      contentHash: manifest.contentHash,
      members: Object.keys(manifest.members).sort(),
      policies: manifest.policies,
      recordedAt: this.now().toISOString(),
    };
    try {
      await this.documents.create(manifest.groupKey, ledgerEntryId(manifest.revision, manifest.contentHash), entry);
    } catch (error) {
      if (error instanceof WriteConflictError && error.reason === 'exists') return; // recorded before
      throw error;
    }
  }

  /** Every entry of a group (the ledger keeps one group's revisions of the retention window). */
  async entries(groupKey: string): Promise<LedgerEntry[]> {
    return (await this.documents.all(groupKey)).map((e) => e.value);
  }

  async viewsFor(groupKey: string, clusterId: string): Promise<Map<number, LedgerView>> {
    const newest = new Map<number, LedgerEntry>();
    for (const e of await this.entries(groupKey)) {
      if (!e.members.includes(clusterId)) continue;
      const seen = newest.get(e.revision);
      if (!seen || e.recordedAt > seen.recordedAt) newest.set(e.revision, e);
    }
    const views = new Map<number, LedgerView>();
    for (const [revision, e] of newest) {
      const policies = e.policies.filter((p) => !p.onlyClusters || p.onlyClusters.includes(clusterId)).map((p) => ({ name: p.name, generation: p.generation }));
      views.set(revision, { revision, policies });
    }
    return views;
  }
}
