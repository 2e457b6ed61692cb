import type { Resource } from './resource.js';

/**
 * What a deleted resource leaves in its place (DocumentCollection.tombstone): its name, labels and the
 * generation of the delete — the one after the last stored — with who deleted it and when; no spec.
 * A resource created again under the same name continues after that generation.
 */
export function tombstoneOf<R extends Resource>(existing: R, actor: string, now: Date): R {
  const { name, labels, generation = 1 } = existing.metadata;
  const metadata = { name, ...(labels ? { labels } : {}), generation: generation + 1, updatedAt: now.toISOString(), updatedBy: actor };
  return { apiVersion: existing.apiVersion, kind: existing.kind, metadata } as R;
}
