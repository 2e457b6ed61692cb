import { notFound, preconditionFailed } from '../http/api-error.js';
import { ifMatchAdmits } from '../http/etag.js';
import { WriteConflictError, type DocumentCollection, type Versioned } from '../store/document-collection.js';
import { retryOnWriteConflict } from './retry-on-conflict.js';

/**
 * Reads the document and deletes it at the version read; returns what was deleted. 404 (`what` was
 * not found) when it is absent. With If-Match: 412 when it does not admit that version, or when the
 * document changes before the delete lands. Without: the delete applies to whatever is current — a
 * concurrent change is re-read and deleted (retryOnWriteConflict), never a 412.
 * With `leave`, the document is replaced by the tombstone `leave(existing)` instead of removed (the
 * tombstone is the single write that commits the delete; see DocumentCollection.tombstone).
 */
export async function deleteCurrent<T>(
  collection: DocumentCollection<T>,
  partitionKey: string,
  id: string,
  ifMatch: string | null,
  what: string,
  leave?: (existing: T) => T,
): Promise<Versioned<T>> {
  const once = async (): Promise<Versioned<T>> => {
    const existing = await collection.read(partitionKey, id);
    if (!existing) throw notFound(what);
    if (ifMatch !== null && !ifMatchAdmits(ifMatch, existing.version)) throw preconditionFailed('The resource has changed (If-Match does not match its ETag).');
    if (leave) await collection.tombstone(partitionKey, id, leave(existing.value), existing.version);
    else if (!(await collection.delete(partitionKey, id, existing.version))) throw notFound(what);
    return existing;
  };
  try {
    return ifMatch !== null ? await once() : await retryOnWriteConflict(once);
  } catch (error) {
    if (error instanceof WriteConflictError) throw preconditionFailed('The resource changed while it was being deleted; retry.');
    throw error;
  }
}
