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
import { containsPrefix, hostPrefix, maskPrefix, type Prefix } from '../rules/ip-prefix.js';
import { WRITE_TIME_ENVIRONMENT, type EnforcementEnvironment } from '../unenforced-parts.js';

/** One side of a flow, as a caller names it. */
export type FlowSide = { workload: LabelSet } | { address: string } | { entity: string };

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
  clusterId: string;
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
  const cidrs = allocateCidrIdentities(policyCidrSelectors(input.policies));
  const cidrRefs: CidrIdentityRef[] = cidrs.filter((c) => c.identity !== ReservedId.world && c.identity !== ReservedId.worldIpv6).map((c) => ({ id: c.identity, cidr: c.cidr, family: c.family }));
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
    const host = hostPrefix(side.address);
    if (!host) throw new UnknownSideError(`"${side.address}" is not an IP address`);
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
