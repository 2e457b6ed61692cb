/**
 * Cilium's reserved numeric identities (pkg/identity/numericidentity.go), as the API and the agent
 * both resolve policies against them. The agent's kernel layer uses these numbers for its map layouts
 * (agent/src/kernel/identities.ts ReservedIdentity; test/datapath/layout.test.ts checks them against
 * fleetnet.h).
 *
 * `any` (0) is not an identity: in a verdict row it stands for "every peer" (the any-peer family).
 */
export const ReservedId = {
  any: 0,
  host: 1,
  world: 2,
  unmanaged: 3,
  health: 4,
  init: 5,
  remoteNode: 6,
  kubeApiserver: 7,
  ingress: 8,
  worldIpv4: 9,
  worldIpv6: 10,
} as const;

/** The reserved identities selectable by `reserved:<name>` labels and entities, in Cilium's order. */
export const RESERVED_IDENTITIES: ReadonlyArray<readonly [name: string, id: number]> = [
  ['host', ReservedId.host],
  ['world', ReservedId.world],
  ['unmanaged', ReservedId.unmanaged],
  ['health', ReservedId.health],
  ['init', ReservedId.init],
  ['remote-node', ReservedId.remoteNode],
  ['kube-apiserver', ReservedId.kubeApiserver],
  ['ingress', ReservedId.ingress],
  ['world-ipv4', ReservedId.worldIpv4],
  ['world-ipv6', ReservedId.worldIpv6],
];

/** The reserved identities the `cluster` entity selects besides every workload. */
export const CLUSTER_RESERVED: readonly number[] = [
  ReservedId.host, ReservedId.unmanaged, ReservedId.health, ReservedId.init,
  ReservedId.remoteNode, ReservedId.kubeApiserver, ReservedId.ingress,
];

/** The label a reserved identity carries: `reserved:<name>=`. */
export const reservedLabel = (name: string): string => `reserved:${name}=`;

/** The world identity a peer of this family has when no prefix covers it. */
export function worldOf(family: 4 | 6): number {
  return family === 4 ? ReservedId.world : ReservedId.worldIpv6;
}

/** The reserved identities with Cilium's labels: kube-apiserver also carries `reserved:remote-node`,
 *  and the host `reserved:kube-apiserver` while the apiserver listens on that node. */
export function reservedIdentities(apiserverOnHost: boolean): Array<{ id: number; kind: 'reserved'; labels: string[] }> {
  return RESERVED_IDENTITIES.map(([name, id]) => {
    const labels = [reservedLabel(name)];
    if (id === ReservedId.kubeApiserver) labels.push(reservedLabel('remote-node'));
    if (id === ReservedId.host && apiserverOnHost) labels.push(reservedLabel('kube-apiserver'));
    return { id, kind: 'reserved' as const, labels: labels.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
  });
}
