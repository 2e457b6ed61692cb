import { describe, expect, it } from 'vitest';
import { createSchemaValidator } from '../../../core/schema/compile-schema-validator.js';
import type { FlowSummary } from '../../../openapi/types.js';
import { aggregateFlows, type AggregateContext, type IdentityInfo } from './aggregate-flows.js';
import { HTTP_OVERFLOW_URL, httpPathKey, httpSummaries, MAX_PATH_KEY_LENGTH, type HttpRequestRecord } from './http-summaries.js';
import { Direction, FlowDropReason, FlowVerdict, IpProto } from '../kernel/identities.js';
import type { FlowRecord } from '../kernel/codecs.js';

const WEB = 300;
const API = 500;
const T0 = Date.parse('2026-11-30T10:00:00Z');
const ctx: Omit<AggregateContext, 'monotonicToWallMs'> = {
  clusterName: 'prod-east',
  rule: () => undefined,
  identity: (id) =>
    (<Record<number, IdentityInfo>>{
      [WEB]: { labels: { app: 'web' }, namespace: 'shop', pods: ['web-1'], workloads: [{ name: 'web', kind: 'Deployment' }], ips: ['10.0.0.5', 'fd00::5'] },
      [API]: { labels: { app: 'api' }, namespace: 'shop', pods: ['api-1'], workloads: [{ name: 'api', kind: 'Deployment' }], ips: ['10.0.1.7'] },
    })[id],
};

const rec = (r: Partial<HttpRequestRecord> = {}): HttpRequestRecord => ({
  time: T0,
  sourceIdentity: WEB,
  destinationIdentity: API,
  direction: 'EGRESS',
  port: 8080,
  ipVersion: 4,
  method: 'GET',
  path: '/v1/items/42?expand=true',
  code: 200,
  protocol: 'HTTP/1.1',
  verdict: 'forwarded',
  policy: { name: 'web-api', generation: 3 },
  latencyMs: 2.5,
  ...r,
});

const summarySchema = createSchemaValidator('FlowSummary');

describe('httpSummaries', () => {
  it('one forwarded request: endpoints exactly as the L4 aggregator describes them, l7.http in Hubble form', () => {
    const [got, ...rest] = httpSummaries([rec()], ctx);
    expect(rest).toEqual([]);
    const kernelRecord: FlowRecord = { localId: WEB, peerId: API, ruleId: 0, dport: 8080, proto: IpProto.tcp, direction: Direction.egress, verdict: FlowVerdict.forwarded, packets: 1, bytes: 80, flows: 1, firstSeenNs: 0, lastSeenNs: 0, ipVersion: 4, dropReason: FlowDropReason.policy };
    const [l4] = aggregateFlows([kernelRecord], { ...ctx, monotonicToWallMs: (ns) => ns / 1e6 });
    expect(got).toEqual({
      source: l4!.source,
      destination: l4!.destination,
      IP: { source: '10.0.0.5', destination: '10.0.1.7', ipVersion: 'IPv4' },
      l4: { protocol: 'TCP', destination_port: 8080 },
      traffic_direction: 'EGRESS',
      verdict: 'FORWARDED',
      policy: { name: 'web-api', revision: 3 },
      l7: { type: 'RESPONSE', latency_ns: 2_500_000, http: { method: 'GET', code: 200, url: '/v1/items', protocol: 'HTTP/1.1' } },
      packets: 1,
      bytes: 0,
      flows: 0,
      first_seen: '2026-11-30T10:00:00.000Z',
      last_seen: '2026-11-30T10:00:00.000Z',
    });
    expect(summarySchema(got)).toEqual([]);
  });

  const WEB_API = { name: 'web-api', revision: 3 };
  it.each<{ name: string; given: Partial<HttpRequestRecord>; want: Partial<FlowSummary>; policy: FlowSummary['policy'] }>([
    { name: 'denied without a rule: DROPPED, POLICY_DENIED, 403, no policy', given: { verdict: 'denied', code: 403, policy: undefined }, want: { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED' }, policy: undefined },
    { name: 'denied by a policy that decided', given: { verdict: 'denied', code: 403 }, want: { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED' }, policy: WEB_API },
    { name: 'error (upstream timeout): DROPPED, HTTP_PROXY_ERROR, the policy that allowed it', given: { verdict: 'error', code: 504 }, want: { verdict: 'DROPPED', drop_reason_desc: 'HTTP_PROXY_ERROR' }, policy: WEB_API },
    { name: 'audit: AUDIT, POLICY_DENIED, the response as received', given: { verdict: 'audit', policy: undefined }, want: { verdict: 'AUDIT', drop_reason_desc: 'POLICY_DENIED' }, policy: undefined },
    { name: 'a 5xx from the server is forwarded', given: { code: 503 }, want: { verdict: 'FORWARDED' }, policy: WEB_API },
    { name: 'IPv6, HTTP/1.0, lower-case method', given: { ipVersion: 6, protocol: 'HTTP/1.0', method: 'post' }, want: { IP: { source: 'fd00::5', ipVersion: 'IPv6' }, l7: { http: { method: 'POST', protocol: 'HTTP/1.0' } } } as Partial<FlowSummary>, policy: WEB_API },
    { name: 'an ingress record keeps its direction', given: { direction: 'INGRESS' }, want: { traffic_direction: 'INGRESS' }, policy: WEB_API },
    { name: 'connection-level record (unknown client): no method, no url, code 0, no port', given: { sourceIdentity: 0, destinationIdentity: 0, method: '', path: '', code: 0, port: undefined, verdict: 'error', policy: undefined }, want: { l4: { protocol: 'TCP' }, l7: { http: { method: '', url: '', code: 0 } } } as Partial<FlowSummary>, policy: undefined },
  ])('$name', ({ given, want, policy }) => {
    const [got] = httpSummaries([rec(given)], ctx);
    expect(got).toMatchObject(want);
    expect(got!.policy).toEqual(policy);
    if (got!.verdict === 'FORWARDED') expect(got).not.toHaveProperty('drop_reason_desc');
    expect(summarySchema(got)).toEqual([]);
  });

  it('aggregates by (workload pair, method, code, path key, verdict, policy): counts, max latency, first/last seen', () => {
    const got = httpSummaries(
      [
        rec({ time: T0 + 2000, path: '/v1/items/1', latencyMs: 1 }),
        rec({ time: T0, path: '/v1/items/2?x=1', latencyMs: 7 }),
        rec({ time: T0 + 500, path: '/v1/items', latencyMs: 2 }),
        rec({ code: 404 }),
        rec({ method: 'POST' }),
        rec({ path: '/v2/items' }),
        rec({ verdict: 'denied', code: 403, policy: undefined }),
        rec({ policy: { name: 'web-api', generation: 4 } }),
        rec({ destinationIdentity: 501 }),
        rec({ sourceIdentity: 301 }),
      ],
      ctx,
    );
    expect(got).toHaveLength(8);
    expect(got[0]).toMatchObject({
      packets: 3,
      first_seen: new Date(T0).toISOString(),
      last_seen: new Date(T0 + 2000).toISOString(),
      l7: { latency_ns: 7_000_000, http: { method: 'GET', code: 200, url: '/v1/items' } },
    });
    expect(got.map((s) => [s.l7!.http!.method, s.l7!.http!.code, s.l7!.http!.url, s.verdict, s.packets])).toEqual([
      ['GET', 200, '/v1/items', 'FORWARDED', 3],
      ['GET', 404, '/v1/items', 'FORWARDED', 1],
      ['POST', 200, '/v1/items', 'FORWARDED', 1],
      ['GET', 200, '/v2/items', 'FORWARDED', 1],
      ['GET', 403, '/v1/items', 'DROPPED', 1],
      ['GET', 200, '/v1/items', 'FORWARDED', 1],
      ['GET', 200, '/v1/items', 'FORWARDED', 1],
      ['GET', 200, '/v1/items', 'FORWARDED', 1],
    ]);
    expect(got.reduce((n, s) => n + s.packets, 0)).toBe(10);
  });

  it('keeps at most maxPathsPerEndpoint distinct path keys per source; the rest are counted in overflow summaries', () => {
    const records = [
      ...Array.from({ length: 5 }, (_, i) => rec({ path: `/p${i}/x` })),
      rec({ path: '/p0/y' }),
      rec({ path: '/p9', verdict: 'denied', code: 403 }),
      rec({ sourceIdentity: 301, path: '/p4' }),
    ];
    const got = httpSummaries(records, ctx, { maxPathsPerEndpoint: 3 });
    expect(got.filter((s) => s.source.identity === WEB).map((s) => [s.l7!.http!.url, s.verdict, s.packets])).toEqual([
      ['/p0/x', 'FORWARDED', 1],
      ['/p1/x', 'FORWARDED', 1],
      ['/p2/x', 'FORWARDED', 1],
      [HTTP_OVERFLOW_URL, 'FORWARDED', 3],
      [HTTP_OVERFLOW_URL, 'DROPPED', 1],
    ]);
    expect(got.find((s) => s.source.identity === 301)!.l7!.http!.url).toBe('/p4');
    expect(got.reduce((n, s) => n + s.packets, 0)).toBe(records.length);
  });

  it('garbage in a record never makes a summary the API would refuse (a refusal costs the whole batch)', () => {
    const got = httpSummaries([rec({ time: Number.NaN, port: 70000, latencyMs: Number.NaN, code: 1234, method: 'GE T\u0000', protocol: 'SPDY/3 weird', path: `/${'\u00ff'.repeat(500)}`, policy: { name: 'web-api', generation: 0 } })], ctx);
    expect(got).toHaveLength(1);
    expect(summarySchema(got[0])).toEqual([]);
    expect(got[0]!.l4).toEqual({ protocol: 'TCP' });
    expect(got[0]).not.toHaveProperty('first_seen');
    expect(got[0]).not.toHaveProperty('policy');
    expect(got[0]!.l7).toMatchObject({ latency_ns: 0, http: { code: 0, method: 'OTHER', protocol: '' } });
  });
});

describe('httpPathKey (the cardinality bound)', () => {
  it.each([
    ['/v1/items/42?expand=true', '/v1/items'],
    ['/v1/items', '/v1/items'],
    ['/v1', '/v1'],
    ['/', '/'],
    ['/v1/', '/v1/'],
    ['/search?q=a/b/c', '/search'],
    ['/a#frag/b/c', '/a'],
    ['http://api.shop:8080/v1/items/42?x=1', '/v1/items'],
    ['http://api.shop', '/'],
    ['*', '*'],
    ['', ''],
    ['/caf\u00e9/<x> y', '/caf%C3%A9/%3Cx%3E%20y'],
    [HTTP_OVERFLOW_URL, '%3Cother-paths%3E'],
  ])('%s → %s', (given, want) => {
    expect(httpPathKey(given)).toBe(want);
  });

  it('is at most MAX_PATH_KEY_LENGTH characters and never ends inside a percent-encoding', () => {
    expect(httpPathKey(`/${'a'.repeat(300)}`)).toHaveLength(MAX_PATH_KEY_LENGTH);
    for (let n = 120; n < 130; n++) {
      const key = httpPathKey(`/${'a'.repeat(n)}\u00e9\u00e9\u00e9`);
      expect(key.length).toBeLessThanOrEqual(MAX_PATH_KEY_LENGTH);
      expect(key).not.toMatch(/%[0-9A-F]?$/);
    }
  });
});
