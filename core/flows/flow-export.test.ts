import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../openapi/types.js';
import { csvHeader, escapeCsvField, joinableExportPage, parseCsv, toCsvRow, toNdjsonLine } from './flow-export.js';

const record: FlowRecord = {
  time: '2026-11-24T10:01:00.000Z',
  cluster: 'east',
  node_name: 'node-1',
  window: { start: '2026-11-24T10:00:00.000Z', end: '2026-11-24T10:01:00.000Z' },
  flow: {
    source: { identity: 1001, namespace: 'shop', pod_name: 'web-1', labels: ['k8s:app=web', 'k8s:note=a,"b"'], workloads: [{ name: 'web', kind: 'Deployment' }] },
    destination: { identity: 2, labels: ['reserved:world'] },
    IP: { source: '10.0.0.1', destination: '1.1.1.1' },
    destination_names: ['one.one.one.one'],
    l4: { protocol: 'UDP', destination_port: 53 },
    traffic_direction: 'EGRESS',
    verdict: 'DROPPED',
    drop_reason_desc: 'POLICY_DENY',
    policy: { name: 'deny-dns', revision: 2 },
    packets: 3,
    bytes: 210,
    flows: 1,
  },
};

describe('CSV', () => {
  it.each([
    { given: 'plain', want: 'plain' },
    { given: 'a,b', want: '"a,b"' },
    { given: 'say "hi"', want: '"say ""hi"""' },
    { given: 'two\nlines', want: '"two\nlines"' },
    { given: 42, want: '42' },
    { given: undefined, want: '' },
  ])('escapes $given', ({ given, want }) => {
    expect(escapeCsvField(given)).toBe(want);
  });

  it('writes a header and rows that parse back to the record values', () => {
    const rows = parseCsv(csvHeader() + toCsvRow(record));
    expect(rows).toHaveLength(2);
    const row = Object.fromEntries(rows[0]!.map((name, i) => [name, rows[1]![i]]));
    expect(row).toMatchObject({
      cluster: 'east',
      verdict: 'DROPPED',
      drop_reason_desc: 'POLICY_DENY',
      protocol: 'UDP',
      destination_port: '53',
      source_labels: 'k8s:app=web;k8s:note=a,"b"',
      source_workload: 'Deployment/web',
      destination_labels: 'reserved:world',
      destination_names: 'one.one.one.one',
      policy: 'deny-dns',
      policy_revision: '2',
      packets: '3',
      bytes: '210',
      source_port: '',
      ip_version: 'IPv4',
    });
    expect(rows[0]!.indexOf('ip_version')).toBe(34);
    expect(rows[0]!.slice(35)).toEqual(['l7_type', 'l7_latency_ns', 'dns_query', 'dns_qtypes', 'dns_rcode', 'dns_ips', 'dns_ttl', 'dns_cnames', 'http_method', 'http_status_code', 'http_url', 'http_protocol']);
    expect(rows[1]!.slice(35)).toEqual(['', '', '', '', '', '', '', '', '', '', '', '']);
  });

  it('appends the L7 DNS fields of a DNS summary', () => {
    const dns: FlowRecord = {
      ...record,
      flow: { ...record.flow, l7: { type: 'RESPONSE', latency_ns: 1500, dns: { query: 'one.one.one.one.', qtypes: ['A', 'AAAA'], rcode: 3, ips: ['1.1.1.1', '1.0.0.1'], ttl: 30, cnames: ['x.example.'] } } },
    };
    const rows = parseCsv(csvHeader() + toCsvRow(dns));
    const row = Object.fromEntries(rows[0]!.map((name, i) => [name, rows[1]![i]]));
    expect(row).toMatchObject({ l7_type: 'RESPONSE', l7_latency_ns: '1500', dns_query: 'one.one.one.one.', dns_qtypes: 'A;AAAA', dns_rcode: '3', dns_ips: '1.1.1.1;1.0.0.1', dns_ttl: '30', dns_cnames: 'x.example.' });
    expect(row).toMatchObject({ http_method: '', http_status_code: '', http_url: '', http_protocol: '' });
  });

  it('appends the L7 HTTP fields of an HTTP summary (DNS fields empty)', () => {
    const http: FlowRecord = {
      ...record,
      flow: { ...record.flow, l4: { protocol: 'TCP', destination_port: 8080 }, l7: { type: 'RESPONSE', latency_ns: 2500, http: { method: 'POST', code: 503, url: '/v1/items', protocol: 'HTTP/1.1' } } },
    };
    const rows = parseCsv(csvHeader() + toCsvRow(http));
    const row = Object.fromEntries(rows[0]!.map((name, i) => [name, rows[1]![i]]));
    expect(row).toMatchObject({ l7_type: 'RESPONSE', l7_latency_ns: '2500', dns_query: '', dns_rcode: '', http_method: 'POST', http_status_code: '503', http_url: '/v1/items', http_protocol: 'HTTP/1.1' });
  });
});

describe('NDJSON', () => {
  it('is one JSON document per line', () => {
    const line = toNdjsonLine(record);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual(record);
  });
});

describe('joinableExportPage (the pages of one export)', () => {
  const multiline: FlowRecord = { ...record, flow: { ...record.flow, source: { ...record.flow.source, labels: ['k8s:note=line one\r\nline two'] } } };

  it('CSV: the first page keeps its header, later pages lose it; a quoted line break is one record', () => {
    const first = joinableExportPage(csvHeader() + toCsvRow(record) + toCsvRow(multiline), 'csv', true);
    const second = joinableExportPage(csvHeader() + toCsvRow(record), 'csv', false);
    expect(first.records).toBe(2);
    expect(second).toEqual({ text: toCsvRow(record), records: 1 });
    expect(parseCsv(first.text + second.text)).toHaveLength(4);
    expect(joinableExportPage(csvHeader(), 'csv', false)).toEqual({ text: '', records: 0 });
  });

  it('NDJSON: pages join as they are, one record a line', () => {
    expect(joinableExportPage(toNdjsonLine(record) + toNdjsonLine(multiline), 'ndjson', false)).toEqual({ text: toNdjsonLine(record) + toNdjsonLine(multiline), records: 2 });
  });
});
