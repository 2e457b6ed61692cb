/**
 * What the HTTP proxy checks on the ports the kernel redirects to it (pure): `buildHttpRules` derives
 * CompiledState.httpRules from the policy contributions, `createHttpRuleLookup` answers per connection
 * and then per request, over core's matcher (core/policy/rules/http-match.ts `compileHttpRules`).
 *
 * Contract of buildHttpRules: proxy-rule-entries.ts `groupProxyRules` for `ProxyKind.http` (TCP ports).
 * Both directions, each entry tagged with it (egress first): the egress entries of a client pod's
 * rules, the ingress entries of a server pod's (groupProxyRules with that direction).
 * One allow (`HttpRuleSet`) per covering allow: a redirect's HTTP rules as written (`rules.http`
 * of its port rule, in order; each object's keys sorted), `[{}]` for a plain allow (Cilium: a rule without HTTP rules on a redirected port
 * allows every request); `audit` when the allow is an audit-mode policy's. Sets sorted by ruleId, then
 * their rules' JSON, then audit; duplicates dropped.
 *
 * Contract of createHttpRuleLookup(httpRules)(localId, peerId, port, direction = egress) — one call per
 * connection the kernel handed to the proxy (port = the original destination port, TCP; for ingress
 * localId is the server pod, peerId the client): the connection's rule sets are those of every entry
 * of (direction, localId, 6, port) whose peers are `'any'` or contain peerId (the union
 * the kernel's two lookups cover). None → undefined: refuse the connection (fail closed). Else
 * `match(request)`, among the sets of enforce-mode policies — or, when there are none, those of
 * audit-mode policies:
 * - allowed iff one set matches (`compileHttpRules(set.http).match`: its rules ORed; a rule that
 *   `unsupported` lists matches nothing); attribution: the first matching set in the order sets without
 *   an allow-all rule `{}` first, then by ruleId; `actions` are that set's header actions (mismatch);
 * - else denied (403, ruleId 0) — unless only audit-mode sets apply: then forwarded and counted as
 *   audit (`allowed: true, audit: true`, ruleId 0).
 * An audit-mode allow never loosens an enforce-mode denial. Each set is compiled once per lookup
 * function (i.e. per httpRules revision); per-connection results are cached by (localId, peerId, port).
 */
import { canonicalJson } from '../../../core/policy/canonical-json.js';
import { compileHttpRules, type CompiledHttpRules, type HeaderAction, type HttpRequestView, type PortRuleHTTP } from '../../../core/policy/rules/http-match.js';
import { Direction, IpProto, PolicyVerdict, ProxyKind } from '../kernel/identities.js';
import type { Contribution } from './merge-entries.js';
import { groupProxyRules } from './proxy-rule-entries.js';
import type { HttpRuleEntry, HttpRuleSet } from './types.js';

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function compareHttpRuleSets(a: HttpRuleSet, b: HttpRuleSet): number {
  return a.ruleId - b.ruleId || cmp(JSON.stringify(a.http), JSON.stringify(b.http)) || Number(Boolean(a.audit)) - Number(Boolean(b.audit));
}

/** The rules as written, with object keys sorted (the output does not depend on the spec's key order). */
const canonicalRules = (rules: readonly PortRuleHTTP[]): PortRuleHTTP[] => JSON.parse(`[${rules.map((r) => canonicalJson(r)).join(',')}]`) as PortRuleHTTP[];

function setsOf(c: Contribution): HttpRuleSet[] {
  const audit = c.auditAllow ? { audit: true as const } : {};
  const redirect = c.verdict === PolicyVerdict.allow && c.proxy === ProxyKind.http;
  return [{ ruleId: c.ruleId, ...audit, http: redirect ? canonicalRules(c.http ?? []) : [{}] }];
}

export function buildHttpRules(contributions: readonly Contribution[]): HttpRuleEntry[] {
  const keyOf = (s: HttpRuleSet): string => JSON.stringify([s.ruleId, s.audit, s.http]);
  return [Direction.egress, Direction.ingress].flatMap((direction) =>
    groupProxyRules(contributions, ProxyKind.http, setsOf, keyOf, compareHttpRuleSets, direction).map(({ allow, ...e }) => ({ ...e, direction, rules: allow })),
  );
}

export interface HttpRequestVerdict {
  /** forward the request (else answer 403 `Access denied`) */
  allowed: boolean;
  /** forwarded only because the denying rules are audit-mode ones: count as audit */
  audit: boolean;
  /** the allowing rule; 0 when denied or audited */
  ruleId: number;
  /** header actions of the allowing rule set (http-match `HeaderAction`), in order; only when due */
  actions?: HeaderAction[];
}

/** The HTTP rules of one redirected connection. */
export interface HttpConnectionRules {
  match(request: HttpRequestView): HttpRequestVerdict;
  /** the rules whose sets decide this connection's requests (sorted, no duplicates) */
  ruleIds: readonly number[];
}

/** `direction`: egress — localId is the client pod, peerId the server; ingress — localId is the server
 *  pod, peerId its client. */
export type HttpRuleLookup = (localId: number, peerId: number, port: number, direction?: Direction) => HttpConnectionRules | undefined;

const allowsAll = (s: HttpRuleSet): boolean => s.http.some((r) => Object.keys(r).length === 0);

/** A per-connection rule lookup over `httpRules` (see the module contract). */
export function createHttpRuleLookup(httpRules: readonly HttpRuleEntry[]): HttpRuleLookup {
  type Compiled = { set: HttpRuleSet; rules: CompiledHttpRules };
  const byPort = new Map<string, { any: Compiled[]; peers: Map<number, Compiled[]> }>();
  for (const e of httpRules) {
    if (e.proto !== IpProto.tcp) continue;
    const k = `${e.direction}/${e.localId}/${e.port}`;
    const slot = byPort.get(k) ?? { any: [], peers: new Map<number, Compiled[]>() };
    byPort.set(k, slot);
    const compiled = e.rules.map((set) => ({ set, rules: compileHttpRules(set.http) }));
    if (e.peers === 'any') slot.any.push(...compiled);
    else for (const p of e.peers) slot.peers.set(p, [...(slot.peers.get(p) ?? []), ...compiled]);
  }
  const cache = new Map<string, HttpConnectionRules | undefined>();
  const connectionRules = (all: Compiled[]): HttpConnectionRules => {
    const enforce = all.filter((x) => !x.set.audit);
    const deciding = (enforce.length > 0 ? enforce : all).sort((a, b) => Number(allowsAll(a.set)) - Number(allowsAll(b.set)) || compareHttpRuleSets(a.set, b.set));
    const refusal: HttpRequestVerdict = enforce.length > 0 ? { allowed: false, audit: false, ruleId: 0 } : { allowed: true, audit: true, ruleId: 0 };
    return {
      ruleIds: [...new Set(deciding.map((x) => x.set.ruleId))].sort((a, b) => a - b),
      match(request) {
        for (const x of deciding) {
          const r = x.rules.match(request);
          if (r.allowed) return r.actions ? { allowed: true, audit: false, ruleId: x.set.ruleId, actions: r.actions } : { allowed: true, audit: false, ruleId: x.set.ruleId };
        }
        return { ...refusal };
      },
    };
  };
  return (localId, peerId, port, direction = Direction.egress) => {
    const k = `${direction}/${localId}/${peerId}/${port}`;
    if (cache.has(k)) return cache.get(k);
    const slot = byPort.get(`${direction}/${localId}/${port}`);
    const all = slot ? [...slot.any, ...(slot.peers.get(peerId) ?? [])] : [];
    const rules = all.length > 0 ? connectionRules(all) : undefined;
    cache.set(k, rules);
    return rules;
  };
}
