import { describe, expect, it } from 'vitest';
import type { ClusterTargets } from '../../openapi/types.js';
import { targetsCluster } from './select-clusters.js';

describe('targetsCluster', () => {
  const cluster = { id: 'aks-weu-1', labels: { env: 'prod', region: 'westeurope' } };
  const cases: Array<{ name: string; given: ClusterTargets | undefined; want: boolean }> = [
    { name: 'no targets → every cluster', given: undefined, want: true },
    { name: 'empty targets → every cluster', given: {}, want: true },
    { name: 'listed id', given: { clusterIds: ['aks-weu-1'] }, want: true },
    { name: 'unlisted id', given: { clusterIds: ['aks-neu-1'] }, want: false },
    { name: 'empty id list → none', given: { clusterIds: [] }, want: false },
    { name: 'selector match', given: { clusterSelector: { matchLabels: { env: 'prod' } } }, want: true },
    { name: 'selector miss', given: { clusterSelector: { matchLabels: { env: 'dev' } } }, want: false },
    { name: 'empty selector → all', given: { clusterSelector: {} }, want: true },
    { name: 'union: id miss, selector hit', given: { clusterIds: ['x'], clusterSelector: { matchLabels: { region: 'westeurope' } } }, want: true },
    { name: 'union: id hit, selector miss', given: { clusterIds: ['aks-weu-1'], clusterSelector: { matchLabels: { env: 'dev' } } }, want: true },
    { name: 'union: both miss', given: { clusterIds: ['x'], clusterSelector: { matchLabels: { env: 'dev' } } }, want: false },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    expect(targetsCluster(given, cluster)).toBe(want);
  });
});
