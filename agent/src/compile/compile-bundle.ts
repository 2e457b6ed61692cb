/**
 * compileBundle — PURE and deterministic: (desired-state bundle, this node's endpoints, the cluster's
 * pods) → the datapath's map entries, with rule attribution, identity info and the list of rules that
 * cannot be enforced (degraded, each failing closed). The contract is written in docs/agent.md; the
 * precedence it targets is the block in agent/bpf/policy.c. Policy semantics come from core/ (label
 * sets, selector matching and scoping, CIDR/port/ICMP parsing); nothing here re-implements them.
 */
import type { BundledPolicy, EgressRule, FQDNSelector, IngressRule, LabelSelector } from '../../../openapi/types.js';
import { buildPodLabelSet, type LabelSet } from '../../../core/labels/cilium-labels.js';
import {
  indexLabels,
  matchesEndpointSelector,
  scopePeerSelector,
  scopeSubjectSelector,
  type IndexedLabels,
} from '../../../core/policy/endpoint-selector.js';
import type { EndpointEntry, IpcacheEntry, PolicyEntry } from '../kernel/codecs.js';
import { Direction, PolicyVerdict, ProxyKind, ReservedIdentity } from '../kernel/identities.js';
import { allocateHashed, RULE_ID_SPACE, WORKLOAD_ID_SPACE } from './allocate-ids.js';
import { allocateCidrIdentities, worldOf, cidrLabelKey, prefixSelector, type CidrIdentity, type CidrSelector } from './cidr-identities.js';
import {
  authenticationIssue,
  checkCidrSelector,
  cidrSelectorsOf,
  findUnenforcedParts,
  hasL3Peer,
  peerIssues,
  peerKeys,
  rulesOf,
  type DirName,
} from '../../../core/policy/unenforced-parts.js';
import { compareAddressTexts, comparePrefixes, hostPrefix, maskPrefix, type Prefix } from '../../../core/policy/rules/ip-prefix.js';
import { compileL4, type DnsBlock, type HttpBlock, type L4Block } from './l4.js';
import { blockContains, mergeContributions, type Contribution } from './merge-entries.js';
import { propagateRedirects, resolveRedirectConflicts, type RedirectConflict } from './proxy-redirects.js';
import { buildDnsRules } from './dns-rules.js';
import { buildHttpRules } from './http-rules.js';
import { buildFqdnLearnEntries } from './fqdn-learning.js';
import {
  collectLearnedAddresses,
  fqdnLabeller,
  learnedAddressesSelectedBy,
  toFqdnSelectorsOf,
  zombieNewConnectionIdentities,
  type LearnedAddress,
} from './fqdn-identities.js';
import type {
  CompiledState,
  CompileInput,
  DegradedRule,
  IdentityInfo,
  LocalEndpoint,
  PeerEndpoint,
  RuleAttribution,
  Workload,
} from './types.js';

/** Reserved identities selectable by `reserved:<name>` labels and entities. */
const RESERVED: ReadonlyArray<[string, number]> = [
  ['host', ReservedIdentity.host],
  ['world', ReservedIdentity.world],
  ['unmanaged', ReservedIdentity.unmanaged],
  ['health', ReservedIdentity.health],
  ['init', ReservedIdentity.init],
  ['remote-node', ReservedIdentity.remoteNode],
  ['kube-apiserver', ReservedIdentity.kubeApiserver],
  ['ingress', ReservedIdentity.ingress],
  ['world-ipv4', ReservedIdentity.worldIpv4],
  ['world-ipv6', ReservedIdentity.worldIpv6],
];

const CLUSTER_RESERVED = [
  ReservedIdentity.host, ReservedIdentity.unmanaged, ReservedIdentity.health, ReservedIdentity.init,
  ReservedIdentity.remoteNode, ReservedIdentity.kubeApiserver, ReservedIdentity.ingress,
];

const label = (name: string): string => `reserved:${name}=`;

const DIR: Record<DirName, Direction> = { ingress: Direction.ingress, egress: Direction.egress };

interface Identity {
  id: number;
  labels: LabelSet;
  indexed: IndexedLabels;
  kind: 'workload' | 'reserved';
}

/** Peers of one rule: `any` (wildcard family) and/or explicit identities. */
interface Peers {
  any: boolean;
  ids: Set<number>;
}

interface Selection {
  enforceDefaultDeny: boolean;
  auditDefaultDeny: boolean;
  enforceDeny: boolean;
  requires: LabelSelector[];
}

interface PendingRule {
  localIds: number[];
  direction: Direction;
  peers: Peers;
  blocks: L4Block[];
  /** allows redirected to the DNS proxy (only with the DNS proxy) */
  dnsBlocks: DnsBlock[];
  /** allows redirected to the HTTP proxy (only with the HTTP proxy) */
  httpBlocks: HttpBlock[];
  verdict: PolicyVerdict;
  ruleId: number;
  auditAllow: boolean;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function labelSetOf(p: { labels: Record<string, string>; namespace: string; serviceAccount?: string | undefined }, input: CompileInput): LabelSet {
  return buildPodLabelSet({
    labels: p.labels,
    namespace: p.namespace,
    serviceAccount: p.serviceAccount,
    namespaceLabels: input.namespaceLabels?.[p.namespace],
    clusterId: input.bundle.clusterId,
  });
}

/** Learned addresses (DNS proxy) not claimed by a pod, node or kube-apiserver address; none without
 *  the DNS proxy. */
function learnedAddressesOf(input: CompileInput, claimedByCluster: Iterable<string>): LearnedAddress[] {
  if (input.dnsProxy !== true || !input.fqdnNames) return [];
  return collectLearnedAddresses(input.fqdnNames, new Set(claimedByCluster));
}

/** The pod's addresses (primary first, then `ips`) as host prefixes; invalid texts are left out. */
function addressesOf(p: PeerEndpoint | LocalEndpoint): Prefix[] {
  const out = new Map<string, Prefix>();
  for (const text of [p.ip, ...(p.ips ?? [])]) {
    const h = hostPrefix(text);
    if (h) out.set(h.text, h);
  }
  return [...out.values()];
}

/** Identity info of CIDR identities, labels as Cilium's: `cidr:<prefix>` (IPv6 colons as dashes) and
 *  the world of the prefix's family; a learned address also `fqdn:<selector>` per toFQDNs selector of
 *  the bundle selecting it, and its learned names. */
function cidrIdentityInfos(cidrIds: readonly CidrIdentity[], learned: readonly LearnedAddress[], policies: CompileInput['bundle']['policies']): IdentityInfo[] {
  const learnedByPrefix = new Map(learned.map((a) => [a.prefix.text, a]));
  const fqdnLabelsOf = fqdnLabeller(learned.length > 0 ? toFqdnSelectorsOf(policies) : []);
  return cidrIds.map((c) => {
    const info: IdentityInfo = { id: c.identity, kind: 'cidr', labels: [`cidr:${cidrLabelKey(c.cidr)}=`, c.family === 4 ? label('world') : label('world-ipv6')], cidr: c.cidr };
    const a = learnedByPrefix.get(c.cidr);
    if (a) {
      info.labels = [...info.labels, ...fqdnLabelsOf(a)].sort(cmp);
      info.fqdnNames = [...a.names];
    }
    return info;
  });
}

export function compileBundle(input: CompileInput): CompiledState {

  // ---- workload identities -------------------------------------------------------------------
  const pods: Array<{ p: PeerEndpoint | LocalEndpoint; labels: LabelSet; key: string; local: boolean }> = [];
  for (const p of input.peers) {
    const labels = labelSetOf(p, input);
    pods.push({ p, labels, key: labels.join('\n'), local: false });
  }
  for (const e of input.endpoints) {
    const labels = labelSetOf(e, input);
    pods.push({ p: e, labels, key: labels.join('\n'), local: true });
  }
  const workloadIds = allocateHashed(pods.map((x) => x.key), WORKLOAD_ID_SPACE);
  const idOf = (key: string): number => {
    const id = workloadIds.get(key);
    if (id === undefined) throw new Error('internal: unallocated label set');
    return id;
  };
  const universe: Identity[] = [];
  const seen = new Set<number>();
  for (const x of [...pods].sort((a, b) => cmp(a.key, b.key))) {
    const id = idOf(x.key);
    if (seen.has(id)) continue;
    seen.add(id);
    universe.push({ id, labels: x.labels, indexed: indexLabels(x.labels), kind: 'workload' });
  }
  // ---- node and kube-apiserver addresses ------------------------------------------------------
  // Nodes sorted local first, then by name; the first node naming an address keeps it.
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
  // Cilium's labels: the kube-apiserver identity always carries reserved:remote-node too, and the
  // host identity carries reserved:kube-apiserver while the apiserver listens on this node.
  const apiserverOnHost = [...apiserverAddress.keys()].some((k) => nodeAddress.get(k)?.local === true);
  for (const [name, id] of RESERVED) {
    const labels = [label(name)];
    if (id === ReservedIdentity.kubeApiserver) labels.push(label('remote-node'));
    if (id === ReservedIdentity.host && apiserverOnHost) labels.push(label('kube-apiserver'));
    labels.sort(cmp);
    universe.push({ id, labels, indexed: indexLabels(labels), kind: 'reserved' });
  }
  const workloadIdList = universe.filter((u) => u.kind === 'workload').map((u) => u.id);
  const byId = new Map(universe.map((u) => [u.id, u]));
  const localIdentities = new Map<number, Identity>();
  for (const e of input.endpoints) {
    const id = idOf(labelSetOf(e, input).join('\n'));
    const u = byId.get(id);
    if (u) localIdentities.set(id, u);
  }
  const locals = [...localIdentities.values()].sort((a, b) => a.id - b.id);

  // ---- CIDR identities -----------------------------------------------------------------------
  const allCidrSelectors: CidrSelector[] = [];
  for (const policy of input.bundle.policies) {
    for (const { rule } of rulesOf(policy.spec)) {
      for (const [list, dir] of [[rule.ingress, 'ingress'], [rule.ingressDeny, 'ingress'], [rule.egress, 'egress'], [rule.egressDeny, 'egress']] as const) {
        for (const r of list ?? []) {
          for (const c of cidrSelectorsOf(r as IngressRule | EgressRule, dir)) if ('sel' in c && !checkCidrSelector(c.sel)) allCidrSelectors.push(c.sel);
        }
      }
    }
  }
  // Addresses the DNS proxy learned join the CIDR prefixes (fqdn-identities.ts); cluster addresses win.
  const learned = learnedAddressesOf(input, [...nodeAddress.keys(), ...apiserverAddress.keys(), ...pods.flatMap((x) => addressesOf(x.p).map((h) => h.text))]);
  const cidrIdentities = allocateCidrIdentities(allCidrSelectors, learned.map((a) => a.prefix));
  const cidrIds = cidrIdentities.filter((c) => c.identity !== ReservedIdentity.world && c.identity !== ReservedIdentity.worldIpv6);
  const cidrIdOf = new Map(cidrIds.map((c) => [c.cidr, c.identity]));
  const cidrPrefixes = cidrIds.flatMap((c) => {
    const prefix = maskPrefix(c.cidr);
    return prefix ? [{ prefix, identity: c.identity }] : [];
  });
  const environment = { kubeApiserverAddressed: apiserverAddress.size > 0, dnsProxy: input.dnsProxy === true, httpProxy: input.httpProxy === true };

  // ---- rule ids ------------------------------------------------------------------------------
  const ruleNames: string[] = [];
  const ruleMeta = new Map<string, Omit<RuleAttribution, 'ruleId'>>();
  const ruleName = (policy: BundledPolicy, pointer: string): string => `${policy.name}\n${policy.generation}\n${pointer}`;
  for (const policy of input.bundle.policies) {
    for (const { rule, base } of rulesOf(policy.spec)) {
      for (const [key, dir, deny] of [['ingress', 'ingress', false], ['ingressDeny', 'ingress', true], ['egress', 'egress', false], ['egressDeny', 'egress', true]] as const) {
        (rule[key] ?? []).forEach((_r, i) => {
          const pointer = `${base}/${key}/${i}`;
          const name = ruleName(policy, pointer);
          ruleNames.push(name);
          ruleMeta.set(name, {
            policy: policy.name,
            generation: policy.generation,
            pointer,
            direction: dir,
            verdict: deny ? (policy.mode === 'audit' ? 'audit-deny' : 'deny') : 'allow',
            mode: policy.mode,
          });
        });
      }
    }
  }
  const ruleIds = allocateHashed(ruleNames, { ...RULE_ID_SPACE, reserved: new Set([0]) });

  // ---- peers ---------------------------------------------------------------------------------
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
        return [ReservedIdentity.world, ReservedIdentity.worldIpv4, ReservedIdentity.worldIpv6, ...cidrIds.map((c) => c.identity)];
      case 'world-ipv4':
        return [ReservedIdentity.world, ReservedIdentity.worldIpv4, ...cidrIds.filter((c) => c.family === 4).map((c) => c.identity)];
      case 'world-ipv6':
        return [ReservedIdentity.worldIpv6, ...cidrIds.filter((c) => c.family === 6).map((c) => c.identity)];
      case 'cluster':
        return [...CLUSTER_RESERVED, ...workloadIdList];
      case 'none':
        return [];
      default:
        // host, remote-node, kube-apiserver, …: every reserved identity carrying the label (so
        // remote-node also selects kube-apiserver, and kube-apiserver the host when it runs there)
        return universe.filter((u) => u.kind === 'reserved' && u.labels.includes(label(entity))).map((u) => u.id);
    }
  };

  /** Resolves the L3 peers of one rule. What cannot be resolved (core's peerIssues, reported as degraded)
   *  contributes nothing to an allow and widens a deny to every peer. */
  const resolvePeers = (r: IngressRule | EgressRule, dir: DirName, namespace: string | undefined, deny: boolean): Peers => {
    const peers: Peers = { any: false, ids: new Set() };
    const rec = r as Record<string, unknown>;
    const list = (k: string): unknown[] => (Array.isArray(rec[k]) ? (rec[k] as unknown[]) : []);
    const keys = peerKeys(dir);
    if (!hasL3Peer(r, dir)) {
      // No L3 peer: a wildcard when the rule names ports or ICMP types (Cilium's L4-only rule, still
      // narrowed by requirements); an empty rule `{}` or one with only requirements allows nothing.
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
    // toFQDNs: the identities of learned addresses with a matching name (none without the DNS proxy,
    // where peerIssues reports the selectors)
    for (const f of (r as EgressRule).toFQDNs ?? []) {
      for (const a of learnedAddressesSelectedBy(f, learned)) {
        const id = cidrIdOf.get(a.prefix.text);
        if (id !== undefined) peers.ids.add(id);
      }
    }
    return peers;
  };

  // ---- rules → pending contributions ---------------------------------------------------------
  const selection = new Map<string, Selection>();
  const selectionOf = (localId: number, dir: Direction): Selection => {
    const k = `${localId}/${dir}`;
    let s = selection.get(k);
    if (!s) {
      s = { enforceDefaultDeny: false, auditDefaultDeny: false, enforceDeny: false, requires: [] };
      selection.set(k, s);
    }
    return s;
  };
  const pending: PendingRule[] = [];
  const learnSelectors = new Map<number, FQDNSelector[]>(); // local identity → toFQDNs selectors (DNS proxy)
  const toFqdnRules: Array<{ policy: string; pointer: string; localIds: number[] }> = []; // where toFQDNs is used

  const sortedPolicies = [...input.bundle.policies].sort((a, b) => cmp(a.name, b.name));
  for (const policy of sortedPolicies) {
    const namespace = policy.spec.namespace;
    const audit = policy.mode === 'audit';
    for (const { rule, base } of rulesOf(policy.spec)) {
      if (rule.nodeSelector !== undefined) continue; // host policies: not enforced (reported as degraded)
      if (!rule.endpointSelector) continue;
      const subject = scopeSubjectSelector(rule.endpointSelector, namespace);
      const localIds = locals.filter((u) => matchesEndpointSelector(subject, u.indexed)).map((u) => u.id);

      for (const dirName of ['ingress', 'egress'] as const) {
        const allowRules = (rule[dirName] ?? []) as Array<IngressRule | EgressRule>;
        const denyRules = (rule[dirName === 'ingress' ? 'ingressDeny' : 'egressDeny'] ?? []) as Array<IngressRule | EgressRule>;
        const direction = DIR[dirName];
        if (allowRules.length + denyRules.length > 0) {
          const dd = rule.enableDefaultDeny?.[dirName] ?? true;
          for (const id of localIds) {
            const s = selectionOf(id, direction);
            if (dd && !audit) s.enforceDefaultDeny = true;
            if (dd && audit) s.auditDefaultDeny = true;
            if (!audit && denyRules.length > 0) s.enforceDeny = true;
          }
        }
        for (const [rules, deny] of [[allowRules, false], [denyRules, true]] as const) {
          const key = deny ? (dirName === 'ingress' ? 'ingressDeny' : 'egressDeny') : dirName;
          rules.forEach((r, i) => {
            const pointer = `${base}/${key}/${i}`;
            const ruleId = ruleIds.get(ruleName(policy, pointer)) ?? 0;
            const requires = ((r as Record<string, unknown>)[dirName === 'ingress' ? 'fromRequires' : 'toRequires'] as LabelSelector[] | undefined) ?? [];
            // Requirements narrow other policies' allows; an audit policy's would drop traffic, so they
            // are not evaluated (reported as degraded).
            if (!deny && requires.length > 0 && !audit) {
              for (const id of localIds) selectionOf(id, direction).requires.push(...requires.map((s) => scopePeerSelector(s, namespace)));
            }
            if (environment.dnsProxy && !deny && dirName === 'egress') {
              for (const id of localIds) learnSelectors.set(id, [...(learnSelectors.get(id) ?? []), ...((r as EgressRule).toFQDNs ?? [])]);
              if (((r as EgressRule).toFQDNs ?? []).length > 0) toFqdnRules.push({ policy: policy.name, pointer: `${pointer}/toFQDNs`, localIds });
            }
            if (authenticationIssue(r, deny)) return; // mutual authentication: no allow (reported as degraded)
            const peers = resolvePeers(r, dirName, namespace, deny);
            const l4 = compileL4(r, pointer, deny ? 'deny' : 'allow', { dir: dirName, environment });
            if (localIds.length === 0 || l4.blocks.length + l4.dnsBlocks.length + l4.httpBlocks.length === 0 || (!peers.any && peers.ids.size === 0)) return;
            pending.push({
              localIds,
              direction,
              peers,
              blocks: l4.blocks,
              dnsBlocks: l4.dnsBlocks,
              httpBlocks: l4.httpBlocks,
              verdict: deny ? (audit ? PolicyVerdict.auditDeny : PolicyVerdict.deny) : PolicyVerdict.allow,
              ruleId,
              auditAllow: !deny && audit,
            });
          });
        }
      }
    }
  }

  // ---- pending → contributions (requirements, audit allows) ---------------------------------
  const contributions: Contribution[] = [];
  const clipped: Contribution[] = [];
  const clippedOut: Contribution[] = [];
  for (const p of pending) {
    for (const localId of p.localIds) {
      const s = selectionOf(localId, p.direction);
      // An audit policy never loosens enforcement: its allows are dropped where an enforce policy
      // default-denies this direction (the enforce verdict stands).
      if (p.auditAllow && s.enforceDefaultDeny) continue;
      let peerIds: number[] = [...p.peers.ids];
      let any = p.peers.any;
      if (p.verdict === PolicyVerdict.allow && s.requires.length > 0) {
        const candidates = any ? universe.map((u) => u.id) : peerIds;
        peerIds = candidates.filter((id) => {
          const u = byId.get(id);
          return u !== undefined && s.requires.every((req) => matchesEndpointSelector(req, u.indexed));
        });
        any = false;
      }
      const targets = any ? [ReservedIdentity.any] : peerIds;
      const out = p.verdict === PolicyVerdict.auditDeny && s.enforceDefaultDeny ? clipped : contributions;
      for (const peerId of targets) {
        for (const block of p.blocks) out.push({ localId, peerId, direction: p.direction, block, verdict: p.verdict, ruleId: p.ruleId, ...(p.auditAllow ? { auditAllow: true } : {}) });
        for (const { block, dns, pointer } of p.dnsBlocks) {
          out.push({ localId, peerId, direction: p.direction, block, verdict: p.verdict, ruleId: p.ruleId, proxy: ProxyKind.dns, dns, l7Pointer: pointer, ...(p.auditAllow ? { auditAllow: true } : {}) });
        }
        for (const { block, http, pointer } of p.httpBlocks) {
          out.push({ localId, peerId, direction: p.direction, block, verdict: p.verdict, ruleId: p.ruleId, proxy: ProxyKind.http, http, l7Pointer: pointer, ...(p.auditAllow ? { auditAllow: true } : {}) });
        }
      }
    }
  }
  // An audit-deny entry forwards (counted as would-drop). Where an enforce policy default-denies the
  // direction that would loosen enforcement for traffic no enforce rule allows, so there audit-deny
  // entries are clipped to what enforce allows: each is intersected with every allow of the same
  // endpoint and direction (peer ∩ peer, block ∩ block); outside, the default deny drops as before.
  // Not with allows redirected to a proxy (DNS, HTTP): a clipped audit-deny (rank 2) would replace the
  // redirect's key in its family and forward the traffic past the proxy, so an audit policy would
  // loosen the enforce L7 rules; there the audit deny's would-drops are not counted instead
  // (proxy-redirects.ts).
  for (const a of clipped) {
    for (const c of contributions) {
      if (c.verdict !== PolicyVerdict.allow || c.localId !== a.localId || c.direction !== a.direction) continue;
      if (c.proxy !== undefined) continue;
      const peerId = a.peerId === ReservedIdentity.any ? c.peerId : c.peerId === ReservedIdentity.any || c.peerId === a.peerId ? a.peerId : undefined;
      if (peerId === undefined) continue;
      const block = blockContains(a.block, c.block) ? c.block : blockContains(c.block, a.block) ? a.block : undefined;
      if (block) clippedOut.push({ ...a, peerId, block });
    }
  }
  // Proxies: what each checks on its redirected ports; DNS and HTTP redirects on one port of the same
  // peers denied (reported below), and redirects copied to where the kernel ranks the exact-peer
  // entry first (proxy-redirects.ts). Without a proxy there are no redirects.
  const proxied = environment.dnsProxy || environment.httpProxy;
  const dnsRules = environment.dnsProxy ? buildDnsRules(contributions) : undefined;
  const httpRules = environment.httpProxy ? buildHttpRules(contributions) : undefined;
  const { denies: conflictDenies, conflicts } = proxied ? resolveRedirectConflicts(contributions) : { denies: [], conflicts: [] };
  const policy: PolicyEntry[] = mergeContributions(proxied ? propagateRedirects([...contributions, ...clippedOut, ...conflictDenies]) : [...contributions, ...clippedOut]);

  // ---- endpoints -----------------------------------------------------------------------------
  const bits = (localId: number, dir: Direction): { deny: boolean; audit: boolean } => {
    const s = selection.get(`${localId}/${dir}`);
    if (!s) return { deny: false, audit: false };
    if (s.enforceDefaultDeny) return { deny: true, audit: false };
    // Audit-only default deny needs the endpoint's audit bit, which would also turn enforce-mode
    // denies of this endpoint into audit: then the audit default deny is not counted (documented).
    if (s.auditDefaultDeny && !s.enforceDeny) return { deny: true, audit: true };
    return { deny: false, audit: false };
  };
  const endpoints: EndpointEntry[] = [...input.endpoints]
    .map((e) => {
      const identity = idOf(labelSetOf(e, input).join('\n'));
      const i = bits(identity, Direction.ingress);
      const o = bits(identity, Direction.egress);
      return { ifindex: e.ifindex, identity, defaultDenyIngress: i.deny, defaultDenyEgress: o.deny, auditIngress: i.audit, auditEgress: o.audit };
    })
    .sort((a, b) => a.ifindex - b.ifindex);

  // ---- ipcache -------------------------------------------------------------------------------
  // Keys are canonical prefixes (/32, /128 for addresses). Order of claims, first wins:
  // 1. node addresses → host (this node) / remote-node (a hostNetwork pod shares its node's address
  //    and is the host);
  // 2. kube-apiserver addresses → kube-apiserver (7), taking a remote node's address over from
  //    remote-node, but never the local node's (that stays host, which then carries the
  //    kube-apiserver label) — Cilium's resolution of an address with both labels;
  // 3. pod addresses (both families), local pods first, then `namespace/pod` order;
  // 4. CIDR prefixes. (An IPv6 prefix around ::ffff:0:0/96, e.g. ::/0, never catches IPv4 packets:
  //    the kernel ignores an ipcache entry of the other family — fleetnet.h fn_ipcache_value.)
  const ipcache = new Map<string, { prefix: Prefix; identity: number }>();
  for (const [k, n] of nodeAddress) ipcache.set(k, { prefix: n.prefix, identity: n.local ? ReservedIdentity.host : ReservedIdentity.remoteNode });
  for (const [k, prefix] of apiserverAddress) {
    if (ipcache.get(k)?.identity !== ReservedIdentity.host) ipcache.set(k, { prefix, identity: ReservedIdentity.kubeApiserver });
  }
  const podOrder = [...pods].sort((a, b) => Number(b.local) - Number(a.local) || cmp(`${a.p.namespace}/${a.p.podName}`, `${b.p.namespace}/${b.p.podName}`));
  for (const x of podOrder) {
    for (const prefix of addressesOf(x.p)) if (!ipcache.has(prefix.text)) ipcache.set(prefix.text, { prefix, identity: idOf(x.key) });
  }
  for (const c of cidrIdentities) {
    const prefix = maskPrefix(c.cidr);
    if (prefix && !ipcache.has(c.cidr)) ipcache.set(c.cidr, { prefix, identity: c.identity });
  }
  // Zombies (learned addresses past their TTL a connection still uses): new connections get what the
  // address is without its names (fleetnet.h FN_IPCACHE_ZOMBIE).
  const zombies = zombieNewConnectionIdentities(
    input.dnsProxy ? (input.fqdnZombies ?? []) : [],
    learned,
    ipcache,
    new Set(allCidrSelectors.flatMap((s) => [s.cidr, ...s.except]).map((t) => maskPrefix(t)?.text ?? '')),
    worldOf,
  );
  const ipcacheEntries: IpcacheEntry[] = [...ipcache.values()]
    .sort((a, b) => comparePrefixes(a.prefix, b.prefix))
    .map((e) => {
      const fresh = zombies.get(e.prefix.text);
      return fresh === undefined ? { cidr: e.prefix.text, identity: e.identity } : { cidr: e.prefix.text, identity: e.identity, newConnectionIdentity: fresh };
    });

  // ---- attribution ---------------------------------------------------------------------------
  const rules: RuleAttribution[] = [...ruleIds.entries()]
    .map(([name, ruleId]) => ({ ruleId, ...(ruleMeta.get(name) as Omit<RuleAttribution, 'ruleId'>) }))
    .sort((a, b) => a.ruleId - b.ruleId);

  const membersOf = new Map<number, typeof pods>();
  for (const x of pods) {
    const id = idOf(x.key);
    const list = membersOf.get(id);
    if (list) list.push(x);
    else membersOf.set(id, [x]);
  }
  const identities: IdentityInfo[] = [];
  for (const u of universe) {
    if (u.kind === 'reserved') {
      identities.push({ id: u.id, kind: 'reserved', labels: [...u.labels] });
      continue;
    }
    const members = membersOf.get(u.id) ?? [];
    const podNames = [...new Set(members.map((x) => x.p.podName))].sort(cmp);
    const workloads = new Map<string, Workload>();
    for (const m of members) if (m.p.workload) workloads.set(`${m.p.workload.kind}/${m.p.workload.name}`, m.p.workload);
    const info: IdentityInfo = { id: u.id, kind: 'workload', labels: [...u.labels], podNames };
    const ns = members[0]?.p.namespace;
    if (ns !== undefined) info.namespace = ns;
    if (workloads.size > 0) info.workloads = [...workloads.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, w]) => ({ name: w.name, kind: w.kind }));
    const ips = new Set(members.flatMap((m) => addressesOf(m.p).map((h) => h.addr)));
    if (ips.size > 0) info.ips = [...ips].sort(compareAddressTexts);
    identities.push(info);
  }
  identities.push(...cidrIdentityInfos(cidrIds, learned, input.bundle.policies));
  identities.sort((a, b) => a.id - b.id);

  // What the entries above leave out, in the words the API uses for its write-time warnings.
  const degraded: DegradedRule[] = sortedPolicies.flatMap((p) => findUnenforcedParts(p, environment).map(({ pointer, reason }) => ({ policy: p.name, pointer, reason })));
  degraded.push(...toFqdnWithoutDnsRules(toFqdnRules, dnsRules ?? []));
  degraded.push(...redirectConflictParts(conflicts, new Map(rules.map((r) => [r.ruleId, r.policy]))));
  degraded.sort((a, b) => cmp(a.policy, b.policy) || cmp(a.pointer, b.pointer));
  return {
    endpoints,
    ipcache: ipcacheEntries,
    policy,
    rules,
    identities,
    degraded,
    ...(dnsRules ? { dnsRules, fqdnSelectors: buildFqdnLearnEntries(learnSelectors) } : {}),
    ...(httpRules ? { httpRules } : {}),
  };
}

export const TO_FQDNS_WITHOUT_DNS_RULE =
  'no DNS rule (toPorts[].rules.dns) applies to the endpoints this selects, so the DNS proxy never sees their own lookups: it allows only addresses other endpoints\' answers taught (their connections after their own lookups fail closed); add a DNS rule for their resolver, e.g. matchPattern "*" on port 53';

/** toFQDNs needs the endpoint's DNS to pass through the proxy: for a toFQDNs rule of which no selected
 *  local endpoint has a redirected DNS port (no `dnsRules` entry — no `toPorts[].rules.dns` of any
 *  policy applies to it), the endpoints' own answers are never learned (learned names are node-wide,
 *  so what other endpoints' answers taught still applies). Reported, as Cilium's docs require a DNS
 *  rule for toFQDNs; the message says what to add. */
function toFqdnWithoutDnsRules(rules: ReadonlyArray<{ policy: string; pointer: string; localIds: number[] }>, dnsRules: readonly { localId: number }[]): DegradedRule[] {
  const redirected = new Set(dnsRules.map((e) => e.localId));
  const out = new Map<string, DegradedRule>();
  for (const r of rules) {
    if (r.localIds.length === 0 || r.localIds.some((id) => redirected.has(id))) continue;
    out.set(`${r.policy}\n${r.pointer}`, {
      policy: r.policy,
      pointer: r.pointer,
      reason: TO_FQDNS_WITHOUT_DNS_RULE,
    });
  }
  return [...out.values()];
}


const PROTO_NAMES: Readonly<Record<number, string>> = { 6: 'TCP', 17: 'UDP' };
const PROXY_NAMES: Readonly<Record<number, string>> = { [ProxyKind.dns]: 'DNS', [ProxyKind.http]: 'HTTP' };

/** Redirects of different proxies on one port of the same peers (proxy-redirects.ts): each L7 rule
 *  set involved, at its pointer (`…/toPorts/<j>/rules/dns|http`), with the port and the other kinds. */
function redirectConflictParts(conflicts: readonly RedirectConflict[], policyOf: ReadonlyMap<number, string>): DegradedRule[] {
  const out = new Map<string, DegradedRule>();
  for (const c of conflicts) {
    const port = `${PROTO_NAMES[c.block.proto] ?? c.block.proto}/${c.block.port}`;
    const kinds = [...new Set(c.redirects.map((r) => PROXY_NAMES[r.proxy ?? 0] ?? String(r.proxy)))].sort().join(' and ');
    for (const r of c.redirects) {
      const policy = policyOf.get(r.ruleId);
      if (policy === undefined || r.l7Pointer === undefined) continue;
      const reason = `${kinds} rules apply to the same port (${port}) of the same peers, and a connection goes to one proxy only (Cilium rejects conflicting L7 parsers on a port); that port is denied to those peers (fail closed)`;
      out.set(`${policy}\n${r.l7Pointer}\n${reason}`, { policy, pointer: r.l7Pointer, reason });
    }
  }
  return [...out.values()];
}
