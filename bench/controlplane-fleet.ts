/**
 * The fleet bench/controlplane.ts seeds (pure, deterministic): clusters labelled over three dimensions
 * (env × region × tier = 48 label sets), background policies that pick clusters by label selector the way
 * platform teams write them, and the fleet-wide policy whose writes are measured.
 * Every body is what a user would PUT (valid against openapi/openapi.yaml and validatePolicySpec).
 */
import type { Cluster, LabelSelector, NetworkPolicy, NetworkPolicySpec, Node } from '../openapi/types.js';

export const ENVS = ['prod', 'staging', 'dev'] as const;
export const REGIONS = ['westeurope', 'northeurope', 'eastus', 'eastus2', 'westus2', 'centralus', 'southeastasia', 'japaneast'] as const;
export const TIERS = ['a', 'b'] as const;

/** The Entra object id a cluster's agents would use (one per cluster). */
export const agentObjectId = (index: number): string => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
export const clusterId = (index: number): string => `aks-${String(index).padStart(4, '0')}`;

/** Labels of cluster `index`: consecutive clusters walk through the 48 label sets, so any 48 in a row cover all. */
export function clusterLabels(index: number): Record<string, string> {
  return {
    env: ENVS[index % ENVS.length]!,
    region: REGIONS[Math.floor(index / ENVS.length) % REGIONS.length]!,
    tier: TIERS[Math.floor(index / (ENVS.length * REGIONS.length)) % TIERS.length]!,
  };
}

export function clusterBody(index: number): Cluster {
  const name = clusterId(index);
  return {
    apiVersion: 'fleetnet.io/v1',
    kind: 'Cluster',
    metadata: { name, labels: clusterLabels(index) },
    spec: {
      agentIdentities: [agentObjectId(index)],
      armResourceId: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fleet-${clusterLabels(index).region}/providers/Microsoft.ContainerService/managedClusters/${name}`,
    },
  };
}

/** The node of each cluster that is registered and whose desired state is polled. */
export const POLLED_NODE = 'node-1';

export function nodeBody(name: string): Node {
  return { apiVersion: 'fleetnet.io/v1', kind: 'Node', metadata: { name }, spec: { agentVersion: '0.1.0', kernelVersion: '6.18.0', capabilities: { tcx: true, btf: true } } };
}

export const backgroundPolicyName = (index: number): string => `team-${String(index % 40).padStart(2, '0')}-svc-${String(index).padStart(4, '0')}`;

/**
 * Which clusters background policy `index` targets. Of every 400 policies: 1 fleet-wide (no targets),
 * 9 by one label (e.g. env=prod), 90 by two labels, 300 by all three (one label set, ~1/48 of the fleet),
 * some of them with matchExpressions. With 2,000 policies a cluster carries ~90 of them.
 */
export function backgroundTargets(index: number): NetworkPolicySpec['targets'] | undefined {
  const slot = index % 400;
  const env = ENVS[index % 3]!;
  const region = REGIONS[Math.floor(index / 3) % 8]!;
  const tier = TIERS[Math.floor(index / 7) % 2]!;
  let selector: LabelSelector;
  if (slot === 0) return undefined;
  if (slot < 10) selector = { matchLabels: slot % 3 === 0 ? { env } : slot % 3 === 1 ? { region } : { tier } };
  else if (slot < 100) selector = slot % 2 === 0 ? { matchLabels: { env, region } } : { matchLabels: { region, tier } };
  else if (slot % 10 === 0) selector = { matchLabels: { region, tier }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }] };
  else selector = { matchLabels: { env, region, tier } };
  return { clusterSelector: selector };
}

/** An ordinary Cilium-style rule body; `variant` changes a port so a rewrite is a spec change. */
export function backgroundSpec(index: number, variant = 0): NetworkPolicySpec {
  const app = `svc-${index}`;
  const port = String(1024 + ((index * 7 + variant) % 30_000));
  const spec: NetworkPolicySpec = {
    namespace: `team-${index % 40}`,
    endpointSelector: { matchLabels: { app } },
    ingress: [
      {
        fromEndpoints: [{ matchLabels: { app: `svc-${(index + 1) % 2000}` } }, { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'ingress-nginx' } }],
        toPorts: [{ ports: [{ port, protocol: 'TCP' }] }],
      },
    ],
    egress: [
      { toEndpoints: [{ matchLabels: { app: `db-${index % 13}` } }], toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }] },
      {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }],
        toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }],
      },
    ],
  };
  if (index % 5 === 0) spec.egress!.push({ toCIDRSet: [{ cidr: `10.${index % 256}.0.0/16`, except: [`10.${index % 256}.255.0/24`] }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] });
  if (index % 7 === 0) spec.egress!.push({ toEntities: ['kube-apiserver'] });
  if (index % 11 === 0) spec.mode = 'audit';
  const targets = backgroundTargets(index);
  if (targets) spec.targets = targets;
  return spec;
}

export function backgroundPolicy(index: number, variant = 0): NetworkPolicy {
  return {
    apiVersion: 'fleetnet.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: backgroundPolicyName(index), labels: { team: `team-${index % 40}`, tier: index % 400 < 10 ? 'platform' : 'app' } },
    spec: backgroundSpec(index, variant),
  } as NetworkPolicy;
}

export const MEASURED_POLICY = 'fleet-baseline-egress';

/** The measured policy: no targets (every cluster); write `round` changes its spec (a port). */
export function measuredPolicy(round: number): NetworkPolicy {
  return {
    apiVersion: 'fleetnet.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: MEASURED_POLICY, labels: { team: 'platform' } },
    spec: {
      endpointSelector: {},
      egress: [
        { toEntities: ['cluster'] },
        { toCIDRSet: [{ cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] }], toPorts: [{ ports: [{ port: String(10_000 + round), protocol: 'TCP' }] }] },
      ],
    },
  } as NetworkPolicy;
}
