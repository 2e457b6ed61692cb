import { describe, expect, it } from 'vitest';
import type { FlowSummary } from '../../../openapi/types.js';
import { encodeAll, FlowRecordView, LAYOUTS, writeFlowKey, writeFlowValue, type FlowRecord } from '../kernel/codecs.js';

/** The records as the kernel read hands them to the agent: buffers behind a FlowRecordView. */
function viewOf(records: FlowRecord[]): FlowRecordView {
  return new FlowRecordView(encodeAll(records, LAYOUTS.flowKey.size, writeFlowKey), encodeAll(records, LAYOUTS.flowValue.size, writeFlowValue), records.length);
}
import { Direction, FlowDropReason, FlowVerdict, IpProto } from '../kernel/identities.js';
import { aggregateFlows, formatLabels, monotonicToWallClock, type AggregateContext, type IdentityInfo } from './aggregate-flows.js';

const WEB = 300;
const API = 301;
const ctx: AggregateContext = {
  clusterName: 'prod-east',
  rule: (id) => ({ 11: { policy: 'web-allow-api', generation: 3 }, 12: { policy: 'web-allow-api', generation: 3 }, 21: { policy: 'deny-db', generation: 1 } })[id],
  identity: (id) =>
    (<Record<number, IdentityInfo>>{
      [WEB]: { labels: { app: 'web' }, namespace: 'shop', pods: ['web-7d9f-abc'], workloads: [{ name: 'web', kind: 'Deployment' }] },
      [API]: { labels: { app: 'api', 'io.kubernetes.pod.namespace': 'shop' }, namespace: 'shop', pods: ['api-1', 'api-2'] },
    })[id],
  monotonicToWallMs: (ns) => Date.parse('2026-01-01T00:00:00Z') + ns / 1e6,
};

const rec = (r: Partial<FlowRecord>): FlowRecord => ({
  localId: WEB,
  peerId: API,
  ruleId: 0,
  dport: 8080,
  proto: IpProto.tcp,
  direction: Direction.ingress,
  verdict: FlowVerdict.forwarded,
  packets: 1,
  bytes: 100,
  flows: 0,
  firstSeenNs: 1_000_000,
  lastSeenNs: 2_000_000,
  ipVersion: 4,
  dropReason: FlowDropReason.policy,
  ...r,
});
const V4 = { ipVersion: 'IPv4' as const };

const web = { identity: WEB, cluster_name: 'prod-east', namespace: 'shop', pod_name: 'web-7d9f-abc', labels: ['k8s:app=web'], workloads: [{ name: 'web', kind: 'Deployment' }] };
const api = { identity: API, cluster_name: 'prod-east', namespace: 'shop', labels: ['k8s:app=api', 'k8s:io.kubernetes.pod.namespace=shop'] };

describe('aggregateFlows', () => {
  it.each([
    {
      name: 'ingress forwarded by an allow rule: source = peer, destination = local, policy attributed',
      given: [rec({ ruleId: 11, packets: 5, bytes: 500, flows: 1 })],
      want: [{ source: api, destination: web, IP: V4, l4: { protocol: 'TCP', destination_port: 8080 }, traffic_direction: 'INGRESS', verdict: 'FORWARDED', policy: { name: 'web-allow-api', revision: 3 }, packets: 5, bytes: 500, flows: 1 }],
    },
    {
      name: 'egress dropped by default deny: POLICY_DENIED, no policy',
      given: [rec({ direction: Direction.egress, verdict: FlowVerdict.dropped, dport: 53, proto: IpProto.udp, packets: 2, bytes: 140, flows: 2 })],
      want: [{ source: web, destination: api, IP: V4, l4: { protocol: 'UDP', destination_port: 53 }, traffic_direction: 'EGRESS', verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', packets: 2, bytes: 140, flows: 2 }],
    },
    {
      name: 'dropped by a deny rule: POLICY_DENY with the deny policy',
      given: [rec({ verdict: FlowVerdict.dropped, ruleId: 21, flows: 1 })],
      want: [{ source: api, destination: web, IP: V4, l4: { protocol: 'TCP', destination_port: 8080 }, traffic_direction: 'INGRESS', verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENY', policy: { name: 'deny-db', revision: 1 }, packets: 1, bytes: 100, flows: 1 }],
    },
    {
      name: 'audit (would drop, default deny)',
      given: [rec({ verdict: FlowVerdict.audit, flows: 1 })],
      want: [{ source: api, destination: web, IP: V4, l4: { protocol: 'TCP', destination_port: 8080 }, traffic_direction: 'INGRESS', verdict: 'AUDIT', drop_reason_desc: 'POLICY_DENIED', packets: 1, bytes: 100, flows: 1 }],
    },
    {
      name: 'reply (counted on the egress hook) folds into the ingress connection, inherits its policy, adds no flows',
      given: [rec({ ruleId: 11, packets: 3, bytes: 300, flows: 1 }), rec({ direction: Direction.egress, verdict: FlowVerdict.reply, packets: 2, bytes: 1000, flows: 0 })],
      want: [{ source: api, destination: web, IP: V4, l4: { protocol: 'TCP', destination_port: 8080 }, traffic_direction: 'INGRESS', verdict: 'FORWARDED', policy: { name: 'web-allow-api', revision: 3 }, packets: 5, bytes: 1300, flows: 1 }],
    },
    {
      name: 'reply without its request in the window: FORWARDED of the original key, no policy',
      given: [rec({ direction: Direction.egress, verdict: FlowVerdict.reply, packets: 2, bytes: 200 })],
      want: [{ source: api, destination: web, IP: V4, l4: { protocol: 'TCP', destination_port: 8080 }, traffic_direction: 'INGRESS', verdict: 'FORWARDED', packets: 2, bytes: 200, flows: 0 }],
    },
    {
      name: 'two rules of one policy merge into one summary',
      given: [rec({ ruleId: 11, packets: 1, bytes: 10, flows: 1 }), rec({ ruleId: 12, packets: 2, bytes: 20, flows: 1 })],
      want: [{ source: api, destination: web, IP: V4, l4: { protocol: 'TCP', destination_port: 8080 }, traffic_direction: 'INGRESS', verdict: 'FORWARDED', policy: { name: 'web-allow-api', revision: 3 }, packets: 3, bytes: 30, flows: 2 }],
    },
    {
      name: 'world peer and ICMP echo (port = type)',
      given: [rec({ peerId: 2, proto: IpProto.icmp, dport: 8, direction: Direction.egress })],
      want: [{ source: web, destination: { identity: 2, labels: ['reserved:world'] }, IP: V4, l4: { protocol: 'ICMPv4', destination_port: 8 }, traffic_direction: 'EGRESS', verdict: 'FORWARDED', packets: 1, bytes: 100, flows: 0 }],
    },
    {
      name: 'unknown identity and other protocol',
      given: [rec({ peerId: 999, proto: 47, dport: 0 })],
      want: [{ source: { identity: 999 }, destination: web, IP: V4, l4: { protocol: 'OTHER' }, traffic_direction: 'INGRESS', verdict: 'FORWARDED', packets: 1, bytes: 100, flows: 0 }],
    },
  ])('$name', ({ given, want }) => {
    const got = aggregateFlows(given, ctx).map(({ first_seen, last_seen, ...rest }) => rest);
    expect(got).toEqual(want);
    // The agent's form (one reused object per visit) aggregates to the same summaries.
    expect(aggregateFlows(viewOf(given), ctx)).toEqual(aggregateFlows(given, ctx));
  });

  describe('IPv6, addresses and drop reasons', () => {
    const DB = 302;
    const MULTI = 303;
    const ctx6: AggregateContext = {
      ...ctx,
      rule: (id) => (id === 13 ? { policy: 'v6-allow', generation: 1 } : ctx.rule(id)),
      identity: (id) =>
        (<Record<number, IdentityInfo>>{
          [DB]: { labels: { app: 'db' }, namespace: 'shop', pods: ['db-0'], ips: ['10.0.2.9', 'fd00::2:9'] },
          [MULTI]: { labels: { app: 'multi' }, namespace: 'shop', pods: ['multi-0'], ips: ['fd00::3:1', '10.0.3.1', 'fd00::3:2'] },
          [API]: { labels: { app: 'api' }, namespace: 'shop', pods: ['api-1', 'api-2'], ips: ['10.0.1.1', '10.0.1.2', 'fd00::1:1', 'fd00::1:2'] },
        })[id],
    };
    const run = (records: FlowRecord[]) => aggregateFlows(records, ctx6).map(({ first_seen, last_seen, ...rest }) => rest);

    it.each<{ name: string; given: FlowRecord[]; want: Partial<FlowSummary>[] }>([
      {
        name: 'v6 egress: IPv6, the single pod\'s v6 address; a peer of two pods gets none',
        given: [rec({ localId: DB, peerId: API, ipVersion: 6, direction: Direction.egress })],
        want: [{ IP: { source: 'fd00::2:9', ipVersion: 'IPv6' }, traffic_direction: 'EGRESS' }],
      },
      {
        name: 'v4 ingress to a single pod: its v4 address as destination',
        given: [rec({ localId: DB, peerId: 2 })],
        want: [{ IP: { destination: '10.0.2.9', ipVersion: 'IPv4' }, traffic_direction: 'INGRESS' }],
      },
      {
        name: 'two addresses of the version: no address; one of the other: that one',
        given: [rec({ localId: MULTI, peerId: 2, ipVersion: 6, packets: 1 }), rec({ localId: MULTI, peerId: 2, ipVersion: 4, packets: 2 })],
        want: [{ IP: { ipVersion: 'IPv6' }, packets: 1 }, { IP: { destination: '10.0.3.1', ipVersion: 'IPv4' }, packets: 2 }],
      },
      {
        name: 'records of different IP versions never merge',
        given: [rec({ ipVersion: 4, packets: 1 }), rec({ ipVersion: 6, packets: 2 })],
        want: [{ IP: { ipVersion: 'IPv4' }, packets: 1 }, { IP: { ipVersion: 'IPv6' }, packets: 2 }],
      },
      {
        name: 'ICMPv6 echo request: protocol ICMPv6, port = type',
        given: [rec({ ipVersion: 6, proto: IpProto.icmpv6, dport: 128 })],
        want: [{ IP: { ipVersion: 'IPv6' }, l4: { protocol: 'ICMPv6', destination_port: 128 } }],
      },
      {
        name: 'conntrack insert failure: CT_MAP_INSERTION_FAILED, no policy even with an allow rule',
        given: [rec({ verdict: FlowVerdict.dropped, dropReason: FlowDropReason.ctInsertFailed, ruleId: 11, flows: 1 })],
        want: [{ verdict: 'DROPPED', drop_reason_desc: 'CT_MAP_INSERTION_FAILED', flows: 1 }],
      },
      {
        name: 'unparseable v6 extension header chain: INVALID_IPV6_EXTENSION_HEADER',
        given: [rec({ ipVersion: 6, proto: 0, dport: 0, verdict: FlowVerdict.dropped, dropReason: FlowDropReason.invalidExtensionHeader })],
        want: [{ IP: { ipVersion: 'IPv6' }, l4: { protocol: 'OTHER' }, verdict: 'DROPPED', drop_reason_desc: 'INVALID_IPV6_EXTENSION_HEADER' }],
      },
      {
        name: 'neither IPv4 nor IPv6: UNSUPPORTED_L3_PROTOCOL without IP',
        given: [rec({ localId: DB, ipVersion: 0, proto: 0, dport: 0, verdict: FlowVerdict.dropped, dropReason: FlowDropReason.unsupportedL3 })],
        want: [{ l4: { protocol: 'OTHER' }, verdict: 'DROPPED', drop_reason_desc: 'UNSUPPORTED_L3_PROTOCOL' }],
      },
      {
        name: 'a v6 reply takes the policy of the v6 request, not of the v4 one',
        given: [rec({ ruleId: 11, flows: 1 }), rec({ ipVersion: 6, ruleId: 13, flows: 1 }), rec({ ipVersion: 6, direction: Direction.egress, verdict: FlowVerdict.reply, packets: 4 })],
        want: [{ IP: { ipVersion: 'IPv4' }, policy: { name: 'web-allow-api', revision: 3 }, packets: 1 }, { IP: { ipVersion: 'IPv6' }, policy: { name: 'v6-allow', revision: 1 }, packets: 5 }],
      },
    ])('$name', ({ given, want }) => {
      const got = run(given);
      expect(got).toHaveLength(want.length);
      want.forEach((w, i) => expect(got[i]).toMatchObject(w));
      for (const [i, w] of want.entries()) {
        expect(got[i]!.IP).toEqual('IP' in w ? w.IP : w.drop_reason_desc === 'UNSUPPORTED_L3_PROTOCOL' ? undefined : { ipVersion: 'IPv4' });
        expect(got[i]!.policy).toEqual(w.policy);
      }
    });
  });

  describe('names of FQDN identities (IdentityInfo.names)', () => {
    const GITHUB = 16_777_300;
    const ctxNames: AggregateContext = {
      ...ctx,
      identity: (id) =>
        id === GITHUB
          ? { labels: ['fqdn:api.github.com', 'reserved:world'], names: ['API.GitHub.com.', 'github.com', 'api.github.com', ...Array.from({ length: 20 }, (_, i) => `n${String(i).padStart(2, '0')}.example.com`)] }
          : ctx.identity(id),
    };

    it('egress to a learned address: destination_names, lower case without the trailing dot, deduplicated, sorted, at most 16', () => {
      const [got] = aggregateFlows([rec({ peerId: GITHUB, direction: Direction.egress, dport: 443, flows: 1 })], ctxNames);
      expect(got!.destination_names).toEqual(['api.github.com', 'github.com', ...Array.from({ length: 14 }, (_, i) => `n${String(i).padStart(2, '0')}.example.com`)]);
      expect(got!.source_names).toBeUndefined();
      expect(got!.destination).toMatchObject({ identity: GITHUB, labels: ['fqdn:api.github.com', 'reserved:world'] });
    });

    it('ingress from a learned address: source_names; the local side never gets names', () => {
      const [got] = aggregateFlows([rec({ peerId: GITHUB, direction: Direction.ingress })], ctxNames);
      expect(got!.source_names).toHaveLength(16);
      expect(got!.destination_names).toBeUndefined();
    });

    it('peers without names get no *_names', () => {
      const [got] = aggregateFlows([rec({ direction: Direction.egress })], ctxNames);
      expect(got).not.toHaveProperty('destination_names');
      expect(got).not.toHaveProperty('source_names');
    });
  });

  it('first/last seen: min/max over merged records, monotonic ns → wall clock', () => {
    const got = aggregateFlows([rec({ firstSeenNs: 5e9, lastSeenNs: 6e9 }), rec({ direction: Direction.egress, verdict: FlowVerdict.reply, firstSeenNs: 4e9, lastSeenNs: 7e9 })], ctx);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ first_seen: '2026-01-01T00:00:04.000Z', last_seen: '2026-01-01T00:00:07.000Z' });
  });

  it('sums are preserved exactly over a random mix', () => {
    const records: FlowRecord[] = [];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 500; i++) {
      records.push(rec({ localId: [WEB, API][rnd(2)]!, peerId: [WEB, API, 2, 999][rnd(4)]!, ruleId: [0, 11, 12, 21][rnd(4)]!, dport: rnd(3), direction: rnd(2) as 0 | 1, verdict: (1 + rnd(4)) as 1 | 2 | 3 | 4, packets: rnd(1000), bytes: rnd(100000), flows: rnd(5) }));
    }
    const got = aggregateFlows(records, ctx);
    const sum = (xs: { packets: number; bytes: number }[]) => xs.reduce((a, x) => [a[0]! + x.packets, a[1]! + x.bytes], [0, 0]);
    expect(sum(got)).toEqual(sum(records));
    expect(got.reduce((a, s) => a + s.flows, 0)).toBe(records.filter((r) => r.verdict !== FlowVerdict.reply).reduce((a, r) => a + r.flows, 0));
  });

  it('formatLabels keeps sources and prefixes k8s', () => {
    expect(formatLabels({ b: '2', a: '1' })).toEqual(['k8s:a=1', 'k8s:b=2']);
    expect(formatLabels(['reserved:host', 'app=x'])).toEqual(['k8s:app=x', 'reserved:host']);
  });

  it('monotonic clock conversion matches process.hrtime', () => {
    const conv = monotonicToWallClock();
    const ns = Number(process.hrtime.bigint());
    expect(Math.abs(conv(ns) - Date.now())).toBeLessThan(50);
  });
});
