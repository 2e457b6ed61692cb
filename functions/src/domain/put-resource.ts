import { canonicalJson } from '../../../core/policy/canonical-json.js';
import { preconditionFailed } from '../http/api-error.js';
import { ifMatchAdmits } from '../http/etag.js';
import { WriteConflictError, type DocumentCollection, type Versioned } from '../store/document-collection.js';
import type { Resource } from './resource.js';
import { retryOnWriteConflict } from './retry-on-conflict.js';

export interface Preconditions {
  ifMatch: string | null;
  ifNoneMatch: string | null;
}

export interface PutRequest<R extends Resource> {
  collection: DocumentCollection<R>;
  partitionKey: string;
  id: string;
  /** The resource as the client sent it; read-only metadata and status are ignored. */
  incoming: R;
  actor: string;
  now: Date;
  preconditions: Preconditions;
  /**
   * Generation given to a newly created resource when no tombstone says where to continue (a resource
   * deleted before tombstones existed). Default 1. After a tombstone: the tombstone's generation + 1.
   */
  firstGeneration?: () => Promise<number>;
  /** Status to store: receives the existing resource's status (PUT never takes status from the client). */
  status?: (existing: R | undefined) => unknown;
  /** Extra top-level properties stored beside the body (e.g. the partition field of another scope). */
  extra?: Record<string, unknown>;
}

export interface PutOutcome<R extends Resource> {
  stored: Versioned<R>;
  previous: Versioned<R> | undefined;
  outcome: 'created' | 'replaced' | 'unchanged';
  specChanged: boolean;
}

/**
 * Create-or-replace with the HTTP habits of DESIGN.md:
 * - If-None-Match: * → create-only (412 if the resource exists); If-Match → replace only at that ETag (412).
 * - Idempotent: when spec, labels and annotations equal what is stored nothing is written and the
 *   outcome is 'unchanged' (same resourceVersion, same generation).
 * - generation increments only when the spec changes; created/updated stamps record actor and time.
 * Without preconditions a lost race is retried (re-read, re-decide; retryOnWriteConflict), so the
 * last writer wins and no client that sent no precondition sees 412; with them it is a 412.
 */
export async function putResource<R extends Resource>(request: PutRequest<R>): Promise<PutOutcome<R>> {
  const { collection, partitionKey, id, preconditions } = request;
  const once = async (): Promise<PutOutcome<R>> => {
    const entry = await collection.readEntry(partitionKey, id);
    const existing = entry && !entry.tombstone ? { value: entry.value, version: entry.version } : undefined;
    checkPreconditions(preconditions, existing);
    const decision = await decide(request, existing, entry?.tombstone ? entry.value : undefined);
    if (decision.outcome === 'unchanged') return { stored: existing!, previous: existing, outcome: 'unchanged', specChanged: false };
    // A tombstone is replaced at its version like a live document, so a concurrent re-create loses the race.
    const stored = entry
      ? await collection.replace(partitionKey, id, decision.value, entry.version, request.extra)
      : await collection.create(partitionKey, id, decision.value, request.extra);
    return { stored, previous: existing, outcome: existing ? 'replaced' : 'created', specChanged: decision.specChanged };
  };
  const explicit = preconditions.ifMatch !== null || preconditions.ifNoneMatch !== null;
  try {
    // Without preconditions the last writer wins: a lost race is re-read and re-decided.
    return explicit ? await once() : await retryOnWriteConflict(once);
  } catch (error) {
    // With a precondition, the version the client named is gone: its write cannot apply.
    if (error instanceof WriteConflictError) throw preconditionFailed('The resource changed while this request was applied; retry.');
    throw error;
  }
}

function checkPreconditions(preconditions: Preconditions, existing: Versioned<Resource> | undefined): void {
  if (preconditions.ifNoneMatch !== null && preconditions.ifNoneMatch.trim() === '*' && existing) {
    throw preconditionFailed('The resource already exists (If-None-Match: *).');
  }
  if (preconditions.ifMatch !== null && !ifMatchAdmits(preconditions.ifMatch, existing?.version)) {
    throw preconditionFailed(existing ? 'The resource has changed (If-Match does not match its ETag).' : 'The resource does not exist (If-Match).');
  }
}

async function decide<R extends Resource>(
  request: PutRequest<R>,
  existing: Versioned<R> | undefined,
  tombstone: R | undefined,
): Promise<{ outcome: 'write'; value: R; specChanged: boolean } | { outcome: 'unchanged' }> {
  const { incoming, actor, now } = request;
  const stamp = now.toISOString();
  const status = request.status ? request.status(existing?.value) : undefined;
  const content = (r: R) => ({ spec: r.spec ?? null, labels: r.metadata.labels ?? {}, annotations: r.metadata.annotations ?? {} });
  const incomingMeta = { name: incoming.metadata.name, labels: incoming.metadata.labels, annotations: incoming.metadata.annotations };
  if (!existing) {
    const generation = tombstone ? (tombstone.metadata.generation ?? 1) + 1 : request.firstGeneration ? await request.firstGeneration() : 1;
    const metadata = { ...dropUndefined(incomingMeta), generation, createdAt: stamp, createdBy: actor, updatedAt: stamp, updatedBy: actor };
    return { outcome: 'write', value: withStatus({ ...incoming, metadata }, status), specChanged: true };
  }
  const previous = existing.value;
  const specChanged = canonicalJson(incoming.spec ?? null) !== canonicalJson(previous.spec ?? null);
  const sameStatus = canonicalJson(status ?? null) === canonicalJson(previous.status ?? null);
  if (!specChanged && sameStatus && canonicalJson(content(incoming)) === canonicalJson(content(previous))) return { outcome: 'unchanged' };
  const generation = (previous.metadata.generation ?? 1) + (specChanged ? 1 : 0);
  const metadata = {
    ...dropUndefined(incomingMeta),
    generation,
    createdAt: previous.metadata.createdAt,
    createdBy: previous.metadata.createdBy,
    updatedAt: stamp,
    updatedBy: actor,
  };
  return { outcome: 'write', value: withStatus({ ...incoming, metadata }, status), specChanged };
}

function withStatus<R extends Resource>(resource: R, status: unknown): R {
  const { status: _ignored, ...rest } = resource;
  return (status === undefined ? rest : { ...rest, status }) as R;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
