/**
 * The desired state of a label group (pure): every cluster with the same labels gets the same policies —
 * except those a policy names by `targets.clusterIds`, which the group's entry restricts to the named
 * members — and the same effective encryption. One manifest per group is what the compiler writes, so a
 * fleet-wide change costs one write per group, not per cluster.
 *
 * Contract (checked by a property test): for every member, `memberView(manifest, id).policies` lists
 * exactly the policies `targetsCluster` selects for that cluster, ordered by name.
 */
import { createHash } from 'node:crypto';
import type { DesiredState, EffectiveEncryption, EncryptionSettingsSpec, Labels, NetworkPolicy, PolicyReference } from '../../openapi/types.js';
import { computeEffectiveEncryption } from '../encryption/effective-encryption.js';
import { matchesLabelSelector } from '../labels/label-selector.js';
import { canonicalJson } from '../policy/canonical-json.js';
import { policyReference } from './bundled-policy.js';
import { DESIRED_STATE_API_VERSION } from './desired-state-format.js';

export interface ManifestEntry extends PolicyReference {
  /** Present when the policy reaches this group only through `targets.clusterIds`: the members it names. */
  onlyClusters?: string[];
}

export interface EncryptionInput {
  spec: EncryptionSettingsSpec;
  generation: number;
}

/** What a manifest's content is computed from, besides the policies. */
export interface GroupFacts {
  groupKey: string;
  labels: Labels;
  /** cluster id → the agent identities allowed to act for it (sorted). */
  members: Record<string, string[]>;
}

export interface GroupManifest extends GroupFacts {
  /** Increases by one whenever `policies` or `encryption` change. */
  revision: number;
  /** SHA-256 (hex) of the canonical JSON of { policies, encryption }. */
  contentHash: string;
  /** Ordered by name. */
  policies: ManifestEntry[];
  /** Effective encryption of the group's labels (clusterId left empty: filled per member). */
  encryption: EffectiveEncryption;
  /** cluster id → ETag value (unquoted) of that member's view: `<groupKey>.<hash of the view>`. */
  memberEtags: Record<string, string>;
}

/** The group of a label set: equal labels ⇔ equal keys (24 hex characters, so ETags can name it). */
export function labelGroupKey(labels: Labels): string {
  return createHash('sha256').update(canonicalJson(labels)).digest('hex').slice(0, 24);
}

/** The group a manifest ETag (quoted or not) names, if it has the `<groupKey>.<hash>` form. */
export function groupKeyOfEtag(etag: string): string | undefined {
  const match = /^(?:W\/)?"?([0-9a-f]{24})\.[0-9a-f]+"?$/.exec(etag.trim());
  return match?.[1];
}

/** How entries get a policy's reference (hashing a body is the costly part: callers memoize across groups). */
export type ReferenceOf = (policy: NetworkPolicy) => PolicyReference;

/** A ReferenceOf that hashes each policy object once. */
export function memoizedReferences(): ReferenceOf {
  const seen = new WeakMap<NetworkPolicy, PolicyReference>();
  return (policy) => {
    let reference = seen.get(policy);
    if (!reference) seen.set(policy, (reference = policyReference(policy)));
    return reference;
  };
}

/** The entry of `policy` in a group, or undefined when the policy reaches none of its members. */
export function policyEntryFor(policy: NetworkPolicy, group: Pick<GroupFacts, 'labels' | 'members'>, referenceOf: ReferenceOf = policyReference): ManifestEntry | undefined {
  const ids = policy.spec.targets?.clusterIds;
  const selector = policy.spec.targets?.clusterSelector;
  const everyMember = (ids === undefined && selector === undefined) || (selector !== undefined && matchesLabelSelector(selector, group.labels));
  if (everyMember) return referenceOf(policy);
  const named = Object.keys(group.members)
    .filter((id) => ids?.includes(id))
    .sort();
  return named.length > 0 ? { ...referenceOf(policy), onlyClusters: named } : undefined;
}

/** Every entry of a group from all policies (a full compile). */
export function entriesFor(policies: readonly NetworkPolicy[], group: Pick<GroupFacts, 'labels' | 'members'>, referenceOf: ReferenceOf = policyReference): ManifestEntry[] {
  return sortEntries(policies.map((policy) => policyEntryFor(policy, group, referenceOf)).filter((entry): entry is ManifestEntry => entry !== undefined));
}

/** `entries` with the entry named `name` replaced by `entry` (or removed when undefined), ordered by name. */
export function withEntry(entries: readonly ManifestEntry[], name: string, entry: ManifestEntry | undefined): ManifestEntry[] {
  const others = entries.filter((existing) => existing.name !== name);
  return sortEntries(entry ? [...others, entry] : others);
}

export function encryptionFor(encryption: EncryptionInput | undefined, labels: Labels): EffectiveEncryption {
  return computeEffectiveEncryption(encryption?.spec, { id: '', labels }, encryption?.generation ?? null);
}

/**
 * The manifest to store: content hash, per-member ETags, and a revision that moves on only when the content
 * differs from `previous` (a membership-only change keeps it).
 */
export function sealManifest(
  facts: GroupFacts,
  content: { policies: ManifestEntry[]; encryption: EffectiveEncryption },
  previous: GroupManifest | undefined,
): GroupManifest {
  const contentHash = hashOf({ policies: content.policies, encryption: content.encryption });
  const revision = previous ? previous.revision + (previous.contentHash === contentHash ? 0 : 1) : 1;
  const draft = { ...facts, revision, contentHash, policies: content.policies, encryption: content.encryption, memberEtags: {} };
  // Members no entry names by id all see the same view: hash it once (the empty id is never a member).
  const named = new Set(content.policies.flatMap((entry) => entry.onlyClusters ?? []));
  const shared = hashOf(viewContent(draft, '')).slice(0, 32);
  const memberEtags = Object.fromEntries(
    Object.keys(facts.members)
      .sort()
      .map((id) => [id, `${facts.groupKey}.${named.has(id) ? hashOf(viewContent(draft, id)).slice(0, 32) : shared}`]),
  );
  return { ...draft, memberEtags };
}

/** True when storing `next` over `previous` would change nothing anyone reads. */
export function sameManifest(previous: GroupManifest, next: GroupManifest): boolean {
  return previous.contentHash === next.contentHash && canonicalJson(previous.members) === canonicalJson(next.members) && canonicalJson(previous.labels) === canonicalJson(next.labels);
}

/** The desired state one member polls (format fleetnet.io/v2). */
export function memberView(manifest: GroupManifest, clusterId: string): DesiredState {
  const { policies, encryption } = viewContent(manifest, clusterId);
  return { apiVersion: DESIRED_STATE_API_VERSION, kind: 'DesiredState', clusterId, revision: manifest.revision, policies, encryption: { ...encryption, clusterId } };
}

function viewContent(manifest: Pick<GroupManifest, 'policies' | 'encryption'>, clusterId: string): { policies: PolicyReference[]; encryption: EffectiveEncryption } {
  const policies = manifest.policies
    .filter((entry) => entry.onlyClusters === undefined || entry.onlyClusters.includes(clusterId))
    .map(({ onlyClusters: _only, ...reference }) => reference);
  return { policies, encryption: manifest.encryption };
}

function sortEntries(entries: ManifestEntry[]): ManifestEntry[] {
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
