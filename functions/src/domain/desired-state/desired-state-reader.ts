import type { BundledPolicy, Cluster, DesiredState, NetworkPolicy } from '../../../../openapi/types.js';
import { bundledPolicyHash, toBundledPolicy } from '../../../../core/bundle/bundled-policy.js';
import { groupKeyOfEtag, labelGroupKey, memberView, type GroupManifest } from '../../../../core/bundle/group-manifest.js';
import type { DocumentCollection } from '../../store/document-collection.js';
import { KIND } from '../fleet-store.js';
import type { RevisionLog } from '../revision-log.js';
import type { ManifestStore } from './manifest-store.js';

/** What a poll finds for a cluster. */
export type DesiredStateLookup =
  /** The cluster is a member of a compiled manifest. */
  | { found: 'manifest'; agentIdentities: string[]; etag: string; view: () => DesiredState }
  /** The cluster exists but the compiler has not placed it in a manifest yet (just created). */
  | { found: 'pending'; agentIdentities: string[] }
  | { found: 'none' };

export interface DesiredStateReaderDeps {
  manifests: ManifestStore;
  clusters: DocumentCollection<Cluster>;
  policies: DocumentCollection<NetworkPolicy>;
  revisions: RevisionLog;
  /** How long a manifest or cluster read may be served from memory, in ms (0 = always read). */
  cacheMillis: number;
  now?: () => number;
}

/** Entries kept per in-memory cache (policy bodies, manifests, clusters); the oldest is dropped first. */
const CACHE_LIMIT = 10_000;

/**
 * The agents' side of desired state. A poll that names its manifest (If-None-Match carries the group key)
 * costs one point read — the manifest, which holds the members' identities and ETags; without a usable
 * ETag it reads the cluster too. Policy bodies are immutable per (name, generation) and kept in memory.
 */
export class DesiredStateReader {
  private readonly manifestCache = new Map<string, { manifest: GroupManifest | undefined; readAt: number }>();
  private readonly clusterCache = new Map<string, { cluster: Cluster | undefined; readAt: number }>();
  private readonly bundled = new Map<string, BundledPolicy>();
  private readonly now: () => number;

  constructor(private readonly deps: DesiredStateReaderDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The cluster's desired state. `etagHint` is the poll's If-None-Match (it names the group to read first). */
  async lookup(clusterId: string, etagHint: string | null): Promise<DesiredStateLookup> {
    const hinted = etagHint === null ? undefined : groupKeyOfEtag(etagHint);
    if (hinted) {
      const manifest = await this.manifest(hinted);
      if (manifest?.members[clusterId]) return found(manifest, clusterId);
    }
    const cluster = await this.cluster(clusterId);
    if (!cluster) return { found: 'none' };
    const groupKey = labelGroupKey(cluster.metadata.labels ?? {});
    const manifest = groupKey === hinted ? undefined : await this.manifest(groupKey);
    if (manifest?.members[clusterId]) return found(manifest, clusterId);
    return { found: 'pending', agentIdentities: cluster.spec.agentIdentities ?? [] };
  }

  /** The agent identities of a stored cluster (undefined: no such cluster), from the cached cluster read. */
  async clusterAgents(clusterId: string): Promise<string[] | undefined> {
    const cluster = await this.cluster(clusterId);
    return cluster && (cluster.spec.agentIdentities ?? []);
  }

  /**
   * The body of a policy the cluster's current manifest lists at `generation`, or undefined. Read from the
   * revision log (immutable), or from the policy itself when its revision is not recorded yet; a body whose
   * hash is not the one the manifest lists is never returned.
   */
  async bundledPolicy(contentHash: string, name: string, generation: number): Promise<BundledPolicy | undefined> {
    const key = `${name}@${generation}@${contentHash}`;
    const cached = this.bundled.get(key);
    if (cached) return cached;
    const revision = await this.deps.revisions.get(KIND.policy, name, generation);
    const candidates: BundledPolicy[] = [];
    if (revision?.spec) candidates.push(toBundledPolicy({ apiVersion: 'fleetnet.io/v1', kind: 'NetworkPolicy', metadata: { name, generation }, spec: revision.spec } as NetworkPolicy));
    if (!candidates.some((candidate) => bundledPolicyHash(candidate) === contentHash)) {
      const current = await this.deps.policies.read(KIND.policy, name);
      if (current && current.value.metadata.generation === generation) candidates.push(toBundledPolicy(current.value));
    }
    const body = candidates.find((candidate) => bundledPolicyHash(candidate) === contentHash);
    if (!body) return undefined;
    remember(this.bundled, key, body);
    return body;
  }

  /**
   * A manifest this instance's compiler just stored (undefined: removed): served from memory from now on,
   * so on the compiling instance a change does not wait for the cache window to pass.
   */
  manifestStored(groupKey: string, manifest: GroupManifest | undefined): void {
    remember(this.manifestCache, groupKey, { manifest, readAt: this.now() });
  }

  private async manifest(groupKey: string): Promise<GroupManifest | undefined> {
    const cached = this.manifestCache.get(groupKey);
    if (cached && this.now() - cached.readAt < this.deps.cacheMillis) return cached.manifest;
    const manifest = (await this.deps.manifests.read(groupKey))?.value;
    remember(this.manifestCache, groupKey, { manifest, readAt: this.now() });
    return manifest;
  }

  private async cluster(clusterId: string): Promise<Cluster | undefined> {
    const cached = this.clusterCache.get(clusterId);
    if (cached && this.now() - cached.readAt < this.deps.cacheMillis) return cached.cluster;
    const cluster = (await this.deps.clusters.read(KIND.cluster, clusterId))?.value;
    remember(this.clusterCache, clusterId, { cluster, readAt: this.now() });
    return cluster;
  }
}

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  cache.delete(key);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

function found(manifest: GroupManifest, clusterId: string): DesiredStateLookup {
  return {
    found: 'manifest',
    agentIdentities: manifest.members[clusterId] ?? [],
    etag: manifest.memberEtags[clusterId] ?? '',
    view: () => memberView(manifest, clusterId),
  };
}
