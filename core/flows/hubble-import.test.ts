import { describe, expect, it } from 'vitest';
import { hashUuid, importHubbleFlows } from './hubble-import.js';

const flow = (over: Record<string, unknown> = {}) => ({
  time: '2026-11-24T10:00:30.5Z',
  verdict: 'FORWARDED',
  IP: { source: '10.0.0.1', destination: '10.0.0.2' },
  l4: { TCP: { source_port: 41000, destination_port: 80, flags: { SYN: true } } },
  source: { identity: 1001, namespace: 'a', pod_name: 'p', labels: ['k8s:z=1', 'k8s:a=1'] },
  destination: { identity: 1002, namespace: 'b', pod_name: 'q' },
  traffic_direction: 'INGRESS',
  node_name: 'kind/worker-1',
  is_reply: false,
  ...over,
});
const line = (over: Record<string, unknown> = {}) => JSON.stringify({ flow: flow(over), node_name: 'kind/worker-1', time: '2026-11-24T10:00:30.5Z' });

describe('importHubbleFlows: one line', () => {
  it.each<{ name: string; text: string; want: Record<string, unknown> | string }>([
    { name: 'TCP SYN opens a flow; node loses its cluster prefix; labels sorted', text: line(), want: { node: 'worker-1', l4: { protocol: 'TCP', destination_port: 80 }, flows: 1, labels: ['k8s:a=1', 'k8s:z=1'] } },
    { name: 'TCP ACK does not', text: line({ l4: { TCP: { destination_port: 80, flags: { ACK: true } } } }), want: { flows: 0 } },
    { name: 'SYN-ACK does not', text: line({ l4: { TCP: { destination_port: 80, flags: { SYN: true, ACK: true } } } }), want: { flows: 0 } },
    { name: 'UDP request opens', text: line({ l4: { UDP: { destination_port: 53 } } }), want: { l4: { protocol: 'UDP', destination_port: 53 }, flows: 1 } },
    { name: 'UDP reply does not', text: line({ l4: { UDP: { destination_port: 53 } }, is_reply: true }), want: { flows: 0 } },
    { name: 'ICMP type as port', text: line({ l4: { ICMPv6: { type: 128 } } }), want: { l4: { protocol: 'ICMPv6', destination_port: 128 } } },
    { name: 'no l4', text: line({ l4: undefined }), want: { l4: { protocol: 'OTHER' } } },
    { name: 'a bare flow object', text: JSON.stringify(flow()), want: { node: 'worker-1' } },
    { name: 'drop reason kept for DROPPED', text: line({ verdict: 'DROPPED', drop_reason_desc: 'CT_MAP_INSERTION_FAILED' }), want: { drop_reason_desc: 'CT_MAP_INSERTION_FAILED' } },
    { name: 'string identities (jsonpb uint64 style)', text: line({ source: { identity: '7' } }), want: { identity: 7 } },
    { name: 'ERROR verdict', text: line({ verdict: 'ERROR' }), want: 'verdict ERROR is not imported' },
    { name: 'unknown direction', text: line({ traffic_direction: 'TRAFFIC_DIRECTION_UNKNOWN' }), want: 'traffic direction TRAFFIC_DIRECTION_UNKNOWN is not imported' },
    { name: 'not JSON', text: '{oops', want: 'not JSON' },
    { name: 'no flow', text: '{"node_status":{}}', want: 'no flow' },
    { name: 'no time', text: JSON.stringify({ flow: flow({ time: undefined }) }), want: 'no valid time' },
  ])('$name', ({ text, want }) => {
    const result = importHubbleFlows(text, 'c', 60);
    if (typeof want === 'string') {
      expect(result.skipped).toEqual([{ line: 1, reason: want }]);
      return;
    }
    expect(result.skipped).toEqual([]);
    const batch = result.batches[0]!;
    const s = batch.summaries[0]!;
    const seen = { node: batch.node, l4: s.l4, flows: s.flows, labels: s.source.labels, drop_reason_desc: s.drop_reason_desc, identity: s.source.identity };
    expect(seen).toMatchObject(want);
    expect(batch.window).toEqual({ start: '2026-11-24T10:00:00.000Z', end: '2026-11-24T10:01:00.000Z' });
  });
});

describe('importHubbleFlows: grouping', () => {
  it('sums identical events of a window, splits windows and nodes, keeps first/last seen', () => {
    const text = [
      line({ time: '2026-11-24T10:00:10Z' }),
      line({ time: '2026-11-24T10:00:50Z', l4: { TCP: { destination_port: 80, flags: { ACK: true } } } }),
      line({ time: '2026-11-24T10:01:10Z' }),
      JSON.stringify({ flow: flow({ time: '2026-11-24T10:00:20Z' }), node_name: 'kind/worker-2' }),
    ].join('\n');
    const result = importHubbleFlows(text, 'c', 60);
    expect(result.batches.map((b) => [b.node, b.window.start, b.summaries.length, b.summaries[0]!.packets, b.summaries[0]!.flows])).toEqual([
      ['worker-1', '2026-11-24T10:00:00.000Z', 1, 2, 1],
      ['worker-2', '2026-11-24T10:00:00.000Z', 1, 1, 1],
      ['worker-1', '2026-11-24T10:01:00.000Z', 1, 1, 1],
    ]);
    expect(result.batches[0]!.summaries[0]).toMatchObject({ first_seen: '2026-11-24T10:00:10.000Z', last_seen: '2026-11-24T10:00:50.000Z', bytes: 0 });
  });

  it('gives the same batch ids for the same lines, other ids for other clusters', () => {
    const text = [line(), line({ verdict: 'DROPPED' })].join('\n');
    expect(importHubbleFlows(text, 'c', 60).batches.map((b) => b.batchId)).toEqual(importHubbleFlows(text, 'c', 60).batches.map((b) => b.batchId));
    expect(importHubbleFlows(text, 'c', 60).batches[0]!.batchId).not.toBe(importHubbleFlows(text, 'd', 60).batches[0]!.batchId);
    expect(hashUuid('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe('importHubbleFlows: values the FlowSummary contract rejects', () => {
  it.each([
    { name: 'destination port 70000', text: line({ l4: { UDP: { destination_port: 70000 } } }), pointer: '/0/flow/l4/UDP/destination_port', rule: 'maximum' },
    { name: 'ICMPv6 type 65536', text: line({ l4: { ICMPv6: { type: 65536 } } }), pointer: '/0/flow/l4/ICMPv6/type', rule: 'maximum' },
    { name: 'identity 99999999999', text: line({ destination: { identity: 99999999999 } }), pointer: '/0/flow/destination/identity', rule: 'maximum' },
    { name: 'identity 1.5', text: line({ source: { identity: 1.5 } }), pointer: '/0/flow/source/identity', rule: 'type' },
    { name: 'a label over 512 characters', text: line({ source: { identity: 1, labels: ['k8s:a=1', `k8s:b=${'x'.repeat(600)}`] } }), pointer: '/0/flow/source/labels', rule: 'maxLength' },
    { name: 'a DNS name over 255 characters', text: line({ destination_names: ['d'.repeat(300)] }), pointer: '/0/flow/destination_names', rule: 'maxLength' },
    { name: 'an IP over 45 characters', text: line({ IP: { source: '1'.repeat(50) } }), pointer: '/0/flow/IP/source', rule: 'maxLength' },
    { name: 'a 5,000-character node name (response envelope)', text: JSON.stringify({ flow: flow(), node_name: `kind/${'n'.repeat(5000)}` }), pointer: '/0/node_name', rule: 'maxLength' },
    { name: 'an upper-case node name (bare flow)', text: JSON.stringify(flow({ node_name: 'kind/Worker-1' })), pointer: '/0/node_name', rule: 'pattern' },
    { name: 'the third line of three', text: [line(), '', line({ l4: { TCP: { destination_port: 65536 } } })].join('\n'), pointer: '/2/flow/l4/TCP/destination_port', rule: 'maximum' },
  ])('$name → $pointer ($rule), no batches', ({ text, pointer, rule }) => {
    const result = importHubbleFlows(text, 'c', 60);
    expect(result.errors).toContainEqual(expect.objectContaining({ pointer, rule }));
    expect(result.invalidLines).toBe(1);
    expect(result.batches).toEqual([]);
    expect(result.imported).toBe(0);
  });

  it('reports at most 100 errors and counts every invalid line', () => {
    const result = importHubbleFlows(Array.from({ length: 150 }, () => line({ l4: { TCP: { destination_port: 70000 } } })).join('\n'), 'c', 60);
    expect(result.errors).toHaveLength(100);
    expect(result.invalidLines).toBe(150);
    expect(result.errors[0]!.message).toMatch(/^line 1: /);
  });
});

describe('importHubbleFlows: times', () => {
  it('a time past year 9999 is rejected at the field it came from', () => {
    const result = importHubbleFlows(JSON.stringify({ flow: flow({ time: '+275760-09-13T00:00:00Z' }) }), 'c', 60);
    expect(result.errors).toEqual([{ pointer: '/0/flow/time', message: 'line 1: must be a date-time from year 0000 to 9999', rule: 'format' }]);
  });
});
