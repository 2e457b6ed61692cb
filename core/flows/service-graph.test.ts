import { describe, expect, it } from 'vitest';
import type { FlowEndpoint, FlowRecord } from '../../openapi/types.js';
import { buildServiceGraph, graphNodeOf } from './service-graph.js';

describe('graphNodeOf', () => {
  it.each<{ ep: FlowEndpoint; want: string }>([
    { ep: { identity: 5, namespace: 'shop', pod_name: 'web-1', workloads: [{ name: 'web', kind: 'Deployment' }] }, want: 'east/shop/web' },
    { ep: { identity: 5, namespace: 'shop', pod_name: 'web-1' }, want: 'east/shop/web-1' },
    { ep: { identity: 5, namespace: 'shop' }, want: 'east/shop/identity:5' },
    { ep: { identity: 2, labels: ['reserved:world'] }, want: 'east/reserved:2' },
    { ep: { identity: 5, namespace: 'shop', cluster_name: 'west', pod_name: 'a' }, want: 'west/shop/a' },
  ])('$want', ({ ep, want }) => {
    expect(graphNodeOf(ep, 'east').id).toBe(want);
  });

  it.each<{ ep: FlowEndpoint; names: string[]; want: string }>([
    { ep: { identity: 16777300, labels: ['reserved:world'] }, names: ['github.com.', 'API.github.com'], want: 'east/fqdn:api.github.com' },
    { ep: { identity: 2, labels: ['reserved:world'] }, names: [], want: 'east/reserved:2' },
    { ep: { identity: 5, namespace: 'shop', pod_name: 'web-1' }, names: ['web.shop.svc.cluster.local'], want: 'east/shop/web-1' },
  ])('external names: $want', ({ ep, names, want }) => {
    const node = graphNodeOf(ep, 'east', names);
    expect(node.id).toBe(want);
    expect(node.workload).toBe(want.slice('east/'.length).replace(/^shop\//, ''));
  });
});

describe('buildServiceGraph', () => {
  const rec = (src: string, dst: string, verdict: 'FORWARDED' | 'DROPPED', port: number | undefined, packets: number): FlowRecord => ({
    time: 't',
    cluster: 'c',
    node_name: 'n',
    window: { start: 's', end: 't' },
    flow: {
      source: { identity: 1, namespace: 'ns', pod_name: src },
      destination: { identity: 2, namespace: 'ns', pod_name: dst },
      l4: port === undefined ? { protocol: 'ICMPv4' } : { protocol: 'TCP', destination_port: port },
      traffic_direction: 'INGRESS',
      verdict,
      packets,
      bytes: packets * 10,
      flows: 1,
    },
  });

  it('merges records of a pair into one edge with per-verdict sums and ports', () => {
    const graph = buildServiceGraph([rec('b', 'a', 'FORWARDED', 80, 1), rec('b', 'a', 'DROPPED', 443, 2), rec('a', 'b', 'FORWARDED', undefined, 4)]);
    expect(graph.nodes.map((n) => n.id)).toEqual(['c/ns/a', 'c/ns/b']);
    expect(graph.edges).toEqual([
      { source: 'c/ns/a', destination: 'c/ns/b', packets: 4, bytes: 40, flows: 1, summaries: 1, verdicts: { FORWARDED: { packets: 4, bytes: 40, flows: 1, summaries: 1 } }, ports: ['ICMPv4'] },
      {
        source: 'c/ns/b',
        destination: 'c/ns/a',
        packets: 3,
        bytes: 30,
        flows: 2,
        summaries: 2,
        verdicts: { FORWARDED: { packets: 1, bytes: 10, flows: 1, summaries: 1 }, DROPPED: { packets: 2, bytes: 20, flows: 1, summaries: 1 } },
        ports: ['TCP/443', 'TCP/80'],
      },
    ]);
  });
});
