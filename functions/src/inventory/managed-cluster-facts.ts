/**
 * What fleet inventory keeps of an ARM managed cluster (pure): the SDK's ManagedCluster (properties
 * flattened, as @azure/arm-containerservice deserializes them) → ClusterInventory, the facts `Cluster.status`
 * carries. Field names follow ARM's; a field ARM does not send stays absent (never defaulted here:
 * compliance decides what an absent field means).
 */
import type { ManagedCluster } from '@azure/arm-containerservice';
import type { ClusterInventory, ClusterNetworkFacts, NodePoolFacts } from '../../../openapi/types.js';

const MAX_NODE_POOLS = 100;

export function inventoryOf(cluster: ManagedCluster, observedAt: Date): ClusterInventory {
  return withoutUndefined({
    observedAt: observedAt.toISOString(),
    armResourceId: cluster.id ?? '',
    etag: cluster.eTag,
    location: cluster.location,
    kubernetesVersion: cluster.currentKubernetesVersion ?? cluster.kubernetesVersion,
    provisioningState: cluster.provisioningState,
    powerState: cluster.powerState?.code,
    network: networkOf(cluster),
    nodePools: (cluster.agentPoolProfiles ?? []).slice(0, MAX_NODE_POOLS).map(
      (pool): NodePoolFacts =>
        withoutUndefined({
          name: pool.name,
          count: pool.count,
          osType: pool.osType,
          osSku: pool.osSKU,
          mode: pool.mode,
          nodeImageVersion: pool.nodeImageVersion,
          orchestratorVersion: pool.currentOrchestratorVersion ?? pool.orchestratorVersion,
        }),
    ),
  });
}

function networkOf(cluster: ManagedCluster): ClusterNetworkFacts | undefined {
  const profile = cluster.networkProfile;
  if (!profile) return undefined;
  const advanced = profile.advancedNetworking;
  return withoutUndefined({
    networkPlugin: profile.networkPlugin,
    networkPluginMode: profile.networkPluginMode,
    networkDataplane: profile.networkDataplane,
    networkPolicy: profile.networkPolicy,
    advancedNetworking: advanced
      ? withoutUndefined({
          enabled: advanced.enabled,
          observabilityEnabled: advanced.observability?.enabled,
          securityEnabled: advanced.security?.enabled,
          transitEncryption: advanced.security?.transitEncryption?.type,
        })
      : undefined,
  });
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
