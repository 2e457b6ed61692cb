/**
 * The node agent's DNS proxy (issue 11; contract and behaviour in docs/dns-proxy.md):
 *
 *   new DnsProxy<Endpoint>(options: DnsProxyOptions<Endpoint>)   serves the injected sockets at once
 *   proxy.stats(): DnsProxyStats                                  cumulative counters
 *   proxy.close(): Promise<void>                                  resolves when every socket is closed
 *
 * The caller wires it to the kernel (resolveClient: who sent a query, where it was going), to policy
 * (allowQuery) and to FQDN learning (learn, awaited before an answer is released).
 */
export { DnsProxy, defaultUpstreamSockets, DEFAULT_MAX_IN_FLIGHT, DEFAULT_TCP_IDLE_TIMEOUT_MS, DEFAULT_UPSTREAM_TIMEOUT_MS } from './dns-proxy.js';
export { followAnswerChain } from './dns-answer.js';
export type {
  DnsAnswer, DnsClient, DnsDestination, DnsProxyOptions, DnsProxyStats, DnsRecord, DnsTransport, DnsVerdict,
  PolicyRef, QueryDecision, ResolvedClient, UpstreamSocketFactory,
} from './types.js';
