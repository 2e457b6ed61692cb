import type { ContainerDefinition } from '@azure/cosmos';

/**
 * Every container fleetnet uses, defined once. Partition keys follow the queries users run:
 * - resources: fleet-scoped resources partitioned by kind (`/kind`): a list of policies or clusters is a
 *   single-partition query; a read is a point read (id = metadata.name). A delete leaves a tombstone
 *   (`deleted: true`) so the change feed, which does not carry deletes, sees it and a re-created resource
 *   continues its generations.
 * - nodes: per cluster (`/clusterId`), id = node name.
 * - desiredStates: one manifest per label group — the clusters whose labels are identical
 *   (`/groupKey`, id = "manifest") — holding the policy references, effective encryption, members (cluster
 *   id → agent identities) and per-member ETags, so a desired-state poll answered 304 is one point read.
 * - leases: the change-feed processor's leases (Functions Cosmos DB trigger on `resources`; `/id`).
 * - revisions: per resource (`/resourceKey` = "<Kind>/<name>"), id = zero-padded generation.
 * - flows: chunks of up to 500 flow summaries of one agent batch (bucket pattern), partitioned per cluster
 *   and UTC hour (`/pk` = "<clusterId>|<yyyy-mm-ddThh>"), id = "<batchId>.<chunk>", ordered by `/sk`
 *   ("<time>|<cluster>|<node>|<batchId>|<chunk>"). Retention by TTL (container default + per-document ttl).
 * - flowCoverage: per cluster (`/clusterId`), id = "<hour>|<node>": batch sequences, counts and reported
 *   losses of one node in one hour (completeness of flow answers; also tells which flow partitions hold data).
 * - operations: long-running operations (policy replays; `/id`, id = the operation id): one document each, point
 *   reads and writes only (no index). Kept OPERATION_TTL_SECONDS after their last write (container default
 *   and per-document ttl); a result is capped so the document stays far below 2 MB.
 * - manifestLedger: every group manifest as it was sealed, per group (`/groupKey`), id =
 *   "<revision, 12 digits>.<contentHash[0..16]>", kept LEDGER_TTL_SECONDS: maps a node's observedRevision to
 *   the policy generations it enforces (realization ledger, docs/policy-resolution.md).
 * RU arithmetic and the reasoning are in docs/storage.md and docs/flows.md.
 */
export const DATABASE_ID = 'fleetnet';

/** Retention of the realization ledger's sealed manifests (30 days), in seconds. */
export const LEDGER_TTL_SECONDS = 30 * 86_400;

/** Default retention of flow history (30 days), in seconds. */
export const FLOW_DEFAULT_TTL_SECONDS = 30 * 86_400;

/** How long an operation is kept after its last write (7 days), in seconds. */
export const OPERATION_TTL_SECONDS = 7 * 86_400;

export const CONTAINERS = {
  resources: {
    id: 'resources',
    partitionKey: { paths: ['/kind'] },
    indexingPolicy: {
      indexingMode: 'consistent',
      includedPaths: [{ path: '/id/?' }, { path: '/kind/?' }, { path: '/deleted/?' }],
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
  desiredStates: {
    id: 'desiredStates',
    partitionKey: { paths: ['/groupKey'] },
    // Point reads, plus the compiler's occasional scan of every manifest (a few dozen documents).
    indexingPolicy: { indexingMode: 'consistent', includedPaths: [], excludedPaths: [{ path: '/*' }] },
  },
  leases: {
    id: 'leases',
    partitionKey: { paths: ['/id'] },
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
  flows: {
    id: 'flows',
    partitionKey: { paths: ['/pk'] },
    // Safety net: documents carry their own `ttl` (FLEETNET_FLOW_RETENTION_DAYS); this applies to any that do not.
    defaultTtl: FLOW_DEFAULT_TTL_SECONDS,
    indexingPolicy: {
      indexingMode: 'consistent',
      includedPaths: [{ path: '/pk/?' }, { path: '/sk/?' }],
      excludedPaths: [{ path: '/*' }],
    },
  },
  flowCoverage: {
    id: 'flowCoverage',
    partitionKey: { paths: ['/clusterId'] },
    defaultTtl: FLOW_DEFAULT_TTL_SECONDS,
    indexingPolicy: {
      indexingMode: 'consistent',
      includedPaths: [{ path: '/clusterId/?' }, { path: '/hour/?' }],
      excludedPaths: [{ path: '/*' }],
    },
  },
  manifestLedger: {
    id: 'manifestLedger',
    partitionKey: { paths: ['/groupKey'] },
    defaultTtl: LEDGER_TTL_SECONDS,
    indexingPolicy: {
      indexingMode: 'consistent',
      includedPaths: [{ path: '/id/?' }, { path: '/groupKey/?' }],
      excludedPaths: [{ path: '/*' }],
    },
  },
  operations: {
    id: 'operations',
    partitionKey: { paths: ['/id'] },
    defaultTtl: OPERATION_TTL_SECONDS,
    indexingPolicy: { indexingMode: 'consistent', includedPaths: [], excludedPaths: [{ path: '/*' }] },
  },
} as const satisfies Record<string, ContainerDefinition>;

export type ContainerName = keyof typeof CONTAINERS;
