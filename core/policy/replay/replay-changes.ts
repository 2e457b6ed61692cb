/**
 * Replay, pass 2 (pure): the groups of pass 1 (replay-groups.ts) evaluated under a cluster's current
 * policies and under the candidate's → the flows whose fate would change, grouped by rule and workload
 * pair, and what could not be judged. Every verdict comes from core's evaluateFlow (through
 * cluster-evaluator.ts), the precedence the agents' kernel entries are proven to follow.
 *
 * Contract:
 * - Fate: FORWARDED and AUDIT pass, DROPPED does not. A change is `allowed-to-dropped` or
 *   `dropped-to-allowed` between the current evaluation and the candidate's, at the hook that recorded
 *   the summary. Audit ↔ forwarded is not a change of fate (both pass).
 * - The baseline is the CURRENT policies evaluated, not the recorded verdict: the answer isolates the
 *   candidate's effect. Groups whose recorded verdict differs from the current evaluation (history
 *   recorded under other generations, a node behind, a node without a proxy) are counted in
 *   `disagreements` with examples: the answer states how far history and the current policies agree.
 *   FORWARDED agrees with an audit decision too (the established packets of an audited connection).
 * - Peers known only by prefix or as world are judged only when exact (`peer-address-unknown`
 *   otherwise): a prefix P is exact unless the candidate has a CIDR prefix strictly inside P that the
 *   current policies lack; a world peer without address only when the candidate's CIDR selectors are
 *   the current ones.
 * - A cluster missing from `clusters` is not judged (`cluster-not-in-scope`).
 * - Changes are grouped by (change, direction, subject, peer, candidate's deciding rule or default,
 *   current's deciding rule or default), with clusters, ports, sums and examples; sorted by change
 *   (allowed-to-dropped first), then packets (descending).
 */
import type { BundledPolicy } from '../../../openapi/types.js';
import { createClusterEvaluator, type ClusterEvaluator, type FlowSide, type HookDecision } from '../explain/cluster-evaluator.js';
import { policyCidrSelectors } from '../resolve/cidr-identities.js';
import type { RuleRef } from '../resolve/verdict-table.js';
import { containsPrefix, maskPrefix, type Prefix } from '../rules/ip-prefix.js';
import type { EnforcementEnvironment } from '../unenforced-parts.js';
import { addReplaySums, clusterOfReplayKey, emptyReplaySums, MAX_EXAMPLES, parseReplayKey, type RecordedPart, type RecordedVerdict, type ReplayGroup, type ReplayGroupKey, type ReplayPart, type ReplayPeer, type ReplaySums, type UnjudgedReason } from './replay-groups.js';

export type ChangeKind = 'allowed-to-dropped' | 'dropped-to-allowed';
export type ReplayUnjudgedReason = UnjudgedReason | 'peer-address-unknown' | 'cluster-not-in-scope';

export interface ReplayDecision {
  verdict: HookDecision['verdict'];
  decidedBy: HookDecision['by'];
  rule?: RuleRef;
}

export interface ReplayChangeGroup<E> {
  change: ChangeKind;
  direction: 'ingress' | 'egress';
  subject: string;
  peer: string;
  candidate: ReplayDecision;
  current: ReplayDecision;
  clusters: string[];
  /** `TCP/5432`, `ICMPv4/8`, sorted */
  ports: string[];
  sums: ReplaySums;
  examples: E[];
}

/** `E`: what an example is (pass 1's choice: records, or references to stored ones). */
export interface ReplayResult<E> {
  changes: Array<ReplayChangeGroup<E>>;
  /** `auditedToDropped`: of allowedToDropped, the summaries recorded AUDIT — the would-be drops the
   *  datapath counted (a connection's first packet); the rest of allowedToDropped is traffic recorded
   *  FORWARDED (e.g. the established packets of those same connections, which an enforced drop of the
   *  first packet would also stop). */
  totals: { judged: ReplaySums; allowedToDropped: ReplaySums; droppedToAllowed: ReplaySums; auditedToDropped: ReplaySums };
  unjudged: Array<{ reason: ReplayUnjudgedReason; sums: ReplaySums; examples: E[] }>;
  /** groups whose recorded verdict is not what the current policies decide */
  disagreements: { sums: ReplaySums; examples: E[] };
}

export interface ClusterPolicySets {
  current: readonly BundledPolicy[];
  candidate: readonly BundledPolicy[];
}

export interface ReplayOptions {
  environment?: EnforcementEnvironment;
  localhostPolicy?: boolean;
}

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP', 1: 'ICMPv4', 58: 'ICMPv6' };

function sideOf(peer: ReplayPeer): FlowSide {
  switch (peer.kind) {
    case 'workload':
      return { workload: peer.labels };
    case 'entity':
      return { entity: peer.entity };
    case 'address':
      return peer.names ? { address: peer.address, names: peer.names } : { address: peer.address };
    case 'prefix':
      return { prefix: peer.cidr };
    case 'world':
      return { entity: peer.family === 4 ? 'world' : 'world-ipv6' };
  }
}

/** The CIDR prefixes of policies (cidr and except, masked), and the selectors' canonical text. */
function cidrFacts(policies: readonly BundledPolicy[]): { prefixes: Prefix[]; texts: Set<string>; selectors: string } {
  const prefixes = new Map<string, Prefix>();
  const selectors = policyCidrSelectors(policies);
  for (const s of selectors) {
    for (const t of [s.cidr, ...s.except]) {
      const p = maskPrefix(t);
      if (p) prefixes.set(p.text, p);
    }
  }
  const canonical = selectors.map((s) => `${maskPrefix(s.cidr)?.text}-${s.except.map((e) => maskPrefix(e)?.text).sort().join(',')}`).sort();
  return { prefixes: [...prefixes.values()], texts: new Set(prefixes.keys()), selectors: [...new Set(canonical)].join(' ') };
}

/** Separator of the change-group key's fields (control characters never occur in names or labels). */
const FIELD = '\u0000';

/** Does a recorded verdict agree with what the current policies decide? FORWARDED also agrees with
 *  audit: after an audited first packet, the connection's established packets are forwarded. */
const agrees = (current: HookDecision['verdict'], recorded: RecordedVerdict): boolean =>
  recorded === 'FORWARDED' ? current !== 'dropped' : current.toUpperCase() === recorded;

const passes = (v: HookDecision['verdict']): boolean => v !== 'dropped';

const decisionOf = (d: HookDecision): ReplayDecision => ({ verdict: d.verdict, decidedBy: d.by, ...(d.rule ? { rule: d.rule } : {}) });

export function replayChanges<E>(part: ReplayPart<E>, clusters: ReadonlyMap<string, ClusterPolicySets>, options: ReplayOptions = {}): ReplayResult<E> {
  const byCluster = new Map<string, Array<ReplayGroup<E>>>();
  for (const g of part.groups) {
    const cluster = clusterOfReplayKey(g.key);
    const list = byCluster.get(cluster);
    if (list) list.push(g);
    else byCluster.set(cluster, [g]);
  }
  const partsOf = (g: ReplayGroup<E>): Array<[RecordedVerdict, RecordedPart<E>]> => Object.entries(g.recorded) as Array<[RecordedVerdict, RecordedPart<E>]>;
  const unjudged = new Map<ReplayUnjudgedReason, { reason: ReplayUnjudgedReason; sums: ReplaySums; examples: E[] }>();
  const addUnjudged = (reason: ReplayUnjudgedReason, sums: ReplaySums, examples: readonly E[]): void => {
    let u = unjudged.get(reason);
    if (!u) unjudged.set(reason, (u = { reason, sums: emptyReplaySums(), examples: [] }));
    addReplaySums(u.sums, sums);
    for (const e of examples) if (u.examples.length < MAX_EXAMPLES) u.examples.push(e);
  };
  for (const u of part.unjudged) addUnjudged(u.reason, u.sums, u.examples);

  const judged = emptyReplaySums();
  const totals = { allowedToDropped: emptyReplaySums(), droppedToAllowed: emptyReplaySums(), auditedToDropped: emptyReplaySums() };
  const disagreements = { sums: emptyReplaySums(), examples: [] as E[] };
  const changes = new Map<string, ReplayChangeGroup<E> & { portSet: Set<string>; clusterSet: Set<string> }>();

  for (const [cluster, groups] of [...byCluster.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const sets = clusters.get(cluster);
    if (!sets) {
      for (const g of groups) for (const [, r] of partsOf(g)) addUnjudged('cluster-not-in-scope', r.sums, r.examples);
      continue;
    }
    const current = cidrFacts(sets.current);
    const candidate = cidrFacts(sets.candidate);
    const exact = (peer: ReplayPeer): boolean => {
      if (peer.kind === 'world') return candidate.selectors === current.selectors;
      if (peer.kind !== 'prefix') return true;
      const p = maskPrefix(peer.cidr);
      if (!p) return false;
      return !candidate.prefixes.some((q) => q.family === p.family && q.bits > p.bits && containsPrefix(p, q) && !current.texts.has(q.text));
    };
    const judgeable: Array<{ g: ReplayGroup<E>; fields: ReplayGroupKey }> = [];
    for (const g of groups) {
      const fields = parseReplayKey(g.key);
      if (exact(fields.peer)) judgeable.push({ g, fields });
      else for (const [, r] of partsOf(g)) addUnjudged('peer-address-unknown', r.sums, r.examples);
    }
    // Evaluators over every distinct side; each group (a distinct key) is decided once under each.
    const sides = new Map<string, FlowSide>();
    for (const { fields } of judgeable) {
      sides.set(`s${fields.subjectText}`, { workload: fields.subjectLabels });
      sides.set(`p${fields.peerText}`, sideOf(fields.peer));
    }
    const build = (policies: readonly BundledPolicy[]): ClusterEvaluator =>
      createClusterEvaluator({ policies, sides: [...sides.values()], ...(options.environment ? { environment: options.environment } : {}), localhostPolicy: options.localhostPolicy === true });
    const now = build(sets.current);
    const next = build(sets.candidate);
    for (const { g, fields: key } of judgeable) {
      const subject: FlowSide = { workload: key.subjectLabels };
      const peer = sideOf(key.peer);
      const before = now.decide(subject, key.direction, peer, key.protocol, key.port);
      const after = next.decide(subject, key.direction, peer, key.protocol, key.port);
      const parts = partsOf(g);
      for (const [recorded, r] of parts) {
        addReplaySums(judged, r.sums);
        if (agrees(before.verdict, recorded)) continue;
        addReplaySums(disagreements.sums, r.sums);
        for (const e of r.examples) if (disagreements.examples.length < MAX_EXAMPLES) disagreements.examples.push(e);
      }
      if (passes(before.verdict) === passes(after.verdict)) continue;
      const change: ChangeKind = passes(before.verdict) ? 'allowed-to-dropped' : 'dropped-to-allowed';
      const total = change === 'allowed-to-dropped' ? totals.allowedToDropped : totals.droppedToAllowed;
      const ck = [change, key.direction, g.subjectName, g.peerName, after.by, after.rule?.ruleId ?? 0, before.by, before.rule?.ruleId ?? 0].join(FIELD);
      let c = changes.get(ck);
      if (!c) {
        c = { change, direction: key.direction, subject: g.subjectName, peer: g.peerName, candidate: decisionOf(after), current: decisionOf(before), clusters: [], ports: [], sums: emptyReplaySums(), examples: [], portSet: new Set(), clusterSet: new Set() };
        changes.set(ck, c);
      }
      for (const [recorded, r] of parts) {
        addReplaySums(total, r.sums);
        if (change === 'allowed-to-dropped' && recorded === 'AUDIT') addReplaySums(totals.auditedToDropped, r.sums);
        addReplaySums(c.sums, r.sums);
        for (const e of r.examples) if (c.examples.length < MAX_EXAMPLES) c.examples.push(e);
      }
      c.portSet.add(`${PROTOCOL_NAMES[key.protocol] ?? key.protocol}/${key.port}`);
      c.clusterSet.add(cluster);
    }
  }
  const sorted = [...changes.values()]
    .map(({ portSet, clusterSet, ...c }) => ({ ...c, ports: [...portSet].sort(), clusters: [...clusterSet].sort() }))
    .sort((a, b) => Number(a.change !== 'allowed-to-dropped') - Number(b.change !== 'allowed-to-dropped') || b.sums.packets - a.sums.packets || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  return { changes: sorted, totals: { judged, ...totals }, unjudged: [...unjudged.values()], disagreements };
}
