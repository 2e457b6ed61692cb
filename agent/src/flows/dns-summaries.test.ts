import { describe, expect, it } from 'vitest';
import { createSchemaValidator } from '../../../core/schema/compile-schema-validator.js';
import type { FlowSummary } from '../../../openapi/types.js';
import { aggregateFlows, type AggregateContext, type IdentityInfo } from './aggregate-flows.js';
import { DNS_OVERFLOW_QUERY, dnsSummaries, hubbleQueryName, rcodeNumber, type DnsQueryRecord } from './dns-summaries.js';
import { Direction, FlowDropReason, FlowVerdict, IpProto } from '../kernel/identities.js';
import type { FlowRecord } from '../kernel/codecs.js';

const WEB = 300;
const DNS = 400;
const T0 = Date.parse('2026-11-30T10:00:00Z');
const ctx: Omit<AggregateContext, 'monotonicToWallMs'> = {
  clusterName: 'prod-east',
  rule: (id) => ({ 31: { policy: 'web-dns', generation: 2 } })[id],
  identity: (id) =>
    (<Record<number, IdentityInfo>>{
      [WEB]: { labels: { app: 'web' }, namespace: 'shop', pods: ['web-1'], workloads: [{ name: 'web', kind: 'Deployment' }], ips: ['10.0.0.5', 'fd00::5'] },
      [DNS]: { labels: { 'k8s-app': 'kube-dns' }, namespace: 'kube-system', pods: ['coredns-1'], ips: ['10.0.9.10'] },
    })[id],
};

const rec = (r: Partial<DnsQueryRecord> = {}): DnsQueryRecord => ({
  time: T0,
  sourceIdentity: WEB,
  resolverIdentity: DNS,
  transport: 'udp',
  port: 53,
  ipVersion: 4,
  qname: 'api.github.com',
  qtypes: ['A'],
  rcode: 'NOERROR',
  ips: ['140.82.121.6'],
  ttl: 60,
  verdict: 'forwarded',
  ruleId: 31,
  latencyMs: 1.5,
  ...r,
});

const summarySchema = createSchemaValidator('FlowSummary');

describe('dnsSummaries', () => {
  it('one forwarded query: endpoints exactly as the L4 aggregator describes them, l7.dns in Hubble form', () => {
    const [got, ...rest] = dnsSummaries([rec()], ctx);
    expect(rest).toEqual([]);
    const kernelRecord: FlowRecord = { localId: WEB, peerId: DNS, ruleId: 31, dport: 53, proto: IpProto.udp, direction: Direction.egress, verdict: FlowVerdict.forwarded, packets: 1, bytes: 80, flows: 1, firstSeenNs: 0, lastSeenNs: 0, ipVersion: 4, dropReason: FlowDropReason.policy };
    const [l4] = aggregateFlows([kernelRecord], { ...ctx, monotonicToWallMs: (ns) => ns / 1e6 });
    expect(got!.source).toEqual(l4!.source);
    expect(got!.destination).toEqual(l4!.destination);
    expect(got!.IP).toEqual(l4!.IP);
    expect(got!.policy).toEqual(l4!.policy);
    expect(got).toEqual({
      source: l4!.source,
      destination: l4!.destination,
      IP: { source: '10.0.0.5', destination: '10.0.9.10', ipVersion: 'IPv4' },
      l4: { protocol: 'UDP', destination_port: 53 },
      traffic_direction: 'EGRESS',
      verdict: 'FORWARDED',
      policy: { name: 'web-dns', revision: 2 },
      l7: { type: 'RESPONSE', latency_ns: 1_500_000, dns: { query: 'api.github.com.', qtypes: ['A'], rcode: 0, ips: ['140.82.121.6'], ttl: 60 } },
      packets: 1,
      bytes: 0,
      flows: 0,
      first_seen: '2026-11-30T10:00:00.000Z',
      last_seen: '2026-11-30T10:00:00.000Z',
    });
    expect(got).not.toHaveProperty('destination_names');
    expect(summarySchema(got)).toEqual([]);
  });

  const WEB_DNS = { name: 'web-dns', revision: 2 };
  it.each<{ name: string; given: Partial<DnsQueryRecord>; want: Partial<FlowSummary>; policy: FlowSummary['policy'] }>([
    { name: 'refused without a rule: DROPPED, POLICY_DENIED, rcode 5, no policy', given: { verdict: 'refused', rcode: 'REFUSED', ips: [], ttl: 0, ruleId: undefined }, want: { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED' }, policy: undefined },
    { name: 'error: DROPPED, DNS_PROXY_ERROR, rcode 2, the rule that allowed the query', given: { verdict: 'error', rcode: 'SERVFAIL', ips: [] }, want: { verdict: 'DROPPED', drop_reason_desc: 'DNS_PROXY_ERROR' }, policy: WEB_DNS },
    { name: 'audit (an audit-mode policy would have refused it): AUDIT, POLICY_DENIED, the answer as received', given: { verdict: 'audit', ruleId: undefined }, want: { verdict: 'AUDIT', drop_reason_desc: 'POLICY_DENIED' }, policy: undefined },
    { name: 'a CNAME chain: its targets as cnames (Hubble form)', given: { cnames: ['cdn.example.net', 'edge.cdn.example.net'] }, want: { l7: { dns: { cnames: ['cdn.example.net.', 'edge.cdn.example.net.'] } } } as Partial<FlowSummary>, policy: WEB_DNS },
    { name: 'NXDOMAIN is forwarded', given: { rcode: 'NXDOMAIN', ips: [] }, want: { verdict: 'FORWARDED' }, policy: WEB_DNS },
    { name: 'TCP on another port, IPv6', given: { transport: 'tcp', port: 5353, ipVersion: 6 }, want: { l4: { protocol: 'TCP', destination_port: 5353 }, IP: { source: 'fd00::5', ipVersion: 'IPv6' } }, policy: WEB_DNS },
    { name: 'unknown rule: no policy', given: { ruleId: 99 }, want: { verdict: 'FORWARDED' }, policy: undefined },
  ])('$name', ({ given, want, policy }) => {
    const [got] = dnsSummaries([rec(given)], ctx);
    expect(got).toMatchObject(want);
    expect(got!.l7!.dns!.rcode).toBe(rcodeNumber(given.rcode ?? 'NOERROR'));
    expect(got!.policy).toEqual(policy);
    if (got!.verdict === 'FORWARDED') expect(got).not.toHaveProperty('drop_reason_desc');
    expect(summarySchema(got)).toEqual([]);
  });

  it('aggregates by (source, query, qtypes, rcode, verdict, transport, rule): counts, ip union, min ttl of the answers, max latency, first/last seen', () => {
    const got = dnsSummaries(
      [
        rec({ time: T0 + 2000, qname: 'API.GitHub.com.', ips: ['140.82.121.6'], ttl: 60, latencyMs: 1 }),
        rec({ time: T0, ips: ['140.82.121.5', '140.82.121.6'], ttl: 30, latencyMs: 4 }),
        rec({ time: T0 + 500, ips: [], ttl: 0, latencyMs: 2 }),
        rec({ time: T0 + 1000, qtypes: ['AAAA'], ips: ['2606:50c0::1'] }),
        rec({ rcode: 'NXDOMAIN', ips: [] }),
        rec({ transport: 'tcp' }),
        rec({ verdict: 'refused', rcode: 'REFUSED', ips: [], ruleId: undefined }),
        rec({ sourceIdentity: 301 }),
      ],
      ctx,
    );
    expect(got).toHaveLength(6);
    expect(got[0]).toMatchObject({
      packets: 3,
      first_seen: new Date(T0).toISOString(),
      last_seen: new Date(T0 + 2000).toISOString(),
      l7: { latency_ns: 4_000_000, dns: { query: 'api.github.com.', ips: ['140.82.121.5', '140.82.121.6'], ttl: 30 } },
    });
    expect(got.reduce((n, s) => n + s.packets, 0)).toBe(8);
  });

  it('keeps at most maxQueriesPerEndpoint distinct queries per source; the rest are counted in overflow summaries', () => {
    const records = [
      ...Array.from({ length: 5 }, (_, i) => rec({ qname: `q${i}.example.com` })),
      rec({ qname: 'q0.example.com' }),
      rec({ qname: 'q9.example.com', verdict: 'refused', rcode: 'REFUSED', ips: [] }),
      rec({ sourceIdentity: 301, qname: 'q4.example.com' }),
      rec({ qname: 'x'.repeat(300) }),
    ];
    const got = dnsSummaries(records, ctx, { maxQueriesPerEndpoint: 3 });
    const queries = got.filter((s) => s.source.identity === WEB).map((s) => [s.l7!.dns!.query, s.verdict, s.packets]);
    expect(queries).toEqual([
      ['q0.example.com.', 'FORWARDED', 2],
      ['q1.example.com.', 'FORWARDED', 1],
      ['q2.example.com.', 'FORWARDED', 1],
      [DNS_OVERFLOW_QUERY, 'FORWARDED', 3],
      [DNS_OVERFLOW_QUERY, 'DROPPED', 1],
    ]);
    expect(got.find((s) => s.source.identity === 301)!.l7!.dns!.query).toBe('q4.example.com.');
    expect(got.reduce((n, s) => n + s.packets, 0)).toBe(records.length);
  });

  it('bounds what the schema bounds: ips ≤ 16, qtypes valid and ≤ 8, ttl and latency clamped', () => {
    const [got] = dnsSummaries(
      [rec({ ips: Array.from({ length: 40 }, (_, i) => `10.1.0.${i}`), qtypes: ['aaaa', 'A', 'A', 'bad type', ...'BCDEFGHIJ'.split('')], ttl: 2 ** 40, latencyMs: -1 })],
      ctx,
    );
    expect(got!.l7!.dns!.ips).toHaveLength(16);
    expect(got!.l7!.dns!.qtypes).toEqual(['A', 'AAAA', 'B', 'C', 'D', 'E', 'F', 'G']);
    expect(got!.l7!.dns!.ttl).toBe(4294967295);
    expect(got!.l7!.latency_ns).toBe(0);
    expect(summarySchema(got)).toEqual([]);
  });

  it('garbage in a record never makes a summary the API would refuse (a refusal costs the whole batch)', () => {
    const got = dnsSummaries([rec({ time: Number.NaN, port: 70000, latencyMs: Number.NaN, ttl: -3, rcode: '', qtypes: [''], ips: ['x'.repeat(50)], qname: '\u0000weird name\u00ff' })], ctx);
    expect(got).toHaveLength(1);
    expect(summarySchema(got[0])).toEqual([]);
    expect(got[0]!.l4).toEqual({ protocol: 'UDP' });
    expect(got[0]).not.toHaveProperty('first_seen');
    expect(got[0]!.l7).toMatchObject({ latency_ns: 0, dns: { ttl: 0, rcode: 2, qtypes: [], ips: [] } });
  });

  it('names: lower case with one trailing dot; rcode names to Hubble numbers', () => {
    expect(hubbleQueryName('Example.COM')).toBe('example.com.');
    expect(hubbleQueryName('example.com..')).toBe('example.com.');
    expect(hubbleQueryName('')).toBe('.');
    expect(hubbleQueryName('a'.repeat(254))).toBeUndefined();
    expect(['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'RCODE_11', 'bogus'].map(rcodeNumber)).toEqual([0, 1, 2, 3, 4, 5, 11, 2]);
  });
});
