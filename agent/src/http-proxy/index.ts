/**
 * The node agent's HTTP proxy (issue 12; contract and behaviour in docs/http-proxy.md):
 *
 *   new HttpProxy<Endpoint>(options: HttpProxyOptions<Endpoint>)   serves the injected server at once
 *   proxy.stats(): HttpProxyStats                                   cumulative counters
 *   proxy.close(): Promise<void>                                    resolves when every connection is closed
 *
 * The caller wires it to the kernel (resolveClient: which pod, where it was going), to policy (decide: the
 * compiled `rules.http` of core/policy/rules/http-match.ts) and to flow summaries (onRecord, l7.http).
 */
export {
  ACCESS_DENIED_BODY, applyHeaderActions, defaultConnect, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_HEADER_SIZE, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_UPSTREAM_PER_CLIENT, DEFAULT_RESPONSE_TIMEOUT_MS, HttpProxy,
  MAX_RECORD_PATH, OVERLOADED_BODY, UPSTREAM_CONNECT_ERROR_BODY, UPSTREAM_PROTOCOL_ERROR_BODY, UPSTREAM_RESET_BODY,
  UPSTREAM_TIMEOUT_BODY,
} from './http-proxy.js';
export type {
  HeaderAction, HttpClient, HttpDecision, HttpDestination, HttpErrorReason, HttpProtocol, HttpProxyOptions, HttpProxyStats,
  HttpRecord, HttpRequestInfo, HttpVerdict, PolicyRef, ResolvedHttpClient,
} from './types.js';
