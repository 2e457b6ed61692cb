import type { ObjectMeta } from '../../../openapi/types.js';
import type { Versioned } from '../store/document-collection.js';

/** The envelope every fleetnet resource shares (DESIGN.md "Resource model"). */
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
}

/** The representation clients see: the stored resource with resourceVersion = the stored version. */
export function present<R extends Resource>(stored: Versioned<R>): R {
  return { ...stored.value, metadata: { ...stored.value.metadata, resourceVersion: stored.version } };
}
