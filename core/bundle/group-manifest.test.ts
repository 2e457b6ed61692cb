/**
 * Properties of label-group manifests over generated fleets: what a member's view lists is exactly what
 * `targetsCluster` selects; syncing one policy at a time (the change-feed path) ends where a full compile
 * does; member ETags are equal exactly when member views are.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterTargets, NetworkPolicy } from '../../openapi/types.js';
import { canonicalJson } from '../policy/canonical-json.js';
import { targetsCluster } from '../policy/select-clusters.js';
import { encryptionFor, entriesFor, labelGroupKey, memberView, policyEntryFor, sealManifest, withEntry, type GroupFacts, type GroupManifest } from './group-manifest.js';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ENVS = ['prod', 'dev', 'staging'];
const REGIONS = ['east', 'west'];

function generateFleet(seed: number) {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const clusters = Array.from({ length: 12 + Math.floor(next() * 20) }, (_, i) => {
    const labels: Record<string, string> = { env: pick(ENVS) };
    if (next() < 0.6) labels.region = pick(REGIONS);
    return { id: `c-${i}`, labels };
  });
  const targetsOf = (): ClusterTargets | undefined => {
    const ids = () => clusters.filter(() => next() < 0.15).map((c) => c.id);
    switch (Math.floor(next() * 7)) {
      case 0:
        return undefined;
      case 1:
        return {};
      case 2:
        return { clusterSelector: { matchLabels: { env: pick(ENVS) } } };
      case 3:
        return { clusterSelector: { matchExpressions: [{ key: 'region', operator: pick(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const), ...(next() < 0.5 ? { values: [pick(REGIONS)] } : { values: REGIONS }) }] } };
      case 4:
        return { clusterIds: ids() };
      case 5:
        return { clusterIds: ids(), clusterSelector: { matchLabels: { env: pick(ENVS), region: pick(REGIONS) } } };
      default:
        return { clusterSelector: {} };
    }
  };
  const policies: NetworkPolicy[] = Array.from({ length: 25 }, (_, i) => policy(`p-${String(i).padStart(2, '0')}`, 1 + Math.floor(next() * 3), targetsOf()));
  return { clusters, policies, next, targetsOf };
}

function policy(name: string, generation: number, targets: ClusterTargets | undefined): NetworkPolicy {
  const selector = targets?.clusterSelector;
  // Exists/DoesNotExist take no values: keep generated selectors valid.
  const cleanTargets = selector?.matchExpressions
    ? { ...targets, clusterSelector: { matchExpressions: selector.matchExpressions.map((e) => (e.operator === 'Exists' || e.operator === 'DoesNotExist' ? { key: e.key, operator: e.operator } : e)) } }
    : targets;
  return {
    apiVersion: 'fleetnet.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, generation },
    spec: { endpointSelector: { matchLabels: { app: name } }, ...(cleanTargets ? { targets: cleanTargets } : {}) },
  } as NetworkPolicy;
}

function groupsOf(clusters: { id: string; labels: Record<string, string> }[]): Map<string, GroupFacts> {
  const groups = new Map<string, GroupFacts>();
  for (const cluster of clusters) {
    const groupKey = labelGroupKey(cluster.labels);
    const group = groups.get(groupKey) ?? { groupKey, labels: cluster.labels, members: {} };
    group.members[cluster.id] = [`agent-${cluster.id}`];
    groups.set(groupKey, group);
  }
  return groups;
}

function compileAll(groups: Map<string, GroupFacts>, policies: NetworkPolicy[]): Map<string, GroupManifest> {
  return new Map([...groups].map(([key, facts]) => [key, sealManifest(facts, { policies: entriesFor(policies, facts), encryption: encryptionFor(undefined, facts.labels) }, undefined)]));
}

describe('label-group manifests', () => {
  it('a member sees exactly the policies targetsCluster selects for it (200 generated fleets)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { clusters, policies } = generateFleet(seed);
      const manifests = compileAll(groupsOf(clusters), policies);
      for (const cluster of clusters) {
        const view = memberView(manifests.get(labelGroupKey(cluster.labels))!, cluster.id);
        const expected = policies.filter((p) => targetsCluster(p.spec.targets, cluster)).map((p) => `${p.metadata.name}@${p.metadata.generation}`);
        expect(view.policies.map((p) => `${p.name}@${p.generation}`), `seed ${seed} cluster ${cluster.id}`).toEqual(expected.sort());
        expect(view.clusterId).toBe(cluster.id);
      }
    }
  });

  it('syncing changed policies one at a time (the change-feed path) ends where a full compile does', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const { clusters, policies, next, targetsOf } = generateFleet(seed);
      const groups = groupsOf(clusters);
      const incremental = compileAll(groups, policies);
      const current = [...policies];
      for (let change = 0; change < 30; change++) {
        const index = Math.floor(next() * current.length);
        const before = current[index]!;
        const deleted = next() < 0.2;
        const after = deleted ? undefined : policy(before.metadata.name, (before.metadata.generation ?? 1) + 1, targetsOf());
        if (after) current[index] = after;
        else current.splice(index, 1);
        for (const [key, manifest] of incremental) {
          const entries = withEntry(manifest.policies, before.metadata.name, after && policyEntryFor(after, manifest));
          incremental.set(key, sealManifest(manifest, { policies: entries, encryption: manifest.encryption }, manifest));
        }
      }
      const full = compileAll(groups, current);
      for (const [key, manifest] of full) {
        expect(canonicalJson(incremental.get(key)!.policies), `seed ${seed}`).toBe(canonicalJson(manifest.policies));
        expect(incremental.get(key)!.memberEtags).toEqual(manifest.memberEtags);
      }
    }
  });

  it('member ETags are equal exactly when the member views are, and name their group', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const { clusters, policies } = generateFleet(seed);
      const manifests = compileAll(groupsOf(clusters), policies);
      for (const manifest of manifests.values()) {
        const members = Object.keys(manifest.members);
        for (const a of members) {
          expect(manifest.memberEtags[a]!.startsWith(`${manifest.groupKey}.`)).toBe(true);
          for (const b of members) {
            const sameView = canonicalJson(memberView(manifest, a).policies) === canonicalJson(memberView(manifest, b).policies);
            expect(manifest.memberEtags[a] === manifest.memberEtags[b], `seed ${seed} ${a} ${b}`).toBe(sameView);
          }
        }
      }
    }
  });

  it('the revision moves on only when the content changes (membership alone keeps it)', () => {
    const facts: GroupFacts = { groupKey: labelGroupKey({ env: 'prod' }), labels: { env: 'prod' }, members: { a: ['x'] } };
    const encryption = encryptionFor(undefined, facts.labels);
    const first = sealManifest(facts, { policies: entriesFor([policy('p', 1, undefined)], facts), encryption }, undefined);
    const joined = sealManifest({ ...facts, members: { a: ['x'], b: ['y'] } }, { policies: first.policies, encryption }, first);
    expect(joined.revision).toBe(1);
    const changed = sealManifest(joined, { policies: entriesFor([policy('p', 2, undefined)], joined), encryption }, joined);
    expect(changed.revision).toBe(2);
    expect(changed.memberEtags.a).not.toBe(joined.memberEtags.a);
  });
});
