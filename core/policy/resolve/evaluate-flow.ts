/**
 * evaluateFlow — the precedence of fleetnet's policy semantics, written once (pure). What the kernel
 * does with the agent's map entries (agent/bpf/policy.c `decide`) must equal this; the agent's
 * property test (agent/src/compile/resolution-agreement.test.ts) checks it.
 *
 * For a flow seen at one subject's hook (direction, peer identity, protocol, policy port — the
 * destination port, or the ICMP/ICMPv6 type, 0 for protocols without ports):
 * 1. Each family decides alone: E, the rows naming the peer; W, the rows for every peer (peer 0).
 *    Among a family's rows whose block holds the flow: the highest rank (deny 3 > audit-deny 2 >
 *    allow 1), then the most specific block, then the smallest ruleId.
 * 2. The higher rank of E and W decides; a tie goes to E.
 * 3. No row: ingress from `host` (1) is allowed with no rule unless `localhostPolicy` (Cilium's
 *    allow-localhost=always default); otherwise the subject's default decides.
 * 4. deny → dropped (audit when the subject's direction is in audit); audit-deny → audit (forwarded,
 *    counted as a would-be drop); allow → forwarded; no row → dropped under default deny (audit in
 *    audit), else forwarded.
 * 5. A flow not dropped goes to the proxy of E's deciding row when that is an allow with a redirect
 *    (any redirecting allow of E holding the flow), else likewise W's.
 */
import { blockHolds, blockSpecificity, type PortBlock } from './port-blocks.js';
import { ReservedId } from './reserved-identities.js';
import type { FlowDirection, ProxyName, RuleRef, SubjectDefaults, VerdictRow, VerdictTable } from './verdict-table.js';

export interface FlowProbe {
  /** the identity of the endpoint whose hook decides */
  subject: number;
  direction: FlowDirection;
  /** the peer's identity */
  peer: number;
  /** IP protocol number */
  proto: number;
  /** the policy port: destination port, or ICMP type; 0 for protocols without ports */
  port: number;
}

export interface EvaluateOptions {
  /** policies also decide ingress from the node (`host`) — Cilium's allow-localhost=policy */
  localhostPolicy?: boolean;
}

export type FlowVerdictName = 'forwarded' | 'dropped' | 'audit';

export interface FlowDecision {
  verdict: FlowVerdictName;
  /** the deciding rule; undefined for a default, the host rule, or a conflict deny */
  rule: RuleRef | undefined;
  /** the deciding row; undefined when no row holds the flow */
  row: VerdictRow | undefined;
  /** what decided: a row, the subject's default (deny or, without policy, allow), or the host rule */
  by: 'row' | 'default-deny' | 'no-policy' | 'host';
  /** the proxy an allowed flow is handed to */
  proxy?: ProxyName;
}

/** deny 3 > audit-deny 2 > allow 1 (0: no row). */
const RANK: Readonly<Record<VerdictRow['verdict'], number>> = { allow: 1, 'audit-deny': 2, deny: 3 };

/** Within one family, does `a` decide over `b` (both holding the flow)? The higher rank, then the more
 *  specific block, then the smallest ruleId. The agent's encoding attributes kernel keys with this too. */
export function decidesOver(a: { rank: number; block: PortBlock; ruleId: number }, b: { rank: number; block: PortBlock; ruleId: number }): boolean {
  if (a.rank !== b.rank) return a.rank > b.rank;
  const sa = blockSpecificity(a.block);
  const sb = blockSpecificity(b.block);
  return sa !== sb ? sa > sb : a.ruleId < b.ruleId;
}

/** The deciding row of one family and its first redirecting allow holding the flow. */
function decideFamily(rows: readonly VerdictRow[] | undefined, proto: number, port: number): { best: VerdictRow | undefined; redirect: VerdictRow | undefined } {
  let best: VerdictRow | undefined;
  let redirect: VerdictRow | undefined;
  for (const r of rows ?? []) {
    if (!blockHolds(r.block, proto, port)) continue;
    if (redirect === undefined && r.verdict === 'allow' && r.proxy !== undefined) redirect = r;
    if (!best || decidesOver({ rank: RANK[r.verdict], block: r.block, ruleId: r.ruleId }, { rank: RANK[best.verdict], block: best.block, ruleId: best.ruleId })) best = r;
  }
  return { best, redirect };
}

/** An evaluator over one table (rows indexed once), for many flows. */
export function createFlowEvaluator(table: Pick<VerdictTable, 'rows' | 'rules' | 'defaults'>, options: EvaluateOptions = {}): (probe: FlowProbe) => FlowDecision {
  const families = new Map<string, VerdictRow[]>();
  for (const r of table.rows) {
    const k = `${r.subject}/${r.direction}/${r.peer}`;
    const list = families.get(k);
    if (list) list.push(r);
    else families.set(k, [r]);
  }
  const rules = new Map(table.rules.map((r) => [r.ruleId, r]));
  const defaults = new Map<string, SubjectDefaults>(table.defaults.map((d) => [`${d.subject}/${d.direction}`, d]));
  return (probe) => {
    const e = decideFamily(families.get(`${probe.subject}/${probe.direction}/${probe.peer}`), probe.proto, probe.port);
    const w = decideFamily(families.get(`${probe.subject}/${probe.direction}/${ReservedId.any}`), probe.proto, probe.port);
    const rank = (r: VerdictRow | undefined): number => (r === undefined ? 0 : RANK[r.verdict]);
    const row = rank(w.best) > rank(e.best) ? w.best : e.best;
    const d = defaults.get(`${probe.subject}/${probe.direction}`);
    const dropped: FlowVerdictName = d?.audit ? 'audit' : 'dropped';
    let verdict: FlowVerdictName;
    let by: FlowDecision['by'] = 'row';
    if (row !== undefined) verdict = row.verdict === 'deny' ? dropped : row.verdict === 'audit-deny' ? 'audit' : 'forwarded';
    else if (probe.direction === 'ingress' && probe.peer === ReservedId.host && !options.localhostPolicy) {
      verdict = 'forwarded';
      by = 'host';
    } else if (d?.defaultDeny) {
      verdict = dropped;
      by = 'default-deny';
    } else {
      verdict = 'forwarded';
      by = 'no-policy';
    }
    const decision: FlowDecision = { verdict, rule: row && row.ruleId !== 0 ? rules.get(row.ruleId) : undefined, row, by };
    if (verdict !== 'dropped') {
      const redirect = e.best?.verdict === 'allow' ? e.redirect : undefined;
      const proxy = redirect?.proxy ?? (w.best?.verdict === 'allow' ? w.redirect?.proxy : undefined);
      if (proxy !== undefined) decision.proxy = proxy;
    }
    return decision;
  };
}

/** One flow against one table (indexes the table each call: use createFlowEvaluator for many). */
export function evaluateFlow(table: Pick<VerdictTable, 'rows' | 'rules' | 'defaults'>, probe: FlowProbe, options: EvaluateOptions = {}): FlowDecision {
  return createFlowEvaluator(table, options)(probe);
}
