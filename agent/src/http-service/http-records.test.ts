import { describe, expect, it } from 'vitest';
import type { HttpRecord } from '../http-proxy/index.js';
import type { HttpEndpoint } from './http-service.js';
import { toHttpRequestRecord } from './http-records.js';

const record = (r: Partial<HttpRecord<HttpEndpoint>> = {}): HttpRecord<HttpEndpoint> => ({
  time: 1000,
  endpoint: { key: 'shop/web-1', identity: 300, ingress: false, peerIdentity: 500, clientAddress: '10.0.0.3' },
  original: { address: '10.0.1.7', port: 8080 },
  method: 'GET',
  path: '/v1/items?id=3',
  host: 'api:8080',
  code: 200,
  protocol: 'HTTP/1.1',
  verdict: 'forwarded',
  ruleId: 7,
  policy: { name: 'web-api', generation: 3 },
  latencyMs: 1.5,
  ...r,
});

describe('toHttpRequestRecord', () => {
  it('egress: the pod is the source, the server the destination; port and version of the original destination', () => {
    expect(toHttpRequestRecord(record())).toEqual({
      time: 1000, sourceIdentity: 300, destinationIdentity: 500, direction: 'EGRESS', port: 8080, ipVersion: 4,
      method: 'GET', path: '/v1/items?id=3', code: 200, protocol: 'HTTP/1.1', verdict: 'forwarded', policy: { name: 'web-api', generation: 3 }, latencyMs: 1.5,
    });
    expect(toHttpRequestRecord(record({ original: { address: 'fd00::7', port: 80 } }))).toMatchObject({ port: 80, ipVersion: 6 });
  });

  it('ingress: the client (the peer) is the source, the server pod the destination', () => {
    const got = toHttpRequestRecord(record({ endpoint: { key: 'shop/api-1', identity: 500, ingress: true, peerIdentity: 300, clientAddress: '10.0.0.3' } }));
    expect(got).toMatchObject({ sourceIdentity: 300, destinationIdentity: 500, direction: 'INGRESS', port: 8080 });
  });

  it.each<{ name: string; given: Partial<HttpRecord<HttpEndpoint>>; want: string }>([
    { name: 'forwarded under audit → audit', given: { audit: true }, want: 'audit' },
    { name: 'denied by policy → denied', given: { verdict: 'denied', code: 403, policy: undefined }, want: 'denied' },
    { name: 'denied as unsupported (h2c upgrade) → error', given: { verdict: 'denied', reason: 'h2c-upgrade', code: 403 }, want: 'error' },
    { name: 'error → error', given: { verdict: 'error', reason: 'upstream-timeout', code: 504 }, want: 'error' },
  ])('verdict: $name', ({ given, want }) => {
    expect(toHttpRequestRecord(record(given)).verdict).toBe(want);
  });

  it('an unknown client: identities 0, no port, no policy', () => {
    const got = toHttpRequestRecord(record({ endpoint: undefined, original: undefined, method: '', path: '', code: 0, verdict: 'error', reason: 'unknown-client', ruleId: undefined, policy: undefined }));
    expect(got).toMatchObject({ sourceIdentity: 0, destinationIdentity: 0, ipVersion: 4 });
    expect(got).not.toHaveProperty('port');
    expect(got).not.toHaveProperty('policy');
  });
});
