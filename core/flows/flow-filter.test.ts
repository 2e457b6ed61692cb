import { describe, expect, it } from 'vitest';
import type { FlowFilter, FlowRecord, FlowSummary } from '../../openapi/types.js';
import { compileFlowFilters, normaliseLabel, urlPath } from './flow-filter.js';

function record(flow: Partial<FlowSummary> = {}, at: Partial<FlowRecord> = {}): FlowRecord {
  return {
    time: '2026-11-24T10:01:00.000Z',
    cluster: 'east',
    node_name: 'node-1',
    window: { start: '2026-11-24T10:00:00.000Z', end: '2026-11-24T10:01:00.000Z' },
    flow: {
      source: { identity: 1001, namespace: 'shop', pod_name: 'web-1', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop'] },
      destination: { identity: 2, labels: ['reserved:world'] },
      IP: { source: '10.0.0.5', destination: '2001:db8::1' },
      destination_names: ['api.example.com.'],
      l4: { protocol: 'TCP', destination_port: 443 },
      traffic_direction: 'EGRESS',
      verdict: 'FORWARDED',
      packets: 1,
      bytes: 1,
      flows: 1,
      ...flow,
    },
    ...at,
  };
}

const dnsRecord = record({
  destination: { identity: 1002, namespace: 'kube-system', labels: ['k8s:k8s-app=kube-dns'] },
  destination_names: undefined,
  l4: { protocol: 'UDP', destination_port: 53 },
  l7: { type: 'RESPONSE', latency_ns: 2_000_000, dns: { query: 'api.github.com.', qtypes: ['A'], rcode: 0, ips: ['140.82.121.6'], ttl: 60 } },
});

const httpRecord = (http: Partial<NonNullable<NonNullable<FlowSummary['l7']>['http']>> = {}) =>
  record({
    destination: { identity: 1003, namespace: 'shop', labels: ['k8s:app=api'] },
    destination_names: undefined,
    l4: { protocol: 'TCP', destination_port: 8080 },
    l7: { type: 'RESPONSE', latency_ns: 3_000_000, http: { method: 'GET', code: 404, url: '/v1/items', protocol: 'HTTP/1.1', ...http } },
  });

function matches(filter: FlowFilter, r = record()): boolean {
  const compiled = compileFlowFilters({ whitelist: [filter] });
  if ('errors' in compiled) throw new Error(JSON.stringify(compiled.errors));
  return compiled.matches(r);
}

describe('field semantics', () => {
  it.each<{ name: string; filter: FlowFilter; want: boolean; r?: FlowRecord }>([
    { name: 'pod ns/ with no pod name', filter: { source_pod: ['shop/'] }, r: record({ source: { identity: 1, namespace: 'shop' } }), want: true },
    { name: 'pod prefix without namespace needs a pod', filter: { source_pod: ['web'] }, r: record({ source: { identity: 1, namespace: 'shop' } }), want: false },
    { name: 'pod exact ns/name', filter: { source_pod: ['shop/web-1'] }, want: true },
    { name: 'pod in another namespace', filter: { source_pod: ['other/web-1'] }, want: false },
    { name: 'label without value (reserved:world)', filter: { destination_label: ['reserved:world'] }, want: true },
    { name: 'label Exists', filter: { source_label: ['app'] }, want: true },
    { name: 'label DoesNotExist', filter: { source_label: ['!app'] }, want: false },
    { name: 'label notin', filter: { source_label: ['app notin (web)'] }, want: false },
    { name: 'label any: source', filter: { source_label: ['any:app=web'] }, want: true },
    { name: 'label pod namespace', filter: { source_label: ['io.kubernetes.pod.namespace=shop'] }, want: true },
    { name: 'ipv6 CIDR', filter: { destination_ip: ['2001:db8::/32'] }, want: true },
    { name: 'ipv4 CIDR does not match ipv6', filter: { destination_ip: ['0.0.0.0/0'] }, want: false },
    { name: 'no IP recorded', filter: { source_ip: ['0.0.0.0/0'] }, r: record({ IP: undefined }), want: false },
    { name: 'fqdn lone * needs a name', filter: { source_fqdn: ['*'] }, want: false },
    { name: 'fqdn lone * any name', filter: { destination_fqdn: ['*'] }, want: true },
    { name: 'fqdn star inside a label', filter: { destination_fqdn: ['a*.example.com'] }, want: true },
    { name: 'fqdn star does not cross dots', filter: { destination_fqdn: ['*.com'] }, want: false },
    { name: 'workload kind only', filter: { source_workload: [{ kind: 'Deployment' }] }, r: record({ source: { identity: 1, workloads: [{ name: 'web', kind: 'Deployment' }] } }), want: true },
    { name: 'workload none recorded', filter: { source_workload: [{}] }, want: false },
    { name: 'port when none recorded', filter: { destination_port: ['443'] }, r: record({ l4: { protocol: 'OTHER' } }), want: false },
    { name: 'drop reason case-insensitive', filter: { drop_reason_desc: ['policy_denied'] }, r: record({ verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED' }), want: true },
    { name: 'icmp matches ICMPv6', filter: { protocol: ['ICMP'] }, r: record({ l4: { protocol: 'ICMPv6', destination_port: 128 } }), want: true },
    { name: 'node glob', filter: { node_name: ['node-?'] }, want: false },
    { name: 'node cluster/name', filter: { node_name: ['east/node-1'] }, want: true },
    { name: 'node name matched whole', filter: { node_name: ['node'] }, want: false },
    { name: 'policy absent', filter: { policy: ['x'] }, want: false },
    { name: 'empty field list is no constraint', filter: { verdict: [] }, want: true },
    { name: 'ip_version from IP.ipVersion', filter: { ip_version: ['IPv6'] }, r: record({ IP: { ipVersion: 'IPv6' } }), want: true },
    { name: 'ip_version other version', filter: { ip_version: ['IPv4'] }, r: record({ IP: { ipVersion: 'IPv6', source: 'fd00::5' } }), want: false },
    { name: 'ip_version values are ORed', filter: { ip_version: ['IPv4', 'IPv6'] }, r: record({ IP: { ipVersion: 'IPv6' } }), want: true },
    { name: 'ip_version without ipVersion: the source address decides', filter: { ip_version: ['IPv4'] }, want: true },
    { name: 'ip_version without ipVersion: v6 destination alone', filter: { ip_version: ['IPv6'] }, r: record({ IP: { destination: '2001:db8::1' } }), want: true },
    { name: 'ip_version with no IP at all', filter: { ip_version: ['IPv4', 'IPv6'] }, r: record({ IP: undefined }), want: false },
    { name: 'protocol dns matches a DNS summary', filter: { protocol: ['dns'] }, r: dnsRecord, want: true },
    { name: 'protocol DNS is case-insensitive', filter: { protocol: ['DNS'] }, r: dnsRecord, want: true },
    { name: 'protocol dns does not match L4 traffic to port 53', filter: { protocol: ['dns'] }, r: record({ l4: { protocol: 'UDP', destination_port: 53 } }), want: false },
    { name: 'protocol udp still matches the DNS summary by its transport', filter: { protocol: ['udp'] }, r: dnsRecord, want: true },
    { name: 'dns_query unanchored', filter: { dns_query: ['github'] }, r: dnsRecord, want: true },
    { name: 'dns_query anchored with the trailing dot', filter: { dns_query: ['^api\\.github\\.com\\.$'] }, r: dnsRecord, want: true },
    { name: 'dns_query not matching', filter: { dns_query: ['^github'] }, r: dnsRecord, want: false },
    { name: 'dns_query values are ORed', filter: { dns_query: ['^x', 'com\\.$'] }, r: dnsRecord, want: true },
    { name: 'dns_query case-insensitive', filter: { dns_query: ['GITHUB'] }, r: dnsRecord, want: true },
    { name: 'dns_query never matches a summary without l7.dns', filter: { dns_query: [''] }, want: false },
    { name: 'dns_query ANDed with verdict', filter: { dns_query: ['github'], verdict: ['DROPPED'] }, r: dnsRecord, want: false },
    { name: 'protocol http matches an HTTP summary', filter: { protocol: ['HTTP'] }, r: httpRecord(), want: true },
    { name: 'protocol http does not match L4 traffic', filter: { protocol: ['http'] }, want: false },
    { name: 'protocol dns does not match an HTTP summary', filter: { protocol: ['dns'] }, r: httpRecord(), want: false },
    { name: 'protocol tcp still matches the HTTP summary by its transport', filter: { protocol: ['tcp'] }, r: httpRecord(), want: true },
    { name: 'http_method case-insensitive', filter: { http_method: ['get'] }, r: httpRecord(), want: true },
    { name: 'http_method values are ORed', filter: { http_method: ['POST', 'GET'] }, r: httpRecord(), want: true },
    { name: 'http_method other method', filter: { http_method: ['POST'] }, r: httpRecord(), want: false },
    { name: 'http_method never matches an empty method (connection-level record)', filter: { http_method: ['GET'] }, r: httpRecord({ method: '' }), want: false },
    { name: 'http_method never matches a summary without l7.http', filter: { http_method: ['GET'] }, r: dnsRecord, want: false },
    { name: 'http_status_code exact', filter: { http_status_code: ['404'] }, r: httpRecord(), want: true },
    { name: 'http_status_code exact other', filter: { http_status_code: ['403'] }, r: httpRecord(), want: false },
    { name: 'http_status_code class 4+', filter: { http_status_code: ['4+'] }, r: httpRecord(), want: true },
    { name: 'http_status_code class 40+', filter: { http_status_code: ['40+'] }, r: httpRecord(), want: true },
    { name: 'http_status_code class 41+', filter: { http_status_code: ['41+'] }, r: httpRecord(), want: false },
    { name: 'http_status_code class 5+ for 503', filter: { http_status_code: ['2+', '5+'] }, r: httpRecord({ code: 503 }), want: true },
    { name: 'http_status_code never matches code 0 (no response)', filter: { http_status_code: ['1+', '2+', '3+', '4+', '5+'] }, r: httpRecord({ code: 0 }), want: false },
    { name: 'http_status_code never matches a summary without l7.http', filter: { http_status_code: ['2+'] }, want: false },
    { name: 'http_path unanchored', filter: { http_path: ['items'] }, r: httpRecord(), want: true },
    { name: 'http_path anchored', filter: { http_path: ['^/v1/items$'] }, r: httpRecord(), want: true },
    { name: 'http_path is case-sensitive (as Hubble)', filter: { http_path: ['ITEMS'] }, r: httpRecord(), want: false },
    { name: 'http_path (?i) folds case', filter: { http_path: ['(?i)ITEMS'] }, r: httpRecord(), want: true },
    { name: 'http_path over the path of an absolute URL', filter: { http_path: ['^/v1/items$'] }, r: httpRecord({ url: 'http://api.shop:8080/v1/items?id=3' }), want: true },
    { name: 'http_path: the query string is not the path', filter: { http_path: ['id=3'] }, r: httpRecord({ url: '/v1/items?id=3' }), want: false },
    { name: 'http_path never matches an empty url', filter: { http_path: [''] }, r: httpRecord({ url: '' }), want: false },
    { name: 'http filters ANDed', filter: { http_method: ['GET'], http_status_code: ['404'], http_path: ['^/v1/'] }, r: httpRecord(), want: true },
    { name: 'http filters ANDed, one fails', filter: { http_method: ['GET'], http_status_code: ['5+'] }, r: httpRecord(), want: false },
  ])('$name', ({ filter, r, want }) => {
    expect(matches(filter, r)).toBe(want);
  });
});

describe('whitelist and blacklist', () => {
  const east = record();
  const west = record({}, { cluster: 'west' });
  const dropped = record({ verdict: 'DROPPED' }, { cluster: 'west' });
  it.each<{ name: string; query: { whitelist?: FlowFilter[]; blacklist?: FlowFilter[] }; want: boolean[] }>([
    { name: 'nothing = all', query: {}, want: [true, true, true] },
    { name: 'whitelist ORs filters', query: { whitelist: [{ cluster: ['east'] }, { verdict: ['DROPPED'] }] }, want: [true, false, true] },
    { name: 'blacklist removes', query: { blacklist: [{ verdict: ['DROPPED'] }] }, want: [true, true, false] },
    { name: 'whitelist minus blacklist', query: { whitelist: [{ cluster: ['west'] }], blacklist: [{ verdict: ['DROPPED'] }] }, want: [false, true, false] },
    { name: 'an empty blacklist filter removes everything', query: { blacklist: [{}] }, want: [false, false, false] },
  ])('$name', ({ query, want }) => {
    const compiled = compileFlowFilters(query);
    if ('errors' in compiled) throw new Error('unexpected');
    expect([east, west, dropped].map(compiled.matches)).toEqual(want);
  });
});

describe('errors', () => {
  it('lists every invalid value with its pointer', () => {
    const compiled = compileFlowFilters({
      whitelist: [{ source_ip: ['10.0.0.0/33', '10.0.0.1'] }, { destination_port: ['http'] }],
      blacklist: [{ destination_label: ['a b c'] }, { source_label: ['bogus:app=x'] }],
    });
    expect('errors' in compiled && compiled.errors.map((e) => e.pointer)).toEqual(['/whitelist/0/source_ip/0', '/whitelist/1/destination_port/0', '/blacklist/0/destination_label/0', '/blacklist/1/source_label/0']);
  });

  it('points at an invalid dns_query pattern without echoing it', () => {
    const compiled = compileFlowFilters({ whitelist: [{ dns_query: ['ok', '(a'] }], blacklist: [{ dns_query: ['(?=x)'] }] });
    expect('errors' in compiled && compiled.errors.map((e) => [e.pointer, e.rule])).toEqual([['/whitelist/0/dns_query/1', 'regex'], ['/blacklist/0/dns_query/0', 'regex']]);
  });


  it('points at an invalid http_status_code or http_path', () => {
    const compiled = compileFlowFilters({ whitelist: [{ http_status_code: ['200', '2xx', '600', '5++', '+'], http_path: ['(a'] }] });
    expect('errors' in compiled && compiled.errors.map((e) => [e.pointer, e.rule])).toEqual([
      ['/whitelist/0/http_status_code/1', 'http_status'],
      ['/whitelist/0/http_status_code/2', 'http_status'],
      ['/whitelist/0/http_status_code/3', 'http_status'],
      ['/whitelist/0/http_status_code/4', 'http_status'],
      ['/whitelist/0/http_path/0', 'regex'],
    ]);
  });
});

describe('urlPath', () => {
  it.each([
    ['/v1/items', '/v1/items'],
    ['/v1/items?id=3#top', '/v1/items'],
    ['http://api.shop:8080/v1/items?id=3', '/v1/items'],
    ['https://api.shop', '/'],
    ['*', '*'],
    ['', ''],
  ])('%s → %s', (given, want) => {
    expect(urlPath(given)).toBe(want);
  });
});

describe('normaliseLabel', () => {
  it.each([
    ['k8s:app=web', 'k8s:app=web'],
    ['reserved:world', 'reserved:world='],
    ['app=web', 'unspec:app=web'],
    ['app=a:b', 'unspec:app=a:b'],
  ])('%s → %s', (given, want) => {
    expect(normaliseLabel(given)).toBe(want);
  });
});
