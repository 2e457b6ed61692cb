import { describe, expect, it } from 'vitest';
import { clusterNameFor, discoveredCluster } from './discovery.js';

const ID = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/My_AKS.Cluster';

describe('discovery', () => {
  it('names a cluster after its managed cluster, as a DNS label', () => {
    expect(clusterNameFor('My_AKS.Cluster', ID, new Set())).toBe('my-aks-cluster');
    expect(clusterNameFor('--', ID, new Set())).toBe('aks');
    expect(clusterNameFor('x'.repeat(80), ID, new Set())).toHaveLength(63);
  });

  it('a taken name gets a suffix from the resource id (stable across runs)', () => {
    const name = clusterNameFor('My_AKS.Cluster', ID, new Set(['my-aks-cluster']));
    expect(name).toMatch(/^my-aks-cluster-[0-9a-f]{6}$/);
    expect(clusterNameFor('My_AKS.Cluster', ID.toLowerCase(), new Set(['my-aks-cluster']))).toBe(name);
    expect(clusterNameFor('y'.repeat(80), ID, new Set(['y'.repeat(63)])).length).toBeLessThanOrEqual(63);
  });

  it('copies the tags that are valid labels, skips the others, and adds its own', () => {
    const cluster = discoveredCluster(
      { id: ID, name: 'My_AKS.Cluster', location: 'westeurope', tags: { env: 'prod', 'cost center': 'x', team: 'a b', 'fleetnet.io/discovered': 'spoofed' } },
      new Set(),
    );
    expect(cluster.metadata).toEqual({ name: 'my-aks-cluster', labels: { env: 'prod', 'fleetnet.io/discovered': 'arm', 'topology.kubernetes.io/region': 'westeurope' } });
    expect(cluster.spec).toEqual({ armResourceId: ID });
  });
});
