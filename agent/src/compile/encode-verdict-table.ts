/**
 * Core's verdict table (core/policy/resolve) → the kernel's entries (pure). Encoding only: every
 * semantic choice was made by resolveVerdictTable, and the entries must decide what core's
 * evaluateFlow decides (resolution-agreement.test.ts).
 *
 * - rows → Contributions (numeric direction, verdict and proxy of agent/src/kernel/identities.ts) →
 *   mergeContributions (the LPM write contract, merge-entries.ts);
 * - defaults → each endpoint's default-deny and audit bits (no defaults entry: neither).
 */
import type { FlowDirection, ProxyName, RuleVerdict, SubjectDefaults, VerdictRow } from '../../../core/policy/resolve/verdict-table.js';
import type { EndpointEntry, PolicyEntry } from '../kernel/codecs.js';
import { Direction, PolicyVerdict, ProxyKind } from '../kernel/identities.js';
import { mergeContributions, type Contribution } from './merge-entries.js';

export const DIRECTION_CODE: Readonly<Record<FlowDirection, Direction>> = { ingress: Direction.ingress, egress: Direction.egress };
export const VERDICT_CODE: Readonly<Record<RuleVerdict, PolicyVerdict>> = { allow: PolicyVerdict.allow, deny: PolicyVerdict.deny, 'audit-deny': PolicyVerdict.auditDeny };
export const PROXY_CODE: Readonly<Record<ProxyName, ProxyKind>> = { dns: ProxyKind.dns, http: ProxyKind.http };

export function toContribution(row: VerdictRow): Contribution {
  const c: Contribution = { localId: row.subject, peerId: row.peer, direction: DIRECTION_CODE[row.direction], block: row.block, verdict: VERDICT_CODE[row.verdict], ruleId: row.ruleId };
  if (row.proxy !== undefined) c.proxy = PROXY_CODE[row.proxy];
  if (row.dns !== undefined) c.dns = row.dns;
  if (row.http !== undefined) c.http = row.http;
  if (row.l7Pointer !== undefined) c.l7Pointer = row.l7Pointer;
  if (row.auditAllow) c.auditAllow = true;
  return c;
}

export function encodePolicyEntries(rows: readonly VerdictRow[]): PolicyEntry[] {
  return mergeContributions(rows.map(toContribution));
}

/** One entry per endpoint (ifindex, identity), sorted by ifindex. */
export function encodeEndpoints(endpoints: ReadonlyArray<{ ifindex: number; identity: number }>, defaults: readonly SubjectDefaults[]): EndpointEntry[] {
  const byKey = new Map(defaults.map((d) => [`${d.subject}/${d.direction}`, d]));
  const bits = (identity: number, direction: FlowDirection): { deny: boolean; audit: boolean } => {
    const d = byKey.get(`${identity}/${direction}`);
    return { deny: d?.defaultDeny ?? false, audit: d?.audit ?? false };
  };
  return endpoints
    .map(({ ifindex, identity }) => {
      const i = bits(identity, 'ingress');
      const o = bits(identity, 'egress');
      return { ifindex, identity, defaultDenyIngress: i.deny, defaultDenyEgress: o.deny, auditIngress: i.audit, auditEgress: o.audit };
    })
    .sort((a, b) => a.ifindex - b.ifindex);
}
