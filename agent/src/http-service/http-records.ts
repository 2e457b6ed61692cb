/**
 * The HTTP proxy's records in the flow history's form (flows/http-summaries.ts HttpRequestRecord).
 *
 * Contract (toHttpRequestRecord): one proxy record (agent/src/http-proxy HttpRecord) → one request record.
 * - The egress proxy's endpoint is the client: source = the pod's identity, destination = the server's
 *   identity (the compiled ipcache's answer for the original destination), direction EGRESS; an unknown
 *   client (no endpoint) has identities 0.
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
  return {
    time: record.time,
    sourceIdentity: record.endpoint?.identity ?? 0,
    destinationIdentity: record.endpoint?.serverIdentity ?? 0,
    direction: 'EGRESS',
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
