/**
 * The policy bodies of a cluster's current desired state, shared by explain and replay.
 *
 * Contract:
 * - readPolicyBodies: the bodies a manifest lists, read from the reader's immutable per-(name, generation,
 *   hash) cache, at most BODY_READS_IN_FLIGHT at once, in the manifest's order. A body the manifest lists but
 *   the store does not hold (yet) means the desired state is moving: 503 ServiceUnavailable (retry in 1 s).
 * - ViewCache: a value derived from a member view, kept per view ETag (a view is immutable per ETag), at
 *   most VIEW_CACHE_LIMIT views, the oldest dropped first.
 * - currentPolicies(clusterId): the cluster's current policies; [] for an unknown cluster or one whose
 *   desired state the compiler has not placed yet.
 */
import type { BundledPolicy, PolicyReference } from '../../../openapi/types.js';
import { serviceUnavailable } from '../http/api-error.js';
import type { DesiredStateReader } from './desired-state/desired-state-reader.js';

/** Policy bodies read at once on a cold cache. */
const BODY_READS_IN_FLIGHT = 32;
/** Member views whose derived values are kept. */
const VIEW_CACHE_LIMIT = 256;

export type PolicyBodyReader = Pick<DesiredStateReader, 'bundledPolicy'>;

export async function readPolicyBodies(reader: PolicyBodyReader, references: readonly PolicyReference[]): Promise<BundledPolicy[]> {
  const bodies: BundledPolicy[] = [];
  for (let i = 0; i < references.length; i += BODY_READS_IN_FLIGHT) {
    const slice = references.slice(i, i + BODY_READS_IN_FLIGHT);
    const read = await Promise.all(slice.map((r) => reader.bundledPolicy(r.contentHash, r.name, r.generation)));
    if (read.some((body) => body === undefined)) throw serviceUnavailable(1);
    bodies.push(...(read as BundledPolicy[]));
  }
  return bodies;
}

export class ViewCache<T> {
  private readonly views = new Map<string, T>();

  async get(etag: string, derive: () => Promise<T>): Promise<T> {
    const cached = this.views.get(etag);
    if (cached !== undefined) return cached;
    const value = await derive();
    if (this.views.size >= VIEW_CACHE_LIMIT) this.views.delete(this.views.keys().next().value!);
    this.views.set(etag, value);
    return value;
  }
}

/** `currentPolicies` for replay (domain/policy-replay.ts), cached per member view like explain's;
 *  undefined for a cluster whose desired state is not compiled (yet). */
export function createCurrentPolicies(reader: Pick<DesiredStateReader, 'lookup' | 'bundledPolicy'>): (clusterId: string) => Promise<BundledPolicy[] | undefined> {
  const cache = new ViewCache<BundledPolicy[]>();
  return async (clusterId) => {
    const state = await reader.lookup(clusterId, null);
    if (state.found !== 'manifest') return undefined;
    return cache.get(state.etag, () => readPolicyBodies(reader, state.view().policies));
  };
}
