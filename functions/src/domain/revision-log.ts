import type { Labels, Revision } from '../../../openapi/types.js';
import { WriteConflictError, type DocumentCollection } from '../store/document-collection.js';

export type RevisedKind = Revision['resourceKind'];

/** Revision ids sort like generations: zero-padded to 10 digits. */
const revisionId = (generation: number): string => String(generation).padStart(10, '0');
const resourceKey = (kind: RevisedKind, name: string): string => `${kind}/${name}`;

/**
 * The history of policies and encryption settings: one immutable document per generation
 * (create, replace with a spec change, delete). Writing a revision is idempotent: the id is derived from
 * the generation, so a retried write (or a repair of a missed one) never creates a second entry.
 */
export class RevisionLog {
  constructor(private readonly revisions: DocumentCollection<Revision>) {}

  /** Records a revision; a revision already present for that generation is left as it is. */
  async record(revision: Revision): Promise<void> {
    try {
      await this.revisions.create(resourceKey(revision.resourceKind, revision.resourceName), revisionId(revision.generation), revision, {
        generation: revision.generation,
      });
    } catch (error) {
      if (!(error instanceof WriteConflictError && error.reason === 'exists')) throw error;
    }
  }

  async get(kind: RevisedKind, name: string, generation: number): Promise<Revision | undefined> {
    return (await this.revisions.read(resourceKey(kind, name), revisionId(generation)))?.value;
  }

  /** Newest first; `beforeGeneration` continues a previous page. */
  async page(kind: RevisedKind, name: string, limit: number, beforeGeneration?: number): Promise<Revision[]> {
    const afterId = beforeGeneration === undefined ? undefined : revisionId(beforeGeneration);
    const page = await this.revisions.page(resourceKey(kind, name), { afterId, limit, descending: true });
    return page.map((entry) => entry.value);
  }

  /** The highest generation ever recorded for the resource (0 if none): a recreated resource continues from it. */
  async highestGeneration(kind: RevisedKind, name: string): Promise<number> {
    const [newest] = await this.page(kind, name, 1);
    return newest?.generation ?? 0;
  }
}

export function revisionOf(
  kind: RevisedKind,
  name: string,
  generation: number,
  operation: Revision['operation'],
  actor: string,
  timestamp: string,
  content: { spec?: unknown; labels?: Labels | undefined } = {},
): Revision {
  const revision: Revision = { resourceKind: kind, resourceName: name, generation, operation, actor, timestamp };
  if (content.labels) revision.labels = content.labels;
  if (content.spec !== undefined) revision.spec = content.spec as Record<string, never>;
  return revision;
}

/**
 * The revision of one stored version of a resource (live, or the tombstone a delete left): who and when
 * from its metadata (`updatedBy`, `updatedAt`), its generation and labels, and its spec unless it is a delete.
 */
export function revisionOfVersion(
  kind: RevisedKind,
  resource: { metadata: { name: string; generation?: number; labels?: Labels; updatedBy?: string; updatedAt?: string }; spec?: unknown },
  operation: Revision['operation'],
): Revision {
  const { name, generation = 1, labels, updatedBy = 'unknown', updatedAt = '' } = resource.metadata;
  return revisionOf(kind, name, generation, operation, updatedBy, updatedAt, operation === 'delete' ? { labels } : { spec: resource.spec, labels });
}
