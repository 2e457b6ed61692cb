import { describe, expect, it } from 'vitest';
import type { FlowRecord, FlowSummary } from '../../openapi/types.js';
import { aggregateFlows } from './aggregate-flows.js';

const rec = (cluster: string, flow: Partial<FlowSummary>): FlowRecord => ({
  time: '2026-11-24T10:01:00.000Z',
  cluster,
  node_name: 'n',
  window: { start: '2026-11-24T10:00:00.000Z', end: '2026-11-24T10:01:00.000Z' },
  flow: { source: { identity: 1 }, destination: { identity: 2 }, l4: { protocol: 'TCP' }, traffic_direction: 'INGRESS', verdict: 'FORWARDED', packets: 0, bytes: 0, flows: 0, ...flow },
});

const records = [
  rec('a', { packets: 1, bytes: 10, flows: 1, policy: { name: 'p', revision: 2 } }),
  rec('a', { packets: 2, bytes: 20, flows: 0, source: { identity: 1, pod_name: 'web-1' } }),
  rec('b', { packets: 4, bytes: 5, flows: 3, source: { identity: 1, pod_name: 'x', workloads: [{ name: 'web', kind: 'Deployment' }] } }),
];

describe('aggregateFlows', () => {
  it.each([
    { name: 'no dimension: one group', groupBy: [] as const, orderBy: 'bytes' as const, top: undefined, want: [{ key: {}, packets: 7, bytes: 35, flows: 4, summaries: 3 }] },
    {
      name: 'by cluster, ordered by bytes',
      groupBy: ['cluster'] as const,
      orderBy: 'bytes' as const,
      top: undefined,
      want: [{ key: { cluster: 'a' }, packets: 3, bytes: 30, flows: 1, summaries: 2 }, { key: { cluster: 'b' }, packets: 4, bytes: 5, flows: 3, summaries: 1 }],
    },
    {
      name: 'by cluster, ordered by flows, top 1',
      groupBy: ['cluster'] as const,
      orderBy: 'flows' as const,
      top: 1,
      want: [{ key: { cluster: 'b' }, packets: 4, bytes: 5, flows: 3, summaries: 1 }],
    },
    {
      name: 'workload falls back to the pod; absent is null',
      groupBy: ['source_workload'] as const,
      orderBy: 'packets' as const,
      top: undefined,
      want: [
        { key: { source_workload: 'web' }, packets: 4, bytes: 5, flows: 3, summaries: 1 },
        { key: { source_workload: 'web-1' }, packets: 2, bytes: 20, flows: 0, summaries: 1 },
        { key: { source_workload: null }, packets: 1, bytes: 10, flows: 1, summaries: 1 },
      ],
    },
    {
      name: 'policy as name@generation; ties ordered by key',
      groupBy: ['policy'] as const,
      orderBy: 'summaries' as const,
      top: undefined,
      want: [{ key: { policy: null }, packets: 6, bytes: 25, flows: 3, summaries: 2 }, { key: { policy: 'p@2' }, packets: 1, bytes: 10, flows: 1, summaries: 1 }],
    },
  ])('$name', ({ groupBy, orderBy, top, want }) => {
    const result = aggregateFlows(records, groupBy, orderBy, top);
    expect(result.groups).toEqual(want);
    expect(result.totals).toEqual({ packets: 7, bytes: 35, flows: 4, summaries: 3 });
  });

  it('dns_query / dns_rcode: the names each workload resolves; null for L3/L4 summaries', () => {
    const dns = (query: string, rcode: number, packets: number): FlowRecord =>
      rec('a', { packets, source: { identity: 1, pod_name: 'web-1' }, l4: { protocol: 'UDP', destination_port: 53 }, l7: { type: 'RESPONSE', latency_ns: 0, dns: { query, qtypes: ['A'], rcode, ips: [], ttl: 0 } } });
    const result = aggregateFlows([...records, dns('a.example.', 0, 5), dns('a.example.', 3, 2), dns('b.example.', 3, 1)], ['source_workload', 'dns_query', 'dns_rcode'], 'packets', undefined);
    expect(result.groups.map((g) => [g.key, g.packets])).toEqual([
      [{ source_workload: 'web-1', dns_query: 'a.example.', dns_rcode: 0 }, 5],
      [{ source_workload: 'web', dns_query: null, dns_rcode: null }, 4],
      [{ source_workload: 'web-1', dns_query: 'a.example.', dns_rcode: 3 }, 2],
      [{ source_workload: 'web-1', dns_query: null, dns_rcode: null }, 2],
      [{ source_workload: 'web-1', dns_query: 'b.example.', dns_rcode: 3 }, 1],
      [{ source_workload: null, dns_query: null, dns_rcode: null }, 1],
    ]);
  });

  it('http_method / http_status_code / http_path: the method, code and path key of HTTP summaries; null for others', () => {
    const http = (method: string, code: number, url: string, packets: number): FlowRecord =>
      rec('a', { packets, l4: { protocol: 'TCP', destination_port: 80 }, l7: { type: 'RESPONSE', latency_ns: 0, http: { method, code, url, protocol: 'HTTP/1.1' } } });
    const result = aggregateFlows([...records, http('GET', 200, '/v1/items', 9), http('GET', 404, '/v1/items', 3), http('POST', 200, '/v1/items', 1)], ['http_method', 'http_status_code', 'http_path'], 'packets', undefined);
    expect(result.groups.map((g) => [g.key, g.packets])).toEqual([
      [{ http_method: 'GET', http_status_code: 200, http_path: '/v1/items' }, 9],
      [{ http_method: null, http_status_code: null, http_path: null }, 7],
      [{ http_method: 'GET', http_status_code: 404, http_path: '/v1/items' }, 3],
      [{ http_method: 'POST', http_status_code: 200, http_path: '/v1/items' }, 1],
    ]);
  });

  it('counts groups before the top-N cut', () => {
    expect(aggregateFlows(records, ['source_workload'], 'bytes', 1).groupCount).toBe(3);
  });
});
