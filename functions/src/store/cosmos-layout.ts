import type { ContainerDefinition } from '@azure/cosmos';

/**
 * Every container fleetnet uses, defined once. Partition keys follow the queries users run:
 * - resources: fleet-scoped resources partitioned by kind (`/kind`): a list of policies or clusters is a
 *   single-partition query; a read is a point read (id = metadata.name).
 * - nodes: per cluster (`/clusterId`), id = node name.
 * - clusterState: one document per cluster (`/clusterId`, id = "desired-state") holding the compiled
 *   bundle, its ETag and the cluster's agent identities, so a desired-state poll is one point read.
 * - revisions: per resource (`/resourceKey` = "<Kind>/<name>"), id = zero-padded generation.
 * RU arithmetic and the reasoning are in docs/storage.md.
 */
export const DATABASE_ID = 'fleetnet';

export const CONTAINERS = {
  resources: {
    id: 'resources',
    partitionKey: { paths: ['/kind'] },
    indexingPolicy: {
      indexingMode: 'consistent',
      includedPaths: [{ path: '/id/?' }, { path: '/kind/?' }],
      excludedPaths: [{ path: '/*' }],
    },
  },
  nodes: {
    id: 'nodes',
    partitionKey: { paths: ['/clusterId'] },
    indexingPolicy: {
      indexingMode: 'consistent',
      includedPaths: [{ path: '/id/?' }, { path: '/clusterId/?' }],
      excludedPaths: [{ path: '/*' }],
    },
  },
  clusterState: {
    id: 'clusterState',
    partitionKey: { paths: ['/clusterId'] },
    // Only point reads: nothing needs an index.
    indexingPolicy: { indexingMode: 'consistent', includedPaths: [], excludedPaths: [{ path: '/*' }] },
  },
  revisions: {
    id: 'revisions',
    partitionKey: { paths: ['/resourceKey'] },
    indexingPolicy: {
      indexingMode: 'consistent',
      includedPaths: [{ path: '/id/?' }, { path: '/resourceKey/?' }, { path: '/generation/?' }],
      excludedPaths: [{ path: '/*' }],
    },
  },
} as const satisfies Record<string, ContainerDefinition>;

export type ContainerName = keyof typeof CONTAINERS;
