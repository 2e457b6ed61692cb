/**
 * Phase 1 of compileBundle (pure): the node's view of the cluster → numeric identities.
 *
 * - Workload identities: each pod's Cilium label set (core buildPodLabelSet) gets allocateHashed in
 *   WORKLOAD_ID_SPACE over the label-set key (labels joined by `\n`); one identity per distinct set.
 * - Reserved identities with Cilium's labels: kube-apiserver also carries `reserved:remote-node`, and
 *   the host carries `reserved:kube-apiserver` while the apiserver listens on this node.
 * - Node addresses (local node first, then by name; the first node naming an address keeps it) and
 *   kube-apiserver addresses.
 * - CIDR identities (core cidr-identities.ts) from the CIDR selectors of EVERY policy of the bundle and
 *   the addresses the DNS proxy learned (only with the DNS proxy; cluster addresses win).
 * - Subjects: the identities of this node's endpoints.
 */
import { buildPodLabelSet, type LabelSet } from '../../../core/labels/cilium-labels.js';
import { allocateHashed, WORKLOAD_ID_SPACE } from '../../../core/policy/resolve/allocate-ids.js';
import { allocateCidrIdentities, policyCidrSelectors, type CidrIdentity, type CidrSelector } from '../../../core/policy/resolve/cidr-identities.js';
import { ReservedId, reservedIdentities } from '../../../core/policy/resolve/reserved-identities.js';
import type { CidrIdentityRef, LabelledIdentity } from '../../../core/policy/resolve/verdict-table.js';
import { hostPrefix, type Prefix } from '../../../core/policy/rules/ip-prefix.js';
import type { EnforcementEnvironment } from '../../../core/policy/unenforced-parts.js';
import { collectLearnedAddresses, type LearnedAddress } from './fqdn-identities.js';
import type { CompileInput, LocalEndpoint, PeerEndpoint } from './types.js';

export interface Pod {
  p: PeerEndpoint | LocalEndpoint;
  labels: LabelSet;
  /** the label set joined by `\n`: what the identity is allocated from */
  key: string;
  local: boolean;
}

export interface IdentityUniverse {
  /** every pod of the cluster (peers, then this node's endpoints) */
  pods: Pod[];
  /** the workload identity of a pod's label-set key */
  idOf(key: string): number;
  /** workload identities (by label-set key) then reserved ones: what selectors select from */
  identities: LabelledIdentity[];
  /** this node's endpoints' identities */
  subjects: number[];
  nodeAddress: Map<string, { prefix: Prefix; local: boolean }>;
  apiserverAddress: Map<string, Prefix>;
  /** every CIDR selector of the bundle that parses */
  cidrSelectors: CidrSelector[];
  /** every CIDR prefix with its identity, world for those nobody selects */
  cidrIdentities: CidrIdentity[];
  /** the CIDR identities that are not world, with the names learned for them */
  cidrRefs: CidrIdentityRef[];
  learned: LearnedAddress[];
  environment: EnforcementEnvironment;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function labelSetOf(p: { labels: Record<string, string>; namespace: string; serviceAccount?: string | undefined }, input: CompileInput): LabelSet {
  return buildPodLabelSet({
    labels: p.labels,
    namespace: p.namespace,
    serviceAccount: p.serviceAccount,
    namespaceLabels: input.namespaceLabels?.[p.namespace],
    clusterId: input.bundle.clusterId,
  });
}

/** The pod's addresses (primary first, then `ips`) as host prefixes; invalid texts are left out. */
export function addressesOf(p: PeerEndpoint | LocalEndpoint): Prefix[] {
  const out = new Map<string, Prefix>();
  for (const text of [p.ip, ...(p.ips ?? [])]) {
    const h = hostPrefix(text);
    if (h) out.set(h.text, h);
  }
  return [...out.values()];
}

export function buildIdentityUniverse(input: CompileInput): IdentityUniverse {
  const pods: Pod[] = [];
  for (const [list, local] of [[input.peers, false], [input.endpoints, true]] as const) {
    for (const p of list) {
      const labels = labelSetOf(p, input);
      pods.push({ p, labels, key: labels.join('\n'), local });
    }
  }
  const workloadIds = allocateHashed(pods.map((x) => x.key), WORKLOAD_ID_SPACE);
  const idOf = (key: string): number => {
    const id = workloadIds.get(key);
    if (id === undefined) throw new Error('internal: unallocated label set');
    return id;
  };
  const identities: LabelledIdentity[] = [];
  const seen = new Set<number>();
  for (const x of [...pods].sort((a, b) => cmp(a.key, b.key))) {
    const id = idOf(x.key);
    if (seen.has(id)) continue;
    seen.add(id);
    identities.push({ id, labels: x.labels, kind: 'workload' });
  }

  const nodeAddress = new Map<string, { prefix: Prefix; local: boolean }>();
  for (const n of [...(input.nodes ?? [])].sort((a, b) => Number(Boolean(b.local)) - Number(Boolean(a.local)) || cmp(a.name, b.name))) {
    for (const ip of n.ips) {
      const h = hostPrefix(ip);
      if (h && !nodeAddress.has(h.text)) nodeAddress.set(h.text, { prefix: h, local: Boolean(n.local) });
    }
  }
  const apiserverAddress = new Map<string, Prefix>();
  for (const ip of input.kubeApiserver ?? []) {
    const h = hostPrefix(ip);
    if (h) apiserverAddress.set(h.text, h);
  }
  const apiserverOnHost = [...apiserverAddress.keys()].some((k) => nodeAddress.get(k)?.local === true);
  identities.push(...reservedIdentities(apiserverOnHost));
  const subjects = [...new Set(pods.filter((x) => x.local).map((x) => idOf(x.key)))].sort((a, b) => a - b);

  const cidrSelectors = policyCidrSelectors(input.bundle.policies);
  const claimed = [...nodeAddress.keys(), ...apiserverAddress.keys(), ...pods.flatMap((x) => addressesOf(x.p).map((h) => h.text))];
  const learned = input.dnsProxy === true && input.fqdnNames ? collectLearnedAddresses(input.fqdnNames, new Set(claimed)) : [];
  const cidrIdentities = allocateCidrIdentities(cidrSelectors, learned.map((a) => a.prefix));
  const namesOf = new Map(learned.map((a) => [a.prefix.text, a.names]));
  const cidrRefs: CidrIdentityRef[] = cidrIdentities
    .filter((c) => c.identity !== ReservedId.world && c.identity !== ReservedId.worldIpv6)
    .map((c) => {
      const names = namesOf.get(c.cidr);
      return { id: c.identity, cidr: c.cidr, family: c.family, ...(names ? { fqdnNames: names } : {}) };
    });
  const environment = { kubeApiserverAddressed: apiserverAddress.size > 0, dnsProxy: input.dnsProxy === true, httpProxy: input.httpProxy === true };
  return { pods, idOf, identities, subjects, nodeAddress, apiserverAddress, cidrSelectors, cidrIdentities, cidrRefs, learned, environment };
}
