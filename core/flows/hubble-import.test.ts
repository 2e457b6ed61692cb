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
    { name: 'not JSON', text: '{oops', want: 'not JSON' },
    { name: 'node status', text: '{"node_status":{}}', want: 'not a flow: node_status' },
    { name: 'lost events', text: '{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"3"}}', want: 'not a flow: lost_events' },
    { name: 'no flow', text: '{"hello":1}', want: 'no flow' },
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

/** The one summary (and its node) an import of `lines` gives; fails when lines were skipped or rejected. */
function only(...lines: string[]) {
  const result = importHubbleFlows(lines.join('\n'), 'c', 60);
  expect(result.skipped).toEqual([]);
  expect(result.errors).toEqual([]);
  expect(result.batches).toHaveLength(1);
  expect(result.batches[0]!.summaries).toHaveLength(1);
  return { node: result.batches[0]!.node, summary: result.batches[0]!.summaries[0]! };
}
const T = '2026-11-24T10:00:30.500Z';
const seen = { first_seen: T, last_seen: T };

describe('importHubbleFlows: the shapes Hubble writes (issue 10 item 9)', () => {
  it('a field-masked exporter line (time, verdict, direction, pod names, l4 only): identity 0 (unknown), no IP', () => {
    const masked = { flow: { time: T, verdict: 'FORWARDED', traffic_direction: 'EGRESS', source: { namespace: 'a', pod_name: 'p' }, destination: { namespace: 'b', pod_name: 'q' }, l4: { UDP: { destination_port: 53 } } }, node_name: 'prod/worker-1', time: T };
    expect(only(JSON.stringify(masked))).toEqual({
      node: 'worker-1',
      summary: { source: { identity: 0, namespace: 'a', pod_name: 'p' }, destination: { identity: 0, namespace: 'b', pod_name: 'q' }, l4: { protocol: 'UDP', destination_port: 53 }, traffic_direction: 'EGRESS', verdict: 'FORWARDED', packets: 1, bytes: 0, flows: 1, ...seen },
    });
  });

  it('a masked line with only time and verdict in the flow: node and time from the envelope, l4 OTHER', () => {
    expect(only(JSON.stringify({ flow: { verdict: 'DROPPED', traffic_direction: 'INGRESS' }, node_name: 'w', time: T })).summary).toEqual({
      source: { identity: 0 }, destination: { identity: 0 }, l4: { protocol: 'OTHER' }, traffic_direction: 'INGRESS', verdict: 'DROPPED', packets: 1, bytes: 0, flows: 1, ...seen,
    });
  });

  it.each([
    { name: 'absent', over: { traffic_direction: undefined } },
    { name: 'TRAFFIC_DIRECTION_UNKNOWN', over: { traffic_direction: 'TRAFFIC_DIRECTION_UNKNOWN' } },
    { name: '0 (enum number)', over: { traffic_direction: 0 } },
    { name: 'both directions attributed', over: { traffic_direction: undefined, ingress_allowed_by: [{ name: 'a', revision: 1 }], egress_allowed_by: [{ name: 'b', revision: 1 }] } },
  ])('unknown direction ($name): kept as TRAFFIC_DIRECTION_UNKNOWN, as Hubble keeps it, without a policy', ({ over }) => {
    const result = importHubbleFlows([line(over), line(over), line()].join('\n'), 'c', 60);
    expect(result.skipped).toEqual([]);
    expect(result.imported).toBe(3);
    const directions = result.batches.flatMap((b) => b.summaries).map((s) => s.traffic_direction).sort();
    expect(directions).toContain('TRAFFIC_DIRECTION_UNKNOWN');
    for (const s of result.batches.flatMap((b) => b.summaries)) if (s.traffic_direction === 'TRAFFIC_DIRECTION_UNKNOWN') expect(s.policy).toBeUndefined();
  });

  it('no direction, but attributed by an egress policy: EGRESS, with that policy', () => {
    const { summary } = only(line({ traffic_direction: undefined, egress_allowed_by: [{ name: 'allow-dns', namespace: 'a', labels: ['k8s:io.cilium.k8s.policy.name=allow-dns'], revision: '12', kind: 'CiliumNetworkPolicy' }] }));
    expect(summary.traffic_direction).toBe('EGRESS');
    expect(summary.policy).toEqual({ name: 'a.allow-dns', revision: 12 });
  });

  it.each([
    { name: 'is_reply true', over: { is_reply: true } },
    { name: 'is_reply as a BoolValue message', over: { is_reply: { value: true } } },
    { name: 'isReply (JSON name)', over: { is_reply: undefined, isReply: true } },
    { name: 'deprecated reply without is_reply', over: { is_reply: undefined, reply: true } },
  ])('a reply ($name) counts a packet, opens no flow, and merges with its request', ({ over }) => {
    const request = line({ l4: { UDP: { destination_port: 53 } } });
    const reply = line({ l4: { UDP: { source_port: 41000, destination_port: 53 } }, ...over });
    expect(only(reply).summary).toMatchObject({ packets: 1, flows: 0 });
    expect(only(request, reply).summary).toMatchObject({ packets: 2, flows: 1 });
  });

  it('is_reply false in a wrapper still opens', () => {
    expect(only(line({ l4: { UDP: { destination_port: 53 } }, is_reply: { value: false } })).summary.flows).toBe(1);
  });

  it('IPv6: addresses and ipVersion kept (name or enum number)', () => {
    const ip = { source: 'fd00:10::5', destination: 'fd00:10::9' };
    expect(only(line({ IP: { ...ip, ipVersion: 'IPv6' } })).summary.IP).toEqual({ ...ip, ipVersion: 'IPv6' });
    expect(only(line({ IP: { ...ip, ipVersion: 2 } })).summary.IP).toEqual({ ...ip, ipVersion: 'IPv6' });
    expect(only(line({ IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' } })).summary.IP).toEqual({ source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' });
  });

  it('no IP at all: no IP in the summary', () => {
    expect(only(line({ IP: undefined })).summary).not.toHaveProperty('IP');
  });

  it('ICMPv6 echo request and reply: type as port, IPv6 implied without ipVersion, the reply opens nothing', () => {
    const request = only(line({ IP: { source: 'fd00::1', destination: 'fd00::2' }, l4: { ICMPv6: { type: 128, code: 0 } } })).summary;
    expect(request).toEqual({
      source: { identity: 1001, namespace: 'a', pod_name: 'p', labels: ['k8s:a=1', 'k8s:z=1'] },
      destination: { identity: 1002, namespace: 'b', pod_name: 'q' },
      IP: { source: 'fd00::1', destination: 'fd00::2', ipVersion: 'IPv6' },
      l4: { protocol: 'ICMPv6', destination_port: 128 },
      traffic_direction: 'INGRESS', verdict: 'FORWARDED', packets: 1, bytes: 0, flows: 1, ...seen,
    });
    expect(only(line({ IP: undefined, l4: { ICMPv6: { type: 129 } }, is_reply: true })).summary).toMatchObject({ IP: { ipVersion: 'IPv6' }, l4: { protocol: 'ICMPv6', destination_port: 129 }, flows: 0 });
  });

  it('L7 records: events of their L4 tuple that open no connection (HTTP request, DNS over UDP, an L7 denial)', () => {
    const http = only(line({ Type: 'L7', l4: { TCP: { source_port: 41000, destination_port: 8080 } }, l7: { type: 'REQUEST', http: { method: 'GET', url: 'http://api/x', protocol: 'HTTP/1.1' } } })).summary;
    expect(http).toEqual({
      source: { identity: 1001, namespace: 'a', pod_name: 'p', labels: ['k8s:a=1', 'k8s:z=1'] },
      destination: { identity: 1002, namespace: 'b', pod_name: 'q' },
      IP: { source: '10.0.0.1', destination: '10.0.0.2' },
      l4: { protocol: 'TCP', destination_port: 8080 },
      traffic_direction: 'INGRESS', verdict: 'FORWARDED', packets: 1, bytes: 0, flows: 0, ...seen,
    });
    // A UDP L3/L4 event opens a flow; the DNS L7 record of the same query does not (no double count).
    const dnsEvent = line({ traffic_direction: 'EGRESS', l4: { UDP: { destination_port: 53 } } });
    const dnsRecord = line({ traffic_direction: 'EGRESS', Type: 2, l4: { UDP: { destination_port: 53 } }, l7: { type: 'REQUEST', dns: { query: 'api.example.com.' } } });
    expect(only(dnsEvent, dnsRecord).summary).toMatchObject({ l4: { protocol: 'UDP', destination_port: 53 }, packets: 2, flows: 1 });
    const denied = line({ verdict: 'DROPPED', l4: { TCP: { destination_port: 80 } }, l7: { type: 'REQUEST', http: { method: 'DELETE' } }, ingress_denied_by: [{ name: 'no-delete', namespace: 'b', revision: 3 }] });
    expect(only(denied).summary).toMatchObject({ verdict: 'DROPPED', flows: 0, policy: { name: 'b.no-delete', revision: 3 } });
  });

  it.each([
    { name: 'FORWARDED ingress → ingress_allowed_by[0] (namespaced: <namespace>.<name>)', over: { ingress_allowed_by: [{ name: 'allow-web', namespace: 'b', labels: ['k8s:io.cilium.k8s.policy.name=allow-web'], revision: '7', kind: 'CiliumNetworkPolicy' }, { name: 'other', namespace: 'b', revision: 7 }] }, want: { name: 'b.allow-web', revision: 7 } },
    { name: 'DROPPED egress → egress_denied_by[0] (cluster-wide: <name>)', over: { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENY', traffic_direction: 'EGRESS', egress_denied_by: [{ name: 'deny-world', revision: 4, kind: 'CiliumClusterwideNetworkPolicy' }] }, want: { name: 'deny-world', revision: 4 } },
    { name: 'AUDIT ingress → ingress_denied_by[0]', over: { verdict: 'AUDIT', ingress_denied_by: [{ name: 'lockdown', namespace: 'b', revision: 9 }] }, want: { name: 'b.lockdown', revision: 9 } },
    { name: 'JSON names (ingressAllowedBy)', over: { ingressAllowedBy: [{ name: 'allow-web', namespace: 'b', revision: '2' }] }, want: { name: 'b.allow-web', revision: 2 } },
    { name: 'the other direction’s list is not used', over: { egress_allowed_by: [{ name: 'x', revision: 1 }] }, want: undefined },
    { name: 'a denial list on a FORWARDED flow is not used', over: { ingress_denied_by: [{ name: 'x', revision: 1 }] }, want: undefined },
    { name: 'no revision (FlowPolicyRef requires one ≥ 1)', over: { ingress_allowed_by: [{ name: 'allow-web', namespace: 'b' }] }, want: undefined },
    { name: 'no name', over: { ingress_allowed_by: [{ namespace: 'b', revision: 3 }] }, want: undefined },
  ])('policy attribution: $name', ({ over, want }) => {
    expect(only(line(over)).summary.policy).toEqual(want);
  });

  it('a policy name that is not a ResourceName rejects the import, pointing at the attribution', () => {
    const result = importHubbleFlows(line({ ingress_allowed_by: [{ name: 'Allow_Web', namespace: 'b', revision: 1 }] }), 'c', 60);
    expect(result.errors).toContainEqual(expect.objectContaining({ pointer: '/0/flow/ingress_allowed_by/0', rule: 'pattern' }));
    expect(result.batches).toEqual([]);
  });

  it('a jsonpb line with lowerCamelCase JSON names and enum numbers reads like the proto-name one', () => {
    const camelFlow = {
      time: T, verdict: 2, dropReasonDesc: 'POLICY_DENIED', trafficDirection: 'EGRESS', isReply: false, nodeName: 'kind/worker-1',
      IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
      l4: { TCP: { sourcePort: 41000, destinationPort: 443, flags: { SYN: true } } },
      source: { identity: 1001, namespace: 'a', podName: 'p', clusterName: 'prod', workloads: [{ name: 'web', kind: 'Deployment' }] },
      destination: { identity: 2, labels: ['reserved:world'] }, destinationNames: ['api.example.com'],
    };
    const snakeFlow = {
      time: T, verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', traffic_direction: 'EGRESS', is_reply: false, node_name: 'kind/worker-1',
      IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 41000, destination_port: 443, flags: { SYN: true } } },
      source: { identity: 1001, namespace: 'a', pod_name: 'p', cluster_name: 'prod', workloads: [{ name: 'web', kind: 'Deployment' }] },
      destination: { identity: 2, labels: ['reserved:world'] }, destination_names: ['api.example.com'],
    };
    const want = {
      source: { identity: 1001, cluster_name: 'prod', namespace: 'a', pod_name: 'p', workloads: [{ name: 'web', kind: 'Deployment' }] },
      destination: { identity: 2, labels: ['reserved:world'] },
      IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
      l4: { protocol: 'TCP', destination_port: 443 },
      traffic_direction: 'EGRESS', verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', destination_names: ['api.example.com'],
      packets: 1, bytes: 0, flows: 1, ...seen,
    };
    expect(only(JSON.stringify(camelFlow))).toEqual({ node: 'worker-1', summary: want });
    expect(only(JSON.stringify(snakeFlow))).toEqual({ node: 'worker-1', summary: want });
    expect(importHubbleFlows(JSON.stringify(camelFlow), 'c', 60).batches[0]!.batchId).toBe(importHubbleFlows(JSON.stringify(snakeFlow), 'c', 60).batches[0]!.batchId);
  });

  it('errors in a camelCase line point at the keys as sent', () => {
    const result = importHubbleFlows(JSON.stringify({ flow: { time: T, verdict: 'FORWARDED', trafficDirection: 'INGRESS', l4: { TCP: { destinationPort: 70000 } }, source: { identity: 1, podName: 'p'.repeat(300) } }, nodeName: 'w' }), 'c', 60);
    expect(result.errors.map((e) => e.pointer).sort()).toEqual(['/0/flow/l4/TCP/destinationPort', '/0/flow/source/podName']);
  });

  it('every skipped line is counted under its reason', () => {
    const text = [
      '{oops',
      line({ verdict: 'TRACED' }),
      line({ verdict: 'TRACED' }),
      line({ verdict: 6 }),
      '{"lost_events":{"num_events_lost":"4"}}',
      JSON.stringify({ flow: flow({ node_name: undefined }) }),
      line(),
    ].join('\n');
    const result = importHubbleFlows(text, 'c', 60);
    expect(result.skippedByReason).toEqual({
      'not JSON': 1,
      'verdict TRACED is not imported': 3,
      'not a flow: lost_events': 1,
      'no node_name': 1,
    });
    expect(result.skipped.map((s) => s.line)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.imported).toBe(1);
  });
});
