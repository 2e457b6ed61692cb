/**
 * The L3 peers of one rule → identities (pure).
 *
 * Contract of createPeerResolver(universe, cidrIdentities, environment):
 * - endpoint selectors (scoped to the policy's namespace) select the workload and reserved identities
 *   whose labels match; results are cached per selector;
 * - entities: `all` = every peer (the any-peer family); `world` = world, world-ipv4, world-ipv6 and
 *   every CIDR identity; `world-ipv4` / `world-ipv6` the family's; `cluster` = the cluster's reserved
 *   identities and every workload; `none` nothing; any other entity every reserved identity carrying
 *   its label (so `remote-node` also selects kube-apiserver, and `kube-apiserver` the host when the
 *   apiserver runs there);
 * - CIDR selectors select the CIDR identities whose prefix lies in the cidr and in no except;
 * - toFQDNs selectors select the CIDR identities of learned addresses with a matching name;
 * - a rule with no L3 peer: every peer when it names ports or ICMP types (Cilium's L4-only rule), else
 *   nothing; what cannot be resolved (core's peerIssues) adds nothing to an allow and widens a deny to
 *   every peer.
 */
import type { EgressRule, IngressRule, LabelSelector } from '../../../openapi/types.js';
import { indexLabels, matchesEndpointSelector, scopePeerSelector, type IndexedLabels } from '../endpoint-selector.js';
import { fqdnSelectorMatcher } from '../rules/fqdn.js';
import { maskPrefix, type Prefix } from '../rules/ip-prefix.js';
import { checkCidrSelector, cidrSelectorsOf, hasL3Peer, peerIssues, peerKeys, type DirName, type EnforcementEnvironment } from '../unenforced-parts.js';
import { prefixSelector } from './cidr-identities.js';
import { CLUSTER_RESERVED, ReservedId, reservedLabel } from './reserved-identities.js';
import type { CidrIdentityRef, LabelledIdentity } from './verdict-table.js';

/** Peers of one rule: `any` (the any-peer family) and/or explicit identities. */
export interface Peers {
  any: boolean;
  ids: Set<number>;
}

export interface IndexedIdentity extends LabelledIdentity {
  indexed: IndexedLabels;
}

export interface PeerResolver {
  /** the workload and reserved identities, labels indexed once */
  readonly universe: readonly IndexedIdentity[];
  byId(id: number): IndexedIdentity | undefined;
  selectIdentities(selector: LabelSelector): number[];
  resolvePeers(rule: IngressRule | EgressRule, dir: DirName, namespace: string | undefined, deny: boolean): Peers;
}

export function createPeerResolver(identities: readonly LabelledIdentity[], cidrIdentities: readonly CidrIdentityRef[], environment: EnforcementEnvironment): PeerResolver {
  const universe: IndexedIdentity[] = identities.map((u) => ({ ...u, indexed: indexLabels(u.labels) }));
  const byId = new Map(universe.map((u) => [u.id, u]));
  const workloadIds = universe.filter((u) => u.kind === 'workload').map((u) => u.id);
  const cidrPrefixes: Array<{ prefix: Prefix; identity: number }> = cidrIdentities.flatMap((c) => {
    const prefix = maskPrefix(c.cidr);
    return prefix ? [{ prefix, identity: c.id }] : [];
  });
  const learned = cidrIdentities.filter((c) => (c.fqdnNames ?? []).length > 0);

  const selectorCache = new Map<string, number[]>();
  const selectIdentities = (selector: LabelSelector): number[] => {
    const k = JSON.stringify(selector);
    let hit = selectorCache.get(k);
    if (!hit) {
      hit = universe.filter((u) => matchesEndpointSelector(selector, u.indexed)).map((u) => u.id);
      selectorCache.set(k, hit);
    }
    return hit;
  };

  const entityIds = (entity: string): number[] | 'any' => {
    switch (entity) {
      case 'all':
        return 'any';
      case 'world':
        return [ReservedId.world, ReservedId.worldIpv4, ReservedId.worldIpv6, ...cidrIdentities.map((c) => c.id)];
      case 'world-ipv4':
        return [ReservedId.world, ReservedId.worldIpv4, ...cidrIdentities.filter((c) => c.family === 4).map((c) => c.id)];
      case 'world-ipv6':
        return [ReservedId.worldIpv6, ...cidrIdentities.filter((c) => c.family === 6).map((c) => c.id)];
      case 'cluster':
        return [...CLUSTER_RESERVED, ...workloadIds];
      case 'none':
        return [];
      default:
        return universe.filter((u) => u.kind === 'reserved' && u.labels.includes(reservedLabel(entity))).map((u) => u.id);
    }
  };

  const resolvePeers = (r: IngressRule | EgressRule, dir: DirName, namespace: string | undefined, deny: boolean): Peers => {
    const peers: Peers = { any: false, ids: new Set() };
    const rec = r as Record<string, unknown>;
    const list = (k: string): unknown[] => (Array.isArray(rec[k]) ? (rec[k] as unknown[]) : []);
    const keys = peerKeys(dir);
    if (!hasL3Peer(r, dir)) {
      if (list('toPorts').length > 0 || list('icmps').length > 0) peers.any = true;
      return peers;
    }
    if (peerIssues(r, dir, deny, environment).some((issue) => issue.widensDenyToAnyPeer)) peers.any = true;
    for (const s of list(keys.endpoints)) for (const id of selectIdentities(scopePeerSelector(s as LabelSelector, namespace))) peers.ids.add(id);
    for (const e of list(keys.entities)) {
      const ids = entityIds(e as string);
      if (ids === 'any') peers.any = true;
      else for (const id of ids) peers.ids.add(id);
    }
    for (const c of cidrSelectorsOf(r, dir)) {
      if ('sel' in c && !checkCidrSelector(c.sel)) {
        const selects = prefixSelector(c.sel);
        for (const ci of cidrPrefixes) if (selects(ci.prefix)) peers.ids.add(ci.identity);
      }
    }
    for (const f of (r as EgressRule).toFQDNs ?? []) {
      if (learned.length === 0) break;
      const matches = fqdnSelectorMatcher(f);
      for (const c of learned) if ((c.fqdnNames ?? []).some(matches)) peers.ids.add(c.id);
    }
    return peers;
  };

  return { universe, byId: (id) => byId.get(id), selectIdentities, resolvePeers };
}
