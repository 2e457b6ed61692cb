import type { Cluster, EncryptionSettings, NetworkPolicy } from '../../../../openapi/types.js';
import {
  encryptionFor,
  entriesFor,
  labelGroupKey,
  memoizedReferences,
  policyEntryFor,
  sameManifest,
  sealManifest,
  withEntry,
  type EncryptionInput,
  type GroupFacts,
  type GroupManifest,
} from '../../../../core/bundle/group-manifest.js';
import { changedDocument, type DocumentCollection, type Versioned } from '../../store/document-collection.js';
import { FLEET_ENCRYPTION_NAME, KIND } from '../fleet-store.js';
import { conflictBackoff, MAX_CONFLICT_ATTEMPTS } from '../retry-on-conflict.js';
import { revisionOfVersion, type RevisionLog } from '../revision-log.js';
import type { ManifestStore } from './manifest-store.js';

export interface DesiredStateCompilerDeps {
  manifests: ManifestStore;
  policies: DocumentCollection<NetworkPolicy>;
  encryption: DocumentCollection<EncryptionSettings>;
  clusters: DocumentCollection<Cluster>;
  revisions: RevisionLog;
  /** Told of every manifest this compiler stored (undefined: removed), e.g. to refresh this instance's read cache. */
  published?: (groupKey: string, manifest: GroupManifest | undefined) => void;
}

/** What one batch of changed `resources` documents asks the compiler to do. */
interface ChangeSet {
  policyNames: Set<string>;
  encryption: boolean;
  clusters: boolean;
  /** The changed cluster documents (latest version each, as the feed delivers them). */
  clusterDocs: { cluster: Cluster; tombstone: boolean }[];
  /** Policy and encryption versions (live or tombstone) whose revision must exist. */
  versions: { kind: typeof KIND.policy | typeof KIND.encryption; resource: NetworkPolicy | EncryptionSettings; tombstone: boolean }[];
}

/**
 * Compiles desired state outside the write requests: the handler of the `resources` change feed (Functions
 * Cosmos DB trigger in Azure, the in-process driver locally) and the reconcile sweep.
 *
 * - A policy or encryption change is synced into every group manifest (the policy's entry recomputed from
 *   its current document, so batches coalesced or replayed by the feed converge on what is stored).
 * - A cluster change (created, labels or identities changed, tombstoned) recompiles every group from
 *   what is stored: membership moves, groups appear and disappear. A changed cluster already compiled as it
 *   is (a write of its status by fleet inventory: one group holds it, the group of its labels, with its
 *   agent identities) needs nothing: only the manifests are read. Groups gaining members are written
 *   first, then the others, then removals, so a cluster moving between groups is always in one of them.
 * - Every policy or encryption version seen gets its revision recorded if it is missing (the repair for a
 *   request that died between storing a resource and recording its revision).
 *
 * Concurrency (several feed workers, the reconcile timer): each round reads the manifests first and the
 * inputs second, then writes with If-Match on the manifest read; a lost race is retried in the next round
 * with fresh reads, so a write never stores inputs older than one already stored.
 */
export class DesiredStateCompiler {
  constructor(private readonly deps: DesiredStateCompilerDeps) {}

  /** The change-feed handler: documents of the `resources` container as the feed delivers them. */
  async applyChanges(documents: readonly Record<string, unknown>[]): Promise<void> {
    const changes = classify(documents);
    await Promise.all(changes.versions.map((version) => this.recordRevision(version)));
    if (changes.clusters && !(await this.compiledAsTheyAre(changes.clusterDocs))) await this.compileAll();
    else if (changes.policyNames.size > 0 || changes.encryption) await this.syncResources([...changes.policyNames], changes.encryption);
  }

  /** Recompiles every group from what is stored; returns the numbers of groups and clusters. */
  async compileAll(): Promise<{ groups: number; clusters: number }> {
    let pending: Set<string> | undefined; // undefined: every group, existing or needed
    let counts = { groups: 0, clusters: 0 };
    for (let round = 1; pending === undefined || pending.size > 0; round++) {
      if (round > MAX_CONFLICT_ATTEMPTS) throw new Error(`desired state of ${pending?.size} group(s) did not settle after ${MAX_CONFLICT_ATTEMPTS} rounds`);
      if (round > 1) await conflictBackoff(round - 1);
      const stored = await this.readManifests(pending); // manifests first, inputs second (see class comment)
      const [clusters, policies, encryption] = await Promise.all([this.deps.clusters.all(KIND.cluster), this.deps.policies.all(KIND.policy), this.loadEncryption()]);
      const groups = groupClusters(clusters.map((entry) => entry.value));
      counts = { groups: groups.size, clusters: clusters.length };
      const keys = pending ?? new Set([...groups.keys(), ...stored.keys()]);
      const lost = new Set<string>();
      const referenceOf = memoizedReferences();
      const policyValues = policies.map((entry) => entry.value);
      const write = async (key: string) => {
        const facts = groups.get(key)!;
        const previous = stored.get(key);
        const next = sealManifest(facts, { policies: entriesFor(policyValues, facts, referenceOf), encryption: encryptionFor(encryption, facts.labels) }, previous?.value);
        if (previous && sameManifest(previous.value, next)) return;
        if (await this.deps.manifests.write(previous, next)) this.deps.published?.(key, next);
        else lost.add(key);
      };
      // Groups that gain members are written before those that lose some and before removals, so a cluster
      // moving between groups is always in one of them (unless its new group's write loses a race: the
      // next round redoes it).
      const gains = (key: string) => Object.keys(groups.get(key)!.members).some((id) => !stored.get(key)?.value.members[id]);
      const wanted = [...keys].filter((key) => groups.has(key));
      const unwanted = [...keys].filter((key) => !groups.has(key));
      await Promise.all(wanted.filter(gains).map(write));
      await Promise.all(wanted.filter((key) => !gains(key)).map(write));
      await Promise.all(
        unwanted.map(async (key) => {
          const previous = stored.get(key);
          if (!previous) return;
          if (await this.deps.manifests.remove(previous)) this.deps.published?.(key, undefined);
          else lost.add(key);
        }),
      );
      pending = lost;
    }
    return counts;
  }

  /**
   * True when every changed cluster is live and its manifests already say what it says now: exactly one
   * group lists it, the group of its labels, with its agent identities. Anything else (new, moved, identities
   * changed, deleted, or still listed in a second group) is false: recompile.
   */
  private async compiledAsTheyAre(changed: ChangeSet['clusterDocs']): Promise<boolean> {
    if (changed.length === 0 || changed.some((c) => c.tombstone)) return false;
    const manifests = [...(await this.readManifests(undefined)).values()].map((entry) => entry.value);
    return changed.every(({ cluster }) => {
      const id = cluster.metadata.name;
      const holding = manifests.filter((manifest) => manifest.members[id] !== undefined);
      const identities = [...(cluster.spec.agentIdentities ?? [])].sort();
      return (
        holding.length === 1 &&
        holding[0]!.groupKey === labelGroupKey(cluster.metadata.labels ?? {}) &&
        JSON.stringify(holding[0]!.members[id]) === JSON.stringify(identities)
      );
    });
  }

  /** Syncs the named policies' entries (and, if asked, the encryption) into every existing group. */
  private async syncResources(policyNames: readonly string[], encryptionChanged: boolean): Promise<void> {
    let pending: Set<string> | undefined;
    for (let round = 1; pending === undefined || pending.size > 0; round++) {
      if (round > MAX_CONFLICT_ATTEMPTS) throw new Error(`desired state of ${pending?.size} group(s) did not settle after ${MAX_CONFLICT_ATTEMPTS} rounds`);
      if (round > 1) await conflictBackoff(round - 1);
      const stored = await this.readManifests(pending);
      const [policies, encryption] = await Promise.all([
        Promise.all(policyNames.map(async (name) => ({ name, current: (await this.deps.policies.read(KIND.policy, name))?.value }))),
        encryptionChanged ? this.loadEncryption() : Promise.resolve(undefined),
      ]);
      const lost = new Set<string>();
      const referenceOf = memoizedReferences();
      await Promise.all(
        [...stored.values()].map(async (previous) => {
          const manifest = previous.value;
          let entries = manifest.policies;
          for (const { name, current } of policies) entries = withEntry(entries, name, current && policyEntryFor(current, manifest, referenceOf));
          const next = sealManifest(factsOf(manifest), { policies: entries, encryption: encryptionChanged ? encryptionFor(encryption, manifest.labels) : manifest.encryption }, manifest);
          if (sameManifest(manifest, next)) return;
          if (await this.deps.manifests.write(previous, next)) this.deps.published?.(manifest.groupKey, next);
          else lost.add(manifest.groupKey);
        }),
      );
      pending = lost;
    }
  }

  /** Every stored manifest (keys undefined), or those of the given groups that exist. */
  private async readManifests(keys: Set<string> | undefined): Promise<Map<string, Versioned<GroupManifest>>> {
    const manifests = keys === undefined ? await this.deps.manifests.all() : await Promise.all([...keys].map((key) => this.deps.manifests.read(key)));
    return new Map(manifests.filter((entry) => entry !== undefined).map((entry) => [entry.value.groupKey, entry]));
  }

  private async loadEncryption(): Promise<EncryptionInput | undefined> {
    const settings = await this.deps.encryption.read(KIND.encryption, FLEET_ENCRYPTION_NAME);
    return settings && { spec: settings.value.spec, generation: settings.value.metadata.generation ?? 1 };
  }

  /**
   * Records the revision of a stored version unless it exists. The operation is read from history: a
   * tombstone is a delete; generation 1, or one that follows a delete (or nothing), is a create.
   */
  private async recordRevision({ kind, resource, tombstone }: ChangeSet['versions'][number]): Promise<void> {
    const { name, generation = 1 } = resource.metadata;
    if (await this.deps.revisions.get(kind, name, generation)) return;
    let operation: 'create' | 'replace' | 'delete' = 'delete';
    if (!tombstone) {
      const before = generation > 1 ? await this.deps.revisions.get(kind, name, generation - 1) : undefined;
      operation = before && before.operation !== 'delete' ? 'replace' : 'create';
    }
    await this.deps.revisions.record(revisionOfVersion(kind, resource, operation));
  }
}

/** Clusters by label group. */
function groupClusters(clusters: readonly Cluster[]): Map<string, GroupFacts> {
  const groups = new Map<string, GroupFacts>();
  for (const cluster of clusters) {
    const labels = cluster.metadata.labels ?? {};
    const groupKey = labelGroupKey(labels);
    const group = groups.get(groupKey) ?? { groupKey, labels, members: {} };
    group.members[cluster.metadata.name] = [...(cluster.spec.agentIdentities ?? [])].sort();
    groups.set(groupKey, group);
  }
  return groups;
}

function factsOf(manifest: GroupManifest): GroupFacts {
  return { groupKey: manifest.groupKey, labels: manifest.labels, members: manifest.members };
}

function classify(documents: readonly Record<string, unknown>[]): ChangeSet {
  const changes: ChangeSet = { policyNames: new Set(), encryption: false, clusters: false, clusterDocs: [], versions: [] };
  for (const document of documents) {
    const changed = changedDocument<NetworkPolicy | EncryptionSettings | Cluster>(document);
    const kind = changed.partitionKey('kind');
    if (kind === KIND.cluster) {
      changes.clusters = true;
      changes.clusterDocs.push({ cluster: changed.value as Cluster, tombstone: changed.tombstone });
    }
    else if (kind === KIND.policy) {
      changes.policyNames.add(changed.id);
      changes.versions.push({ kind, resource: changed.value as NetworkPolicy, tombstone: changed.tombstone });
    } else if (kind === KIND.encryption) {
      changes.encryption = true;
      changes.versions.push({ kind, resource: changed.value as EncryptionSettings, tombstone: changed.tombstone });
    }
  }
  return changes;
}
