/**
 * The HTTP proxy's records in the flow history's form (flows/http-summaries.ts HttpRequestRecord).
 *
 * Contract (toHttpRequestRecord): one proxy record (agent/src/http-proxy HttpRecord) → one request record.
 * - Egress (the endpoint is the client pod): source = the pod's identity, destination = the peer's (the
 *   server), direction EGRESS. Ingress (the endpoint is the server pod): source = the peer's identity
 *   (the client), destination = the pod's, direction INGRESS. An unknown client (no endpoint) has
 *   identities 0, direction EGRESS.
 * - port and IP version are those of the original destination (no port and IPv4 when it is unknown).
 * - verdict: forwarded + audit → 'audit'; denied with a reason (an unsupported request, e.g. an h2c
 *   upgrade, not a policy's denial) → 'error'; otherwise as recorded.
 * - The request target is kept as recorded (already cut by the proxy); http-summaries bounds it.
 */
import { isIP } from 'node:net';

import type { HttpRecord } from '../http-proxy/index.js';
import type { HttpRequestRecord } from '../flows/http-summaries.js';
import type { HttpEndpoint } from './http-service.js';

export function toHttpRequestRecord(record: HttpRecord<HttpEndpoint>): HttpRequestRecord {
  const original = record.original;
  const ingress = record.endpoint?.ingress === true;
  return {
    time: record.time,
    sourceIdentity: (ingress ? record.endpoint?.peerIdentity : record.endpoint?.identity) ?? 0,
    destinationIdentity: (ingress ? record.endpoint?.identity : record.endpoint?.peerIdentity) ?? 0,
    direction: ingress ? 'INGRESS' : 'EGRESS',
    ...(original ? { port: original.port } : {}),
    ipVersion: original && isIP(original.address) === 6 ? 6 : 4,
    method: record.method,
    path: record.path,
    code: record.code,
    protocol: record.protocol,
    verdict: record.verdict === 'forwarded' && record.audit ? 'audit' : record.verdict === 'denied' && record.reason ? 'error' : record.verdict,
    ...(record.policy ? { policy: record.policy } : {}),
    latencyMs: record.latencyMs,
  };
}
