/**
 * Hubble FlowFilter semantics over stored flow records.
 *
 * Contracts (hubble observe / observer.GetFlowsRequest):
 * - Inside one filter, fields are ANDed; the values of one field are ORed; an empty filter matches all.
 * - A record is selected when it matches some whitelist filter (every record when the whitelist is absent
 *   or empty) and no blacklist filter.
 * - `*_pod`: `ns/` = every pod of namespace ns; `ns/prefix` = pods of ns whose name starts with prefix;
 *   `prefix` (no slash) = such pods in any namespace.
 * - `*_label`: Kubernetes selector syntax matched with Cilium source semantics (core/policy/endpoint-selector.ts):
 *   `k8s:app=web` matches only k8s labels, `app=web` any source. Endpoint labels without a value
 *   (`reserved:world`) have the empty value.
 * - `*_ip`: an address or CIDR containing the record's address (records without one never match).
 * - `*_fqdn`: a matchPattern as in policies (core/policy/rules/fqdn.ts: case-insensitive, trailing dot
 *   ignored, `*` within one label, a lone `*` any name, a leftmost `**.` one or more labels); matched
 *   against source_names / destination_names.
 * - `*_workload`: some workload of the endpoint has the name and kind given (absent = any).
 * - `protocol`: case-insensitive; `icmp` means ICMPv4 or ICMPv6; `dns` / `http` mean summaries with `l7.dns` /
 *   `l7.http` (Hubble's `--protocol dns` / `--protocol http`), whatever their transport.
 * - `dns_query`: regular expressions (core/flows/safe-regex.ts: an RE2 subset matched without backtracking,
 *   unanchored, case-insensitive) over `l7.dns.query` (lower case, trailing dot); summaries without
 *   `l7.dns` never match. An invalid pattern is a field error at `/…/dns_query/<i>`.
 * - HTTP (Hubble's http filters; summaries without `l7.http` never match): `http_method` compares
 *   `l7.http.method` case-insensitively (an empty method never matches); `http_status_code` is a code
 *   (`404`) or a class prefix (`5+` = 500-599, `40+` = 400-409) over `l7.http.code` as three digits, code 0
 *   (no response) never matching — anything else is a field error at `/…/http_status_code/<i>`;
 *   `http_path` is a regular expression (safe-regex, unanchored, case-sensitive as Hubble's) over the path
 *   of `l7.http.url` (an absolute URL's path; the query string and fragment cut), an invalid one a field
 *   error at `/…/http_path/<i>`.
 * - `node_name`: `*` wildcards; with a `/` it is matched against `cluster/node`.
 * - `policy`: `name` or `name@generation` of the deciding fleet policy.
 * - `ip_version`: IPv4 / IPv6 of `IP.ipVersion`; a summary without it (stored before the agent set it, or
 *   imported) has the version of its source address, else of its destination address; one with neither
 *   matches no `ip_version`.
 * Invalid values (bad CIDR, port, selector) are field errors pointing into the request body.
 */
import type { FieldError, FlowEndpoint, FlowFilter, FlowIpVersion, FlowRecord, FlowSummary } from '../../openapi/types.js';
import { parseLabelSelectorQuery } from '../labels/label-selector.js';
import { appendPointer } from '../json/json-pointer.js';
import { indexLabels, matchesEndpointSelector, type IndexedLabels } from '../policy/endpoint-selector.js';
import { parsePrefix, prefixContains, type ParsedPrefix } from '../policy/rules/cidr.js';
import { fqdnSelectorMatcher } from '../policy/rules/fqdn.js';
import { compileSafeRegex, type SafeRegex, type SafeRegexOptions } from './safe-regex.js';

export type FlowMatcher = (record: FlowRecord) => boolean;
type Side = 'source' | 'destination';

/** Compiles whitelist/blacklist into one predicate, or returns every invalid value as a field error. */
export function compileFlowFilters(
  query: { whitelist?: readonly FlowFilter[] | undefined; blacklist?: readonly FlowFilter[] | undefined },
): { matches: FlowMatcher } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const white = (query.whitelist ?? []).map((f, i) => compileFilter(f, `/whitelist/${i}`, errors));
  const black = (query.blacklist ?? []).map((f, i) => compileFilter(f, `/blacklist/${i}`, errors));
  if (errors.length > 0) return { errors };
  return {
    matches: (record) => (white.length === 0 || white.some((m) => m(record))) && !black.some((m) => m(record)),
  };
}

function compileFilter(filter: FlowFilter, pointer: string, errors: FieldError[]): FlowMatcher {
  const checks: FlowMatcher[] = [];
  const add = (values: readonly unknown[] | undefined, build: () => FlowMatcher) => {
    if (values && values.length > 0) checks.push(build());
  };
  for (const side of ['source', 'destination'] as const) {
    const at = (field: string) => appendPointer(pointer, `${side}_${field}`);
    add(filter[`${side}_pod`], () => podMatcher(side, filter[`${side}_pod`]!));
    add(filter[`${side}_label`], () => labelMatcher(side, filter[`${side}_label`]!, at('label'), errors));
    add(filter[`${side}_ip`], () => ipMatcher(side, filter[`${side}_ip`]!, at('ip'), errors));
    add(filter[`${side}_fqdn`], () => fqdnMatcher(side, filter[`${side}_fqdn`]!));
    add(filter[`${side}_workload`], () => {
      const wanted = filter[`${side}_workload`]!;
      return (r) => (r.flow[side].workloads ?? []).some((w) => wanted.some((f) => (!f.name || f.name === w.name) && (!f.kind || f.kind === w.kind)));
    });
    add(filter[`${side}_identity`], () => {
      const ids = new Set(filter[`${side}_identity`]!);
      return (r) => ids.has(r.flow[side].identity);
    });
    add(filter[`${side}_port`], () => portMatcher(side, filter[`${side}_port`]!, at('port'), errors));
  }
  add(filter.verdict, () => {
    const set = new Set<string>(filter.verdict!);
    return (r) => set.has(r.flow.verdict);
  });
  add(filter.drop_reason_desc, () => {
    const set = new Set(filter.drop_reason_desc!.map((v) => v.toUpperCase()));
    return (r) => r.flow.drop_reason_desc !== undefined && set.has(r.flow.drop_reason_desc);
  });
  add(filter.traffic_direction, () => {
    const set = new Set<string>(filter.traffic_direction!);
    return (r) => set.has(r.flow.traffic_direction);
  });
  add(filter.protocol, () => {
    const set = new Set(filter.protocol!.flatMap((p) => (p.toLowerCase() === 'icmp' ? ['icmpv4', 'icmpv6'] : [p.toLowerCase()])));
    return (r) => set.has(r.flow.l4.protocol.toLowerCase()) || (r.flow.l7?.dns !== undefined && set.has('dns')) || (r.flow.l7?.http !== undefined && set.has('http'));
  });
  add(filter.dns_query, () => {
    const patterns = compilePatterns(filter.dns_query!, {}, appendPointer(pointer, 'dns_query'), errors);
    return (r) => {
      const query = r.flow.l7?.dns?.query;
      return query !== undefined && patterns.some((p) => p.test(query));
    };
  });
  add(filter.http_method, () => {
    const set = new Set(filter.http_method!.map((m) => m.toUpperCase()));
    return (r) => {
      const method = r.flow.l7?.http?.method;
      return method !== undefined && method !== '' && set.has(method.toUpperCase());
    };
  });
  add(filter.http_status_code, () => httpStatusMatcher(filter.http_status_code!, appendPointer(pointer, 'http_status_code'), errors));
  add(filter.http_path, () => {
    const patterns = compilePatterns(filter.http_path!, { caseSensitive: true }, appendPointer(pointer, 'http_path'), errors);
    return (r) => {
      const url = r.flow.l7?.http?.url;
      return url !== undefined && url !== '' && patterns.some((p) => p.test(urlPath(url)));
    };
  });
  add(filter.node_name, () => {
    const patterns = filter.node_name!.map((p) => ({ withCluster: p.includes('/'), re: globToRegExp(p, '.*') }));
    return (r) => patterns.some((p) => p.re.test(p.withCluster ? `${r.cluster}/${r.node_name}` : r.node_name));
  });
  add(filter.cluster, () => {
    const set = new Set(filter.cluster!);
    return (r) => set.has(r.cluster);
  });
  add(filter.policy, () => {
    const wanted = filter.policy!;
    return (r) => {
      const p = r.flow.policy;
      return p !== undefined && wanted.some((w) => w === p.name || w === `${p.name}@${p.revision}`);
    };
  });
  add(filter.ip_version, () => {
    const set = new Set<string>(filter.ip_version!);
    return (r) => {
      const version = ipVersionOf(r.flow);
      return version !== undefined && set.has(version);
    };
  });
  return (record) => checks.every((check) => check(record));
}

/** `IP.ipVersion`, else the version of the source (then destination) address, else undefined. */
export function ipVersionOf(flow: FlowSummary): FlowIpVersion | undefined {
  const ip = flow.IP;
  if (!ip) return undefined;
  if (ip.ipVersion) return ip.ipVersion;
  const address = ip.source ?? ip.destination;
  return address === undefined ? undefined : address.includes(':') ? 'IPv6' : 'IPv4';
}

function podMatcher(side: Side, values: readonly string[]): FlowMatcher {
  const parsed = values.map((v) => {
    const slash = v.indexOf('/');
    return slash < 0 ? { namespace: undefined, prefix: v } : { namespace: v.slice(0, slash), prefix: v.slice(slash + 1) };
  });
  return (r) => {
    const ep = r.flow[side];
    return parsed.some((p) => {
      if (p.namespace !== undefined && ep.namespace !== p.namespace) return false;
      if (p.prefix === '') return true;
      return ep.pod_name !== undefined && ep.pod_name.startsWith(p.prefix);
    });
  };
}

function labelMatcher(side: Side, values: readonly string[], pointer: string, errors: FieldError[]): FlowMatcher {
  const selectors = values.flatMap((text, i) => {
    const parsed = parseLabelSelectorQuery(text, appendPointer(pointer, i), { allowSourcePrefix: true });
    if ('errors' in parsed) {
      errors.push(...parsed.errors);
      return [];
    }
    return [parsed.selector];
  });
  const cache = new WeakMap<FlowEndpoint, IndexedLabels>();
  return (r) => {
    const ep = r.flow[side];
    let indexed = cache.get(ep);
    if (!indexed) {
      indexed = indexLabels((ep.labels ?? []).map(normaliseLabel));
      cache.set(ep, indexed);
    }
    return selectors.some((s) => matchesEndpointSelector(s, indexed));
  };
}

/** `k8s:app=web` as is; `reserved:world` → `reserved:world=`; `app=web` → `unspec:app=web`. */
export function normaliseLabel(text: string): string {
  const colon = text.indexOf(':');
  const eq = text.indexOf('=');
  const withSource = colon < 0 || (eq >= 0 && eq < colon) ? `unspec:${text}` : text;
  return withSource.includes('=', withSource.indexOf(':')) ? withSource : `${withSource}=`;
}

function ipMatcher(side: Side, values: readonly string[], pointer: string, errors: FieldError[]): FlowMatcher {
  const prefixes: ParsedPrefix[] = [];
  values.forEach((v, i) => {
    const parsed = parsePrefix(v);
    if (typeof parsed === 'string') errors.push({ pointer: appendPointer(pointer, i), message: `invalid IP or CIDR "${v}": ${parsed}`, rule: 'cidr' });
    else prefixes.push(parsed);
  });
  return (r) => {
    const address = r.flow.IP?.[side];
    if (address === undefined) return false;
    const parsed = parsePrefix(address);
    return typeof parsed !== 'string' && prefixes.some((p) => prefixContains(p, parsed));
  };
}

function fqdnMatcher(side: Side, values: readonly string[]): FlowMatcher {
  const matchers = values.map((v) => fqdnSelectorMatcher({ matchPattern: v }));
  const namesOf = side === 'source' ? (r: FlowRecord) => r.flow.source_names : (r: FlowRecord) => r.flow.destination_names;
  return (r) => (namesOf(r) ?? []).some((name) => matchers.some((matches) => matches(name)));
}

/** Regular expressions (safe-regex); each invalid one is a field error at `pointer/<i>` (the pattern not echoed). */
function compilePatterns(values: readonly string[], options: SafeRegexOptions, pointer: string, errors: FieldError[]): SafeRegex[] {
  return values.flatMap((v, i) => {
    const compiled = compileSafeRegex(v, options);
    if ('error' in compiled) {
      errors.push({ pointer: appendPointer(pointer, i), message: `invalid regular expression: ${compiled.error}`, rule: 'regex' });
      return [];
    }
    return [compiled];
  });
}

/** Hubble's status filter: a full code (`404`) or a class prefix of one or two digits and `+` (`5+`, `40+`). */
function httpStatusMatcher(values: readonly string[], pointer: string, errors: FieldError[]): FlowMatcher {
  const full = new Set<string>();
  const prefixes: string[] = [];
  values.forEach((v, i) => {
    if (/^[1-5][0-9]{2}$/.test(v)) full.add(v);
    else if (/^[1-5][0-9]?\+$/.test(v)) prefixes.push(v.slice(0, -1));
    else errors.push({ pointer: appendPointer(pointer, i), message: `"${v}" is not an HTTP status code (100-599) or class prefix ("5+", "40+")`, rule: 'http_status' });
  });
  return (r) => {
    const code = r.flow.l7?.http?.code;
    if (code === undefined || code === 0) return false;
    const text = String(code).padStart(3, '0');
    return full.has(text) || prefixes.some((p) => text.startsWith(p));
  };
}

/** The path of an `l7.http.url`: an absolute URL's path (`/` when it has none), any other text up to `?` or `#`. */
export function urlPath(url: string): string {
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(url);
  const rest = absolute ? url.slice(absolute[0].length) : url;
  const path = rest.replace(/[?#].*$/s, '');
  return absolute && path === '' ? '/' : path;
}

function portMatcher(side: Side, values: readonly string[], pointer: string, errors: FieldError[]): FlowMatcher {
  const ports = new Set<number>();
  values.forEach((v, i) => {
    if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) errors.push({ pointer: appendPointer(pointer, i), message: `"${v}" is not a port number (0-65535)`, rule: 'port' });
    else ports.add(Number(v));
  });
  return (r) => {
    const port = side === 'source' ? r.flow.l4.source_port : r.flow.l4.destination_port;
    return port !== undefined && ports.has(port);
  };
}

function globToRegExp(pattern: string, star: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join(star);
  return new RegExp(`^${body}$`, 'i');
}
