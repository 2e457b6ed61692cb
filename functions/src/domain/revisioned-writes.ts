import type { DocumentCollection } from '../store/document-collection.js';
import { deleteCurrent } from './delete-current.js';
import { putResource, type Preconditions, type PutOutcome } from './put-resource.js';
import type { Resource } from './resource.js';
import { revisionOf, type RevisedKind, type RevisionLog } from './revision-log.js';

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
 * (who, when, generation, full spec); a recreated one continues after the highest generation ever
 * recorded. Before writing, the stored version's own revision is recorded if it is missing — the repair
 * for a write that died between storing the resource and recording its revision (idempotent by id).
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

/** Deletes at the version read (honouring If-Match) and records a `delete` revision; returns what was deleted. */
export async function deleteRevisioned<R extends Resource>(target: RevisionedResource<R>, name: string, actor: string, ifMatch: string | null): Promise<R> {
  const existing = await deleteCurrent(target.collection, target.partitionKey, name, ifMatch, `${target.kind} "${name}"`);
  const { metadata } = existing.value;
  await target.revisions.record(
    revisionOf(target.kind, name, (metadata.generation ?? 1) + 1, 'delete', actor, target.now().toISOString(), { labels: metadata.labels }),
  );
  return existing.value;
}

function recordVersion<R extends Resource>(target: RevisionedResource<R>, resource: R, operation: 'create' | 'replace'): Promise<void> {
  const { metadata } = resource;
  return target.revisions.record(
    revisionOf(target.kind, metadata.name, metadata.generation ?? 1, operation, metadata.updatedBy ?? 'unknown', metadata.updatedAt ?? '', {
      spec: resource.spec,
      labels: metadata.labels,
    }),
  );
}
