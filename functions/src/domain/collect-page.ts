import type { LabelSelector } from '../../../openapi/types.js';
import { matchesLabelSelector } from '../../../core/labels/label-selector.js';
import type { DocumentCollection, Versioned } from '../store/document-collection.js';
import type { Resource } from './resource.js';

export interface Page<R> {
  items: Versioned<R>[];
  /** Id of the last item served when more may follow; undefined on the last page. */
  lastId: string | undefined;
}

/**
 * One page of a partition in id order, filtered by a label selector over metadata.labels.
 * Reads the store in chunks until `limit + 1` matches are seen (or the partition ends), so a page is
 * never short while more matches exist and `lastId` is set only when another match follows.
 */
export async function collectPage<R extends Resource>(
  collection: DocumentCollection<R>,
  partitionKey: string,
  query: { limit: number; afterId: string | undefined; selector: LabelSelector | undefined },
): Promise<Page<R>> {
  const matches: Versioned<R>[] = [];
  const chunk = Math.min(Math.max(query.limit + 1, 50), 1000);
  let cursor = query.afterId;
  for (;;) {
    const batch = await collection.page(partitionKey, { afterId: cursor, limit: chunk });
    for (const entry of batch) {
      if (matchesLabelSelector(query.selector, entry.value.metadata.labels ?? {})) matches.push(entry);
      if (matches.length > query.limit) {
        const items = matches.slice(0, query.limit);
        return { items, lastId: items.at(-1)?.value.metadata.name };
      }
    }
    if (batch.length < chunk) return { items: matches, lastId: undefined };
    cursor = batch.at(-1)?.value.metadata.name;
  }
}
