/**
 * The HTTP proxy's public types: what the caller injects (the listening server, client resolution, the
 * per-request policy decision, the upstream connection factory, records) and what the proxy reports.
 * `Endpoint` is the caller's opaque key for a pod endpoint; the proxy only passes it back.
 */
import type * as net from 'node:net';
import type { HeaderAction } from '../../../core/policy/rules/http-match.js';

export type { HeaderAction };

/** An address and port (where the pod was going, as the kernel recorded it). */
export interface HttpDestination {
  address: string;
  port: number;
}

/** Where a connection came from, as the proxy's server saw it. */
export interface HttpClient {
  address: string;
  port: number;
}

export interface ResolvedHttpClient<Endpoint> {
  endpoint: Endpoint;
  /** the destination the pod connected to; the proxy forwards there and nowhere else */
  original: HttpDestination;
}

/** The fleet policy that decided (metadata.name and generation). */
export interface PolicyRef {
  name: string;
  generation: number;
}

/** What `decide` sees of a request (core/policy/rules/http-match.ts `HttpRequestView`). */
export interface HttpRequestInfo {
  /** as received, e.g. `GET` */
  method: string;
  /** the request target as sent, query string included (`/v1/items?id=3`); not normalised */
  path: string;
  /** the Host header as sent (`:port` included when the client sent one); absent when none */
  host?: string;
  /** header lines in arrival order, names as sent (node:http `rawHeaders` as pairs) */
  headers: [name: string, value: string][];
}

export interface HttpDecision {
  allowed: boolean;
  /** allowed only because the denying rules are audit-mode ones: the record says so */
  audit?: boolean;
  ruleId?: number;
  policy?: PolicyRef;
  /** header actions to apply in order before forwarding (http-match `actions`); LOG only reported */
  actions?: HeaderAction[];
}

export type HttpProtocol = 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2.0';

export type HttpVerdict = 'forwarded' | 'denied' | 'error';

/**
 * Why a request or connection got `verdict: 'error'` (or, for `h2c-upgrade`, `denied`):
 * - `unknown-client`: resolveClient did not know the connection; closed, nothing read from it
 * - `h2c-prior-knowledge`: the connection opened with the HTTP/2 preface; closed (unsupported)
 * - `h2c-upgrade`: `Upgrade: h2c`; answered 403 and closed (unsupported)
 * - `upstream-connect`, `upstream-reset`, `upstream-timeout`, `upstream-protocol`: see docs/http-proxy.md
 * - `overloaded`: more than maxInFlight requests; 503
 * - `decide-failed`: the decide callback threw; 403 (fail closed)
 * - `client-aborted`: the client went away before the response was complete
 */
export type HttpErrorReason =
  | 'unknown-client' | 'h2c-prior-knowledge' | 'h2c-upgrade'
  | 'upstream-connect' | 'upstream-reset' | 'upstream-timeout' | 'upstream-protocol'
  | 'overloaded' | 'decide-failed' | 'client-aborted';

/** One record per request (Hubble's l7.http names: method, url → path, code, protocol; latency). */
export interface HttpRecord<Endpoint> {
  /** ms since the epoch, when the request's headers arrived (the connection's arrival for connection-level records) */
  time: number;
  /** undefined when resolveClient did not know the client */
  endpoint: Endpoint | undefined;
  /** where the pod was going (from resolveClient); undefined when the client was not resolved */
  original?: HttpDestination;
  /** '' for connection-level records (unknown client, HTTP/2 preface) */
  method: string;
  /** the request target as sent, cut to MAX_RECORD_PATH characters (Hubble's `url`) */
  path: string;
  /** the Host header as sent, cut to MAX_RECORD_PATH characters */
  host?: string;
  /** the status the client received; 0 when it received none (connection closed) */
  code: number;
  protocol: HttpProtocol;
  verdict: HttpVerdict;
  /** set when verdict is 'error', and for unsupported requests */
  reason?: HttpErrorReason;
  audit?: boolean;
  ruleId?: number;
  policy?: PolicyRef;
  /** the LOG actions the decision carried (reported, nothing changed) */
  logged?: HeaderAction[];
  /** true when the request was an allowed Upgrade that became a tunnel (code 101) */
  upgraded?: boolean;
  /** ms from the request's headers to the response's last byte handed to the socket (for a tunnel: to 101) */
  latencyMs: number;
}

export interface HttpProxyOptions<Endpoint> {
  /** a listening server; the proxy owns it from now on and serves its connections with node:http */
  server: net.Server;
  /** once per client connection: which endpoint and where it was going; undefined → the connection is closed */
  resolveClient(client: HttpClient): ResolvedHttpClient<Endpoint> | undefined;
  /** once per request; a throw denies (403) */
  decide(endpoint: Endpoint, original: HttpDestination, request: HttpRequestInfo): HttpDecision;
  /** a TCP connection (connecting or connected) to `original`; the proxy owns it. Default: node:net */
  connect?(original: HttpDestination, endpoint: Endpoint): net.Socket;
  /** every request's record; exceptions are counted, never propagated */
  onRecord?(record: HttpRecord<Endpoint>): void;
  /** ms to connect upstream before 503; default 5000 (Envoy's cluster connect_timeout default) */
  connectTimeoutMs?: number;
  /** ms from forwarding a request to the upstream's response headers before 504; default 15000 (Envoy's route timeout) */
  responseTimeoutMs?: number;
  /** ms a client keep-alive connection may stay idle between requests; default 60000 */
  idleTimeoutMs?: number;
  /** ms a client may take to send a request's headers; default 30000 (node:http headersTimeout) */
  headersTimeoutMs?: number;
  /** bytes of request or response headers (node:http maxHeaderSize); default 16384 */
  maxHeaderSize?: number;
  /** requests being proxied at once (whole proxy); beyond → 503; default 4096 */
  maxInFlight?: number;
  /** upstream connections per client connection (pipelined requests); default 4 */
  maxUpstreamPerClient?: number;
  /** bytes of a refused request's body read and dropped so the connection stays usable; a longer body
   *  gets the answer at once with `Connection: close`; default 64 MiB */
  maxDrainBytes?: number;
}

/** Cumulative counters since the proxy started (inFlight and connections: now). */
export interface HttpProxyStats {
  connections: number;
  unknownClients: number;
  h2cRefused: number;
  requests: number;
  forwarded: number;
  denied: number;
  errors: number;
  upgrades: number;
  upgradesDenied: number;
  upstreamConnectErrors: number;
  upstreamResets: number;
  upstreamTimeouts: number;
  upstreamProtocolErrors: number;
  overloaded: number;
  decideErrors: number;
  clientAborts: number;
  /** client connections closed by node:http for a malformed request or oversized headers (400/431) */
  clientErrors: number;
  headerActions: number;
  recordErrors: number;
  serverErrors: number;
  /** now */
  inFlight: number;
  /** client connections open now */
  openConnections: number;
}
