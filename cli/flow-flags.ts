/**
 * `hubble observe`-style flags compiled to a FlowFilter query (pure).
 *
 * Contract (mirrors the hubble CLI):
 * - `--from-*` / `--to-*` flags constrain the source / destination side; every flag is ANDed with the others.
 * - The "either side" flags (`--pod`, `--namespace`, `--label`, `--ip`, `--fqdn`, `--port`) make two
 *   whitelist filters: one with those values on the source side, one on the destination side, each carrying
 *   every other flag. Without them, the whitelist is the single filter (absent when no flag is set).
 * - Repeating a flag ORs its values. `--namespace ns` is the pod filter `ns/`.
 * - `--not-*` flags build one blacklist filter (ANDed among themselves), as `hubble observe --not` does
 *   for the filter that follows it.
 * - `--protocol dns` and `--dns-query <regex>` pass through as the FlowFilter's `protocol` / `dns_query` on
 *   every whitelist filter (the API validates the regex and answers 400 with the pointer).
 * - `--http-method`, `--http-status` (`404`, `5+`) and `--http-path <regex>` pass through as Hubble's
 *   `http_method`, `http_status_code` and `http_path` on every whitelist filter (the API validates them).
 * - `--ipv4` / `--ipv6` / `--ip-version 4|v4|ipv4|ip4|6|…` (hubble's spellings) add to `ip_version` on
 *   every whitelist filter; an unknown version is an error.
 */
import type { FlowFilter, FlowQuery } from '../openapi/types.js';

export interface ObserveFlags {
  since?: string;
  until?: string;
  verdict?: string[];
  dropReason?: string[];
  trafficDirection?: string[];
  protocol?: string[];
  dnsQuery?: string[];
  httpMethod?: string[];
  httpStatus?: string[];
  httpPath?: string[];
  nodeName?: string[];
  cluster?: string[];
  policy?: string[];
  fromPod?: string[];
  toPod?: string[];
  pod?: string[];
  fromNamespace?: string[];
  toNamespace?: string[];
  namespace?: string[];
  fromLabel?: string[];
  toLabel?: string[];
  label?: string[];
  fromIp?: string[];
  toIp?: string[];
  ip?: string[];
  fromFqdn?: string[];
  toFqdn?: string[];
  fqdn?: string[];
  fromPort?: string[];
  toPort?: string[];
  port?: string[];
  fromIdentity?: string[];
  toIdentity?: string[];
  fromWorkload?: string[];
  toWorkload?: string[];
  notVerdict?: string[];
  notNamespace?: string[];
  notCluster?: string[];
  ipv4?: boolean;
  ipv6?: boolean;
  ipVersion?: string[];
}

/** hubble observe's `--ip-version` spellings. */
export function parseIpVersion(text: string): 'IPv4' | 'IPv6' {
  const v = text.toLowerCase();
  if (['4', 'v4', 'ipv4', 'ip4'].includes(v)) return 'IPv4';
  if (['6', 'v6', 'ipv6', 'ip6'].includes(v)) return 'IPv6';
  throw new Error(`invalid --ip-version "${text}": expected 4 or 6 (v4, ipv4, ip4, v6, ipv6, ip6)`);
}

type Side = 'source' | 'destination';
const nonEmpty = (values: string[] | undefined): values is string[] => values !== undefined && values.length > 0;

function sideFilter(side: Side, flags: { pod?: string[]; namespace?: string[]; label?: string[]; ip?: string[]; fqdn?: string[]; port?: string[]; identity?: string[]; workload?: string[] }): FlowFilter {
  const f: FlowFilter = {};
  const pods = [...(flags.pod ?? []), ...(flags.namespace ?? []).map((ns) => `${ns}/`)];
  if (pods.length > 0) f[`${side}_pod`] = pods;
  if (nonEmpty(flags.label)) f[`${side}_label`] = flags.label;
  if (nonEmpty(flags.ip)) f[`${side}_ip`] = flags.ip;
  if (nonEmpty(flags.fqdn)) f[`${side}_fqdn`] = flags.fqdn;
  if (nonEmpty(flags.port)) f[`${side}_port`] = flags.port;
  if (nonEmpty(flags.identity)) f[`${side}_identity`] = flags.identity.map(Number);
  if (nonEmpty(flags.workload)) f[`${side}_workload`] = flags.workload.map(parseWorkload);
  return f;
}

/** `kind/name` or `name`. */
function parseWorkload(text: string): { name?: string; kind?: string } {
  const slash = text.indexOf('/');
  return slash < 0 ? { name: text } : { kind: text.slice(0, slash), name: text.slice(slash + 1) };
}

function merge(...filters: FlowFilter[]): FlowFilter {
  const out: Record<string, unknown[]> = {};
  for (const f of filters) for (const [k, v] of Object.entries(f)) out[k] = [...(out[k] ?? []), ...(v as unknown[])];
  return out as FlowFilter;
}

export function compileObserveFlags(flags: ObserveFlags): Pick<FlowQuery, 'whitelist' | 'blacklist' | 'since' | 'until'> {
  const common: FlowFilter = {};
  if (nonEmpty(flags.verdict)) common.verdict = flags.verdict.map((v) => v.toUpperCase()) as FlowFilter['verdict'];
  if (nonEmpty(flags.dropReason)) common.drop_reason_desc = flags.dropReason;
  if (nonEmpty(flags.trafficDirection)) common.traffic_direction = flags.trafficDirection.map((d) => d.toUpperCase()) as FlowFilter['traffic_direction'];
  if (nonEmpty(flags.protocol)) common.protocol = flags.protocol;
  if (nonEmpty(flags.dnsQuery)) common.dns_query = flags.dnsQuery;
  if (nonEmpty(flags.httpMethod)) common.http_method = flags.httpMethod;
  if (nonEmpty(flags.httpStatus)) common.http_status_code = flags.httpStatus;
  if (nonEmpty(flags.httpPath)) common.http_path = flags.httpPath;
  if (nonEmpty(flags.nodeName)) common.node_name = flags.nodeName;
  if (nonEmpty(flags.cluster)) common.cluster = flags.cluster;
  if (nonEmpty(flags.policy)) common.policy = flags.policy;
  const versions = new Set([...(flags.ipv4 ? ['IPv4' as const] : []), ...(flags.ipv6 ? ['IPv6' as const] : []), ...(flags.ipVersion ?? []).map(parseIpVersion)]);
  if (versions.size > 0) common.ip_version = [...versions].sort();
  const from = sideFilter('source', { pod: flags.fromPod, namespace: flags.fromNamespace, label: flags.fromLabel, ip: flags.fromIp, fqdn: flags.fromFqdn, port: flags.fromPort, identity: flags.fromIdentity, workload: flags.fromWorkload });
  const to = sideFilter('destination', { pod: flags.toPod, namespace: flags.toNamespace, label: flags.toLabel, ip: flags.toIp, fqdn: flags.toFqdn, port: flags.toPort, identity: flags.toIdentity, workload: flags.toWorkload });
  const either = { pod: flags.pod, namespace: flags.namespace, label: flags.label, ip: flags.ip, fqdn: flags.fqdn, port: flags.port };
  const base = merge(common, from, to);
  const hasEither = Object.values(either).some(nonEmpty);
  const whitelist = hasEither ? [merge(base, sideFilter('source', either)), merge(base, sideFilter('destination', either))] : Object.keys(base).length > 0 ? [base] : [];
  const black: FlowFilter = {};
  if (nonEmpty(flags.notVerdict)) black.verdict = flags.notVerdict.map((v) => v.toUpperCase()) as FlowFilter['verdict'];
  if (nonEmpty(flags.notCluster)) black.cluster = flags.notCluster;
  const blacklist = nonEmpty(flags.notNamespace)
    ? [merge(black, { source_pod: flags.notNamespace.map((ns) => `${ns}/`) }), merge(black, { destination_pod: flags.notNamespace.map((ns) => `${ns}/`) })]
    : Object.keys(black).length > 0 ? [black] : [];
  return {
    ...(whitelist.length > 0 ? { whitelist } : {}),
    ...(blacklist.length > 0 ? { blacklist } : {}),
    ...(flags.since ? { since: flags.since } : {}),
    ...(flags.until ? { until: flags.until } : {}),
  };
}
