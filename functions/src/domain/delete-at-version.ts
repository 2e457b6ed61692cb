import { notFound, preconditionFailed } from '../http/api-error.js';
import { ifMatchAdmits } from '../http/etag.js';
import { WriteConflictError, type DocumentCollection } from '../store/document-collection.js';

/**
 * Deletes a document the caller has read at `version`, honouring the client's If-Match (412 when it does
 * not admit `version`) and failing with 412 if the document changed since it was read (404 if it is gone).
 */
export async function deleteAtVersion<T>(
  collection: DocumentCollection<T>,
  partitionKey: string,
  id: string,
  version: string,
  ifMatch: string | null,
): Promise<void> {
  if (ifMatch !== null && !ifMatchAdmits(ifMatch, version)) throw preconditionFailed('The resource has changed (If-Match does not match its ETag).');
  try {
    if (!(await collection.delete(partitionKey, id, version))) throw notFound(`"${id}"`);
  } catch (error) {
    if (error instanceof WriteConflictError) throw preconditionFailed('The resource changed while it was being deleted; retry.');
    throw error;
  }
}
