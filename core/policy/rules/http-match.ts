/**
 * The request matcher for Cilium's `PortRuleHTTP` (`toPorts[].rules.http[]`): a pure function the agent's HTTP
 * proxy calls once per request. Compile once per policy revision; `match` does no I/O and never runs a
 * backtracking regular expression.
 *
 * Contract (the semantics of Cilium's agent pkg/envoy `getHTTPRule` + the cilium/proxy Envoy filter
 * `cilium/network_policy.cc`, which turn each rule into Envoy `HeaderMatcher`s plus Cilium `HeaderMatch`es):
 * - Rules are ORed: a request is allowed iff at least one rule matches; `rule` is the index (policy order) of
 *   the first one. A rule matches iff ALL its given fields match. An omitted or empty (`""`) field matches
 *   everything, so `{}` allows every request. An empty rule list allows every request too (Cilium sends the
 *   proxy no HTTP rules and "an empty set matches any payload"); the L3/L4 decision has been made before.
 * - `method`, `path`, `host` are RE2 regular expressions given to Envoy as `safe_regex_match` on the
 *   pseudo-headers `:method`, `:path`, `:authority`, and Envoy requires the ENTIRE value to match: the pattern
 *   is anchored at both ends, as if written `^(?:pattern)$` (`/public` does not match `/public/x` nor
 *   `/x/public`; write `/public/.*` for a subtree). All three are case-sensitive (RE2's default; methods are
 *   case-sensitive in HTTP); a pattern starting with `(?i)` matches case-insensitively (ASCII letters).
 *   - `path` sees the request target as received in origin form, query string included, exactly as Envoy's
 *     `:path`: `/public` does not match `/public?x=1`; write `/public(\?.*)?` to allow any query. The path is
 *     not normalised or percent-decoded here (that is the proxy's decision, before calling).
 *   - `host` is matched against `request.host` when given, else against the `Host` header (as Envoy's
 *     `:authority`, the value as sent, `:port` included when the client sent one). No host → a `host` rule fails.
 * - `headers` entries are Cilium's strings, split at the first space: `"Name"` requires the header to be
 *   present (any value, even empty); `"Name: value"` (any trailing `:` of the name dropped) requires the exact
 *   value — the text after the first space, verbatim, compared case-sensitively. A string without a space is a
 *   name as written, so `"X-Key:true"` names a header no request can carry and that rule matches nothing (as in
 *   Cilium).
 * - Header names compare case-insensitively (ASCII). A header sent several times is compared as its values
 *   joined with "," in order (Envoy `getAllOfHeaderAsString`).
 * - `headerMatches` (`value` omitted or empty = presence, else exact value as above):
 *   - without `mismatch`: part of the rule's match, like a `headers` entry (a missing or different header fails
 *     the rule);
 *   - with `mismatch`: never fails the rule; when the rule otherwise matches and the header does not, an action
 *     is returned for the proxy to apply, in order (Cilium `HeaderMatch::Matches`):
 *       LOG → nothing to change, reported (expected value, what was found);
 *       ADD → append `value` as one more value of the header (Envoy `addCopy`);
 *       DELETE → remove every value of the header — only when it is present with a wrong value (a presence match
 *         or an absent header: no action);
 *       REPLACE → set the header to `value` alone, replacing all its values or adding it (Envoy `setCopy`).
 *   - As in Cilium, once any rule carries a `mismatch`, every rule is evaluated (not only the first match), each
 *     against the headers as changed by the actions of the rules before it; actions of all matching rules are
 *     returned in rule order. (Cilium sorts rules before this; fleetnet keeps policy order.) `actions` is set
 *     only when non-empty, hence only when the request is allowed.
 * - Fail closed — `unsupported` lists what cannot be enforced, and each listed rule matches NOTHING (it never
 *   allows more than written; the other rules still apply):
 *   - `headerMatches[].secret`: the agent has no Kubernetes secrets. Cilium would compare with the secret's
 *     value and fall back to `value` only when the secret cannot be fetched; using `value` here would make every
 *     request pass on the fallback for ever (and ADD/REPLACE would inject it), so the rule is dropped instead.
 *   - a `method`/`path`/`host` pattern outside the linear-time subset of `core/flows/safe-regex.ts` (RE2 features
 *     it lacks — `\b`, named groups, POSIX classes, `\p{..}`, counts above 100 — or invalid syntax).
 *   `field` is the JSON pointer of the field relative to the rule (`path`, `headerMatches/2/secret`).
 */
import type { components } from '../../../openapi/types.js';
import { compileSafeRegex, type SafeRegex } from '../../flows/safe-regex.js';

export type PortRuleHTTP = components['schemas']['PortRuleHTTP'];
type HeaderMatch = NonNullable<PortRuleHTTP['headerMatches']>[number];
export type HeaderMismatchAction = NonNullable<HeaderMatch['mismatch']>;

export interface HttpRequestView {
  /** As received, e.g. `GET` (compared case-sensitively). */
  method: string;
  /** The origin-form request target, query string included, e.g. `/v1/items?id=3`. */
  path: string;
  /** The authority (`Host` header or HTTP/2 `:authority`); when omitted the `Host` header is used. */
  host?: string;
  /** Header lines in arrival order, names in any case (Node's `rawHeaders` as pairs). */
  headers: ReadonlyArray<readonly [name: string, value: string]>;
}

/**
 * What the proxy does for a `headerMatches` entry with a `mismatch` whose header did not match. `rule` and
 * `headerMatch` locate the entry; `name` is the header name in lower case; `expected` is absent for a presence
 * match; `found` is the header's current value (values joined with ","), absent when the header is missing.
 */
export type HeaderAction = { rule: number; headerMatch: number; name: string } & (
  | { mismatch: 'LOG'; expected?: string; found?: string }
  | { mismatch: 'ADD'; value: string }
  | { mismatch: 'DELETE'; found: string }
  | { mismatch: 'REPLACE'; value: string; found?: string }
);

export interface HttpMatchResult {
  allowed: boolean;
  /** Index of the first matching rule (policy order). */
  rule?: number;
  /** Header actions to apply in order; only when some are due. */
  actions?: HeaderAction[];
}

export interface UnsupportedHttpField {
  /** Index of the rule, which matches nothing. */
  index: number;
  /** JSON pointer of the field within the rule, e.g. `path` or `headerMatches/0/secret`. */
  field: string;
  reason: string;
}

export interface CompiledHttpRules {
  match(request: HttpRequestView): HttpMatchResult;
  unsupported: UnsupportedHttpField[];
}

interface RequiredHeader {
  name: string;
  /** undefined: presence only */
  value: string | undefined;
}

interface MismatchEntry {
  headerMatch: number;
  name: string;
  /** '' : presence only */
  value: string;
  mismatch: HeaderMismatchAction;
}

interface CompiledRule {
  index: number;
  /** fails closed: something in the rule cannot be enforced */
  never: boolean;
  method: SafeRegex | undefined;
  path: SafeRegex | undefined;
  host: SafeRegex | undefined;
  required: RequiredHeader[];
  mismatches: MismatchEntry[];
}

/** Header values by lower-case name, in arrival order. */
type HeaderTable = Map<string, string[]>;

export function compileHttpRules(rules: readonly PortRuleHTTP[]): CompiledHttpRules {
  const unsupported: UnsupportedHttpField[] = [];
  const compiled = rules.map((rule, index) => compileRule(rule, index, unsupported));
  const evaluateAll = compiled.some((rule) => rule.mismatches.length > 0);
  return {
    unsupported,
    match(request) {
      if (compiled.length === 0) return { allowed: true };
      const headers = tableOf(request.headers);
      const host = request.host ?? joined(headers, 'host');
      let first: number | undefined;
      const actions: HeaderAction[] = [];
      for (const rule of compiled) {
        if (!matchesRule(rule, request, host, headers)) continue;
        first ??= rule.index;
        if (!evaluateAll) break;
        applyMismatches(rule, headers, actions);
      }
      if (first === undefined) return { allowed: false };
      return actions.length > 0 ? { allowed: true, rule: first, actions } : { allowed: true, rule: first };
    },
  };
}

function compileRule(rule: PortRuleHTTP, index: number, unsupported: UnsupportedHttpField[]): CompiledRule {
  const out: CompiledRule = { index, never: false, method: undefined, path: undefined, host: undefined, required: [], mismatches: [] };
  const reject = (field: string, reason: string): void => {
    unsupported.push({ index, field, reason });
    out.never = true;
  };
  for (const field of ['method', 'path', 'host'] as const) {
    const source = rule[field];
    if (source === undefined || source === '') continue;
    const regex = compileSafeRegex(source, { caseSensitive: true, fullMatch: true });
    if ('error' in regex) reject(field, `the ${field} pattern cannot be matched in linear time (${regex.error}); the rule matches nothing`);
    else out[field] = regex;
  }
  for (const header of rule.headers ?? []) {
    const space = header.indexOf(' ');
    if (space < 0) out.required.push({ name: header.toLowerCase(), value: undefined });
    else out.required.push({ name: header.slice(0, space).replace(/:+$/, '').toLowerCase(), value: header.slice(space + 1) });
  }
  (rule.headerMatches ?? []).forEach((match, i) => {
    if (match.secret !== undefined) {
      reject(`headerMatches/${i}/secret`, 'header values from Kubernetes secrets are not available to the agent; the rule matches nothing');
      return;
    }
    const name = match.name.toLowerCase();
    const value = match.value ?? '';
    if (match.mismatch === undefined) out.required.push({ name, value: value === '' ? undefined : value });
    else out.mismatches.push({ headerMatch: i, name, value, mismatch: match.mismatch });
  });
  return out;
}

function matchesRule(rule: CompiledRule, request: HttpRequestView, host: string | undefined, headers: HeaderTable): boolean {
  if (rule.never) return false;
  if (rule.method && !rule.method.test(request.method)) return false;
  if (rule.path && !rule.path.test(request.path)) return false;
  if (rule.host && (host === undefined || !rule.host.test(host))) return false;
  return rule.required.every(({ name, value }) => {
    const found = joined(headers, name);
    return found !== undefined && (value === undefined || found === value);
  });
}

function applyMismatches(rule: CompiledRule, headers: HeaderTable, actions: HeaderAction[]): void {
  for (const { headerMatch, name, value, mismatch } of rule.mismatches) {
    const found = joined(headers, name);
    const presenceOnly = value === '';
    if (found !== undefined && (presenceOnly || found === value)) continue;
    const at = { rule: rule.index, headerMatch, name };
    switch (mismatch) {
      case 'LOG':
        actions.push({ ...at, mismatch, ...(presenceOnly ? {} : { expected: value }), ...(found === undefined ? {} : { found }) });
        break;
      case 'ADD':
        headers.set(name, [...(headers.get(name) ?? []), value]);
        actions.push({ ...at, mismatch, value });
        break;
      case 'DELETE':
        if (presenceOnly || found === undefined) break;
        headers.delete(name);
        actions.push({ ...at, mismatch, found });
        break;
      case 'REPLACE':
        headers.set(name, [value]);
        actions.push({ ...at, mismatch, value, ...(found === undefined ? {} : { found }) });
        break;
    }
  }
}

function tableOf(lines: HttpRequestView['headers']): HeaderTable {
  const table: HeaderTable = new Map();
  for (const [name, value] of lines) {
    const key = name.toLowerCase();
    const values = table.get(key);
    if (values) values.push(value);
    else table.set(key, [value]);
  }
  return table;
}

function joined(headers: HeaderTable, name: string): string | undefined {
  return headers.get(name)?.join(',');
}
