import type { DocumentCollection } from '../store/document-collection.js';
import { deleteCurrent } from './delete-current.js';
import { putResource, type Preconditions, type PutOutcome } from './put-resource.js';
import type { Resource } from './resource.js';
import { tombstoneOf } from './tombstone.js';
import { revisionOfVersion, type RevisedKind, type RevisionLog } from './revision-log.js';

/** A resource whose every create, spec change and delete is kept in the revision log. */
export interface RevisionedResource<R extends Resource> {
  kind: RevisedKind;
  /** Partition key of the resources container (the kind). */
  partitionKey: string;
  collection: DocumentCollection<R>;
  revisions: RevisionLog;
  now: () => Date;
}

/**
 * Create-or-replace (putResource semantics) plus history: a created or re-specced resource gets a revision
 * (who, when, generation, full spec); a recreated one continues after its tombstone's generation (or, for
 * one deleted before tombstones, the highest generation recorded).
 *
 * The resource document is the commit point: the revision is recorded right after it, before the request
 * answers. If the store fails in between, the request fails (503) but the revision is still recorded —
 * by the change-feed compiler, which records every version it sees, or by the next write of the resource,
 * which records the stored version's revision first when it is missing (idempotent by id).
 */
export async function putRevisioned<R extends Resource>(
  target: RevisionedResource<R>,
  name: string,
  incoming: R,
  actor: string,
  preconditions: Preconditions,
): Promise<PutOutcome<R>> {
  const existing = await target.collection.read(target.partitionKey, name);
  if (existing) await recordVersion(target, existing.value, existing.value.metadata.generation === 1 ? 'create' : 'replace');
  const result = await putResource({
    collection: target.collection,
    partitionKey: target.partitionKey,
    id: name,
    incoming,
    actor,
    now: target.now(),
    preconditions,
    firstGeneration: async () => (await target.revisions.highestGeneration(target.kind, name)) + 1,
  });
  if (result.specChanged) await recordVersion(target, result.stored.value, result.outcome === 'created' ? 'create' : 'replace');
  return result;
}

/**
 * Deletes at the version read (honouring If-Match) by leaving a tombstone, then records the `delete`
 * revision (the tombstone's generation); returns what was deleted. Same commit-point rule as putRevisioned.
 */
export async function deleteRevisioned<R extends Resource>(target: RevisionedResource<R>, name: string, actor: string, ifMatch: string | null): Promise<R> {
  const now = target.now();
  let tombstone: R | undefined; // what the committed delete left (deleteCurrent may retry: the last one)
  const existing = await deleteCurrent(target.collection, target.partitionKey, name, ifMatch, `${target.kind} "${name}"`, (value) => (tombstone = tombstoneOf(value, actor, now)));
  await target.revisions.record(revisionOfVersion(target.kind, tombstone!, 'delete'));
  return existing.value;
}

function recordVersion<R extends Resource>(target: RevisionedResource<R>, resource: R, operation: 'create' | 'replace'): Promise<void> {
  return target.revisions.record(revisionOfVersion(target.kind, resource, operation));
}
