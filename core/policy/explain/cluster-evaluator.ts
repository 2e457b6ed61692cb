/**
 * A cluster's policies as the API sees them, evaluated for flows between given sides (pure).
 *
 * The API has no pod inventory, so the universe of identities is built from the sides a caller asks
 * about: a workload by its Cilium label set, an address, or a reserved entity. Results for a probed
 * pair never depend on the other sides in the universe: every probed peer is in it, which is all that
 * selectors, the `cluster` entity and requirements (which narrow the any-peer family to the
 * universe's identities) need.
 *
 * Contract:
 * - Workloads: one identity per distinct label set (allocateHashed over the labels joined by `\n`, as
 *   the agent allocates them, so equal label sets get the agent's number unless hashes collide).
 * - Reserved entities: Cilium's number and labels (kube-apiserver also carries `reserved:remote-node`).
 *   Whether the apiserver runs on a node is not known here: the host does not carry
 *   `reserved:kube-apiserver`.
 * - Addresses: resolved as the datapath resolves an address outside the cluster: the longest prefix of
 *   the policies' CIDR selectors containing it gives its CIDR identity (a prefix nobody selects, e.g.
 *   an `except`, gives the family's world); no prefix: world (IPv4) or world-ipv6. Pod, node and
 *   learned (toFQDNs) addresses are not known to the API: name a pod by its labels instead.
 * - The environment is what every node is assumed to run (WRITE_TIME_ENVIRONMENT by default: the DNS
 *   and HTTP proxies); a node without them fails those rules closed and says so in its Degraded
 *   status.
 * - A flow is decided at two hooks, as in the datapath: egress at the source when it is a workload,
 *   ingress at the destination when it is a workload. dropped at either → dropped; else audit at
 *   either → audit; else forwarded.
 */
import type { BundledPolicy } from '../../../openapi/types.js';
import { canonicalLabelSet, type LabelSet } from '../../labels/cilium-labels.js';
import { allocateHashed, WORKLOAD_ID_SPACE } from '../resolve/allocate-ids.js';
import { allocateCidrIdentities, policyCidrSelectors } from '../resolve/cidr-identities.js';
import { createFlowEvaluator, type FlowDecision, type FlowVerdictName } from '../resolve/evaluate-flow.js';
import { blockRange } from '../resolve/port-blocks.js';
import { RESERVED_IDENTITIES, ReservedId, reservedIdentities, worldOf } from '../resolve/reserved-identities.js';
import { resolveVerdictTable } from '../resolve/resolve-verdict-table.js';
import type { CidrIdentityRef, LabelledIdentity, ProxyName, RuleRef, VerdictTable } from '../resolve/verdict-table.js';
import { canonicalDnsName } from '../rules/fqdn.js';
import { containsPrefix, hostPrefix, maskPrefix, type Prefix } from '../rules/ip-prefix.js';
import { WRITE_TIME_ENVIRONMENT, type EnforcementEnvironment } from '../unenforced-parts.js';

/** One side of a flow, as a caller names it:
 * - `workload`: a Cilium label set;
 * - `address`: an IP address outside the cluster; with `names`, the DNS names the DNS proxy learned
 *   for it (then it is a learned address: selected by toFQDNs selectors matching a name);
 * - `prefix`: an address whose longest match among some policies' CIDR prefixes was this prefix, known
 *   no better (a flow summary's `cidr:` label): resolved to the longest of THESE policies' prefixes
 *   containing the whole prefix — exact when no prefix of these policies lies strictly inside it that
 *   the other policies lacked (the caller checks: replay's ambiguity rule);
 * - `entity`: a reserved entity (`host`, `world`, `remote-node`, …). */
export type FlowSide = { workload: LabelSet } | { address: string; names?: readonly string[] } | { prefix: string } | { entity: string };

/** A side as resolved: its identity and what the identity is. */
export interface ResolvedSide {
  identity: number;
  kind: 'workload' | 'reserved' | 'cidr';
  labels: string[];
  /** cidr: the prefix that gave the identity; world: absent */
  cidr?: string;
}

export interface HookDecision {
  /** egress at the source, ingress at the destination */
  direction: 'egress' | 'ingress';
  verdict: FlowVerdictName;
  by: FlowDecision['by'];
  rule?: RuleRef;
  /** the deciding row's ports, as a range */
  ports?: { protocol: number; first: number; last: number };
  proxy?: ProxyName;
}

export interface FlowEvaluation {
  verdict: FlowVerdictName;
  source: ResolvedSide;
  destination: ResolvedSide;
  /** the hooks that decide (one per workload side), egress first */
  hooks: HookDecision[];
}

export interface ClusterEvaluatorInput {
  policies: readonly BundledPolicy[];
  /** every side that will be evaluated */
  sides: readonly FlowSide[];
  environment?: EnforcementEnvironment;
  /** Cilium's allow-localhost=policy: policies also decide ingress from the node */
  localhostPolicy?: boolean;
}

export interface ClusterEvaluator {
  resolve(side: FlowSide): ResolvedSide;
  evaluate(source: FlowSide, destination: FlowSide, protocol: number, port: number): FlowEvaluation;
  /** One hook only: `subject`'s (a workload) decision in `direction` for `peer`. */
  decide(subject: FlowSide, direction: 'egress' | 'ingress', peer: FlowSide, protocol: number, port: number): HookDecision;
  readonly table: VerdictTable;
}

export class UnknownSideError extends Error {}

const labelKey = (labels: LabelSet): string => canonicalLabelSet(labels).join('\n');

export function createClusterEvaluator(input: ClusterEvaluatorInput): ClusterEvaluator {
  const workloadSets = new Map<string, LabelSet>();
  for (const side of input.sides) if ('workload' in side) workloadSets.set(labelKey(side.workload), canonicalLabelSet(side.workload));
  const workloadIds = allocateHashed(workloadSets.keys(), WORKLOAD_ID_SPACE);
  const identities: LabelledIdentity[] = [
    ...[...workloadSets.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([key, labels]) => ({ id: workloadIds.get(key) as number, kind: 'workload' as const, labels })),
    ...reservedIdentities(false),
  ];
  const reservedById = new Map(identities.filter((u) => u.kind === 'reserved').map((u) => [u.id, u]));
  const learnedNames = new Map<string, Set<string>>();
  for (const side of input.sides) {
    if (!('address' in side) || !side.names || side.names.length === 0) continue;
    const host = hostPrefix(side.address);
    if (!host) continue;
    const names = learnedNames.get(host.text) ?? new Set<string>();
    for (const n of side.names) if (canonicalDnsName(n) !== '') names.add(canonicalDnsName(n));
    learnedNames.set(host.text, names);
  }
  const cidrs = allocateCidrIdentities(policyCidrSelectors(input.policies), [...learnedNames.keys()].flatMap((t) => maskPrefix(t) ?? []));
  const cidrRefs: CidrIdentityRef[] = cidrs
    .filter((c) => c.identity !== ReservedId.world && c.identity !== ReservedId.worldIpv6)
    .map((c) => {
      const names = learnedNames.get(c.cidr);
      return { id: c.identity, cidr: c.cidr, family: c.family, ...(names ? { fqdnNames: [...names].sort() } : {}) };
    });
  const prefixes: Array<{ prefix: Prefix; identity: number }> = cidrs.flatMap((c) => {
    const prefix = maskPrefix(c.cidr);
    return prefix ? [{ prefix, identity: c.identity }] : [];
  });
  const environment = input.environment ?? WRITE_TIME_ENVIRONMENT;
  const table = resolveVerdictTable({
    policies: input.policies,
    identities,
    cidrIdentities: cidrRefs,
    subjects: identities.filter((u) => u.kind === 'workload').map((u) => u.id),
    environment,
  });
  const evaluateProbe = createFlowEvaluator(table, { localhostPolicy: input.localhostPolicy === true });

  const resolve = (side: FlowSide): ResolvedSide => {
    if ('workload' in side) {
      const id = workloadIds.get(labelKey(side.workload));
      if (id === undefined) throw new UnknownSideError('a workload not given to createClusterEvaluator');
      return { identity: id, kind: 'workload', labels: [...canonicalLabelSet(side.workload)] };
    }
    if ('entity' in side) {
      const hit = RESERVED_IDENTITIES.find(([name]) => name === side.entity);
      if (!hit) throw new UnknownSideError(`unknown entity "${side.entity}"`);
      return { identity: hit[1], kind: 'reserved', labels: [...(reservedById.get(hit[1])?.labels ?? [])] };
    }
    const host = 'address' in side ? hostPrefix(side.address) : maskPrefix(side.prefix);
    if (!host) throw new UnknownSideError(`"${'address' in side ? side.address : side.prefix}" is not an IP ${'address' in side ? 'address' : 'prefix'}`);
    let best: { prefix: Prefix; identity: number } | undefined;
    for (const p of prefixes) if (p.prefix.family === host.family && containsPrefix(p.prefix, host) && (!best || p.prefix.bits > best.prefix.bits)) best = p;
    const identity = best?.identity ?? worldOf(host.family);
    if (identity === ReservedId.world || identity === ReservedId.worldIpv6) return { identity, kind: 'reserved', labels: [...(reservedById.get(identity)?.labels ?? [])] };
    return { identity, kind: 'cidr', labels: [`cidr:${best?.prefix.text}=`], cidr: best?.prefix.text as string };
  };

  const hook = (subject: ResolvedSide, peer: ResolvedSide, direction: 'egress' | 'ingress', protocol: number, port: number): HookDecision => {
    const d = evaluateProbe({ subject: subject.identity, direction, peer: peer.identity, proto: protocol, port });
    const out: HookDecision = { direction, verdict: d.verdict, by: d.by };
    if (d.rule) out.rule = d.rule;
    if (d.row) {
      const r = blockRange(d.row.block);
      out.ports = { protocol: r.proto, first: r.first, last: r.last };
    }
    if (d.proxy) out.proxy = d.proxy;
    return out;
  };

  return {
    table,
    resolve,
    decide(subject, direction, peer, protocol, port) {
      const s = resolve(subject);
      if (s.kind !== 'workload') throw new UnknownSideError('only a workload has a hook');
      return hook(s, resolve(peer), direction, protocol, port);
    },
    evaluate(source, destination, protocol, port) {
      const src = resolve(source);
      const dst = resolve(destination);
      const hooks: HookDecision[] = [];
      if (src.kind === 'workload') hooks.push(hook(src, dst, 'egress', protocol, port));
      if (dst.kind === 'workload') hooks.push(hook(dst, src, 'ingress', protocol, port));
      const verdict: FlowVerdictName = hooks.some((h) => h.verdict === 'dropped') ? 'dropped' : hooks.some((h) => h.verdict === 'audit') ? 'audit' : 'forwarded';
      return { verdict, source: src, destination: dst, hooks };
    },
  };
}
