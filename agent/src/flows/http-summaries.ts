/**
 * Pure: the HTTP proxy's request records of one window → Hubble-shaped L7 HTTP FlowSummary records.
 *
 * Aggregation key: (source identity, destination identity, direction, IP version, port, method, code, path
 * key, protocol, verdict, deciding policy). One summary per key:
 *   source / destination = the workload pair, described as the L4 summaries describe the same identities
 *                 (l7-summary.ts l7Endpoints: endpoints, labels, workloads, exact addresses)
 *   l4          = {protocol: TCP, destination_port: the port the pod connected to}; traffic_direction as
 *                 recorded (EGRESS for the egress proxy)
 *   verdict     = forwarded → FORWARDED; audit → AUDIT + POLICY_DENIED (forwarded only because the denying
 *                 policy is in audit mode); denied → DROPPED + POLICY_DENIED (no HTTP rule allowed it: the
 *                 pod got 403); error → DROPPED + HTTP_PROXY_ERROR (the proxy answered or closed the request
 *                 itself: upstream connect error, reset or timeout, overload, unsupported protocol — Hubble's
 *                 verdict ERROR, which FlowSummary's verdict has no value for)
 *   policy      = the fleet policy the record names (name, generation → revision), whatever the verdict;
 *                 none when no rule decided
 *   l7          = {type: RESPONSE (each record is a request the proxy answered), latency_ns: the maximum of
 *                 the window's records, http: {method (upper case; '' for a connection-level record; a
 *                 method that is no token → OTHER), code (0 when the client got no response), url (the path
 *                 key, below), protocol (HTTP/1.0, HTTP/1.1, HTTP/2.0)}}; headers are never recorded
 *   packets     = the number of records (Hubble events); bytes = flows = 0 (the kernel counts the traffic's
 *                 packets, bytes and connection in the L4 summaries)
 *   first_seen / last_seen = the earliest / latest record time
 * Every summary validates against the contract's FlowSummary whatever the records hold (a refused summary
 * would cost its whole batch): values out of range are normalised or left out.
 *
 * Cardinality bound (documented in openapi.yaml FlowHTTP and docs/flows.md):
 * - the path key (httpPathKey) is the request target's path — no query string or fragment, an absolute
 *   URL's path — cut to its first HTTP_PATH_SEGMENTS (2) segments and MAX_PATH_KEY_LENGTH (128)
 *   characters, anything outside RFC 3986's path characters percent-encoded (UTF-8);
 * - per source identity, at most `maxPathsPerEndpoint` (default 1,000) distinct path keys get their own
 *   summaries in a window, in the order the records come; the records of every further path are counted,
 *   never dropped, in summaries whose url is HTTP_OVERFLOW_URL (the rest of the key stays).
 * Summaries per window ≤ endpoints × (maxPathsPerEndpoint + 1) × the distinct (peer, method, code, verdict,
 * policy, protocol) seen.
 */
import type { FlowSummary } from '../../../openapi/types.js';
import { urlPath } from '../../../core/flows/flow-filter.js';
import type { AggregateContext } from './aggregate-flows.js';
import { isPort, KeyCap, L7Window, l7Endpoints } from './l7-summary.js';

/** One request the HTTP proxy handled, as the agent runtime hands it over. */
export interface HttpRequestRecord {
  /** ms since the epoch, when the request's headers arrived */
  time: number;
  /** security identity of the client (for egress: the pod) */
  sourceIdentity: number;
  /** security identity of the server (for egress: the compiled ipcache's answer for the original destination) */
  destinationIdentity: number;
  direction: 'EGRESS' | 'INGRESS';
  /** the port the client connected to; absent when its destination is unknown */
  port?: number;
  ipVersion: 4 | 6;
  /** as received ('' for a connection-level record) */
  method: string;
  /** the request target as sent, query string included ('' for a connection-level record) */
  path: string;
  /** the status the client received; 0 when none */
  code: number;
  protocol: string;
  /** audit: forwarded only because the denying rules are an audit-mode policy's; error: answered or closed by
   *  the proxy itself (upstream failures, overload, unsupported requests) */
  verdict: 'forwarded' | 'audit' | 'denied' | 'error';
  /** the fleet policy whose rule decided, when one did */
  policy?: { name: string; generation: number };
  /** ms from the request's headers to the response's last byte */
  latencyMs: number;
}

export type HttpSummaryContext = Pick<AggregateContext, 'clusterName' | 'identity'>;

export interface HttpSummaryOptions {
  /** distinct path keys per source identity and window with their own summaries (default 1,000) */
  maxPathsPerEndpoint?: number;
}

export const MAX_PATHS_PER_ENDPOINT = 1000;
export const HTTP_PATH_SEGMENTS = 2;
export const MAX_PATH_KEY_LENGTH = 128;
/** The url of overflow summaries: `<` and `>` are percent-encoded in every path key, so no request has it. */
export const HTTP_OVERFLOW_URL = '<other-paths>';

const encoder = new TextEncoder();
const percentEncode = (c: string): string => [...encoder.encode(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** The bounded path key of a request target (see the module comment); '' and `*` stay as they are. */
export function httpPathKey(target: string): string {
  let path = urlPath(target);
  if (path.startsWith('/')) path = `/${path.split('/').slice(1, 1 + HTTP_PATH_SEGMENTS).join('/')}`;
  path = path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, percentEncode);
  return path.length <= MAX_PATH_KEY_LENGTH ? path : path.slice(0, MAX_PATH_KEY_LENGTH).replace(/%[0-9A-F]?$/, '');
}

const hubbleMethod = (method: string): string => {
  const upper = method.toUpperCase();
  return /^[A-Z0-9_-]{0,32}$/.test(upper) ? upper : 'OTHER';
};
const hubbleProtocol = (protocol: string): string => (/^[A-Za-z0-9/.]{0,16}$/.test(protocol) ? protocol : '');
const statusCode = (code: number): number => (Number.isInteger(code) && code >= 0 && code <= 999 ? code : 0);

type HttpSummary = FlowSummary & { l7: { http: NonNullable<NonNullable<FlowSummary['l7']>['http']> } };

export function httpSummaries(records: readonly HttpRequestRecord[], ctx: HttpSummaryContext, options: HttpSummaryOptions = {}): FlowSummary[] {
  const cap = new KeyCap(options.maxPathsPerEndpoint ?? MAX_PATHS_PER_ENDPOINT);
  const out = new Map<string, { summary: HttpSummary; window: L7Window }>();
  for (const r of records) {
    const pathKey = httpPathKey(r.path);
    const url = cap.admit(r.sourceIdentity, pathKey) ? pathKey : HTTP_OVERFLOW_URL;
    const http = { method: hubbleMethod(r.method), code: statusCode(r.code), url, protocol: hubbleProtocol(r.protocol) };
    const key = JSON.stringify([r.sourceIdentity, r.destinationIdentity, r.direction, r.ipVersion, r.port, http.method, http.code, url, http.protocol, r.verdict, r.policy?.name, r.policy?.generation]);
    let acc = out.get(key);
    if (!acc) {
      acc = { summary: newSummary(r, http, ctx), window: new L7Window() };
      out.set(key, acc);
    }
    acc.window.add(r.time, r.latencyMs);
  }
  return [...out.values()].map(({ summary, window }) => window.finish(summary));
}

function newSummary(r: HttpRequestRecord, http: HttpSummary['l7']['http'], ctx: HttpSummaryContext): HttpSummary {
  const policy = r.policy && Number.isSafeInteger(r.policy.generation) && r.policy.generation >= 1 ? r.policy : undefined;
  return {
    ...l7Endpoints(r.sourceIdentity, r.destinationIdentity, r.ipVersion, ctx),
    l4: { protocol: 'TCP', ...(r.port !== undefined && isPort(r.port) ? { destination_port: r.port } : {}) },
    traffic_direction: r.direction,
    verdict: r.verdict === 'forwarded' ? 'FORWARDED' : r.verdict === 'audit' ? 'AUDIT' : 'DROPPED',
    ...(r.verdict === 'denied' || r.verdict === 'audit' ? { drop_reason_desc: 'POLICY_DENIED' } : r.verdict === 'error' ? { drop_reason_desc: 'HTTP_PROXY_ERROR' } : {}),
    ...(policy ? { policy: { name: policy.name, revision: policy.generation } } : {}),
    l7: { type: 'RESPONSE', latency_ns: 0, http },
    packets: 0,
    bytes: 0,
    flows: 0,
  };
}
