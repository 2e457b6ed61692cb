/**
 * The DNS proxy's public types: what the caller injects (sockets, socket factories, client resolution,
 * policy check, learning, records) and what the proxy reports. `Endpoint` is the caller's opaque key for
 * a pod endpoint; the proxy only passes it back.
 */
import type * as dgram from 'node:dgram';
import type * as net from 'node:net';

export type DnsTransport = 'udp' | 'tcp';

/** Where a query came from, as the proxy's socket saw it. */
export interface DnsClient {
  address: string;
  port: number;
  transport: DnsTransport;
}

/** An address and port (the resolver a pod addressed, as the kernel recorded it). */
export interface DnsDestination {
  address: string;
  port: number;
}

export interface ResolvedClient<Endpoint> {
  endpoint: Endpoint;
  /** the destination the pod sent its query to; the proxy forwards there and nowhere else */
  original: DnsDestination;
}

/** The fleet policy that decided (metadata.name and generation). */
export interface PolicyRef {
  name: string;
  generation: number;
}

export interface QueryDecision {
  allowed: boolean;
  /** allowed only because the refusing rules are audit-mode ones: the record says so */
  audit?: boolean;
  ruleId?: number;
  policy?: PolicyRef;
}

/** What an answer teaches (dns-answer.ts). */
export interface DnsAnswer {
  /** the question name, canonical (lower case, no trailing dot) */
  qname: string;
  /** qname and every CNAME target on the chain, canonical */
  names: string[];
  /** A and AAAA addresses at the chain's end, canonical text */
  ips: string[];
  /** seconds: the minimum TTL along the chain and its address records; 0 without records */
  ttl: number;
}

export type DnsVerdict = 'forwarded' | 'refused' | 'error';

/** One record per query the proxy decoded (Hubble's l7.dns names: query→qname, qtypes, rcode, ips, ttl). */
export interface DnsRecord<Endpoint> {
  /** ms since the epoch, when the query arrived */
  time: number;
  /** undefined when resolveClient did not know the client */
  endpoint: Endpoint | undefined;
  /** the resolver the pod addressed (from resolveClient); undefined when the client was not resolved */
  original?: DnsDestination;
  transport: DnsTransport;
  /** canonical (lower case, no trailing dot); '' for a query without a question */
  qname: string;
  qtypes: string[];
  /** the rcode the client received: NOERROR, NXDOMAIN, REFUSED, SERVFAIL, FORMERR, … */
  rcode: string;
  /** addresses the client received (and that learn programmed) */
  ips: string[];
  /** the CNAME targets on the chain from the question to those addresses (canonical), when any */
  cnames?: string[];
  ttl: number;
  verdict: DnsVerdict;
  /** the query was forwarded only because an audit-mode policy would have refused it */
  audit?: boolean;
  ruleId?: number;
  policy?: PolicyRef;
  /** ms from the query's arrival to the answer's send (or to the drop) */
  latencyMs: number;
  /** ms the learn callback took, when it was called */
  learnMs?: number;
}

/** Creates upstream sockets (in production in the node's network namespace). */
/** Whose queries an upstream socket carries (DnsProxyOptions.upstreamOwner). */
export interface UpstreamOwner {
  /** the client's identity */
  identity: number;
  /** the client's address: the agent's sockets speak with it (transparent) */
  address: string;
}

export interface UpstreamSocketFactory {
  /** an unbound or bound UDP socket of the family, for the queries of `owner`'s client (upstreamOwner;
   *  undefined: any client); the proxy owns it and closes it */
  udp(family: 4 | 6, owner?: UpstreamOwner): dgram.Socket;
  /** a TCP connection (connecting or connected) to the destination, for `owner`'s client; the proxy owns it */
  tcp(destination: DnsDestination, owner?: UpstreamOwner): net.Socket;
}

export interface DnsProxyOptions<Endpoint> {
  /** bound UDP sockets to serve (one per address family); the proxy owns them from now on */
  udp?: dgram.Socket[];
  /** listening TCP servers to serve; the proxy owns them from now on */
  tcp?: net.Server[];
  /** which endpoint sent a query and where it was going; undefined → REFUSED, never forwarded */
  resolveClient(client: DnsClient): ResolvedClient<Endpoint> | undefined;
  /** whether the endpoint may ask this question of `original` over `transport` (DNS rules are per port
   *  and protocol); qname canonical, qtype as dns-packet names it ("A") */
  allowQuery(endpoint: Endpoint, qname: string, qtype: string, original: DnsDestination, transport: DnsTransport): QueryDecision;
  /** programs the answer's addresses for the endpoint; awaited before the answer is released.
   *  Called only for answers with at least one address. A rejection answers SERVFAIL. */
  learn(endpoint: Endpoint, answer: DnsAnswer): Promise<void>;
  /** every decoded query's record; exceptions are counted, never propagated */
  onRecord?(record: DnsRecord<Endpoint>): void;
  /** whose traffic an upstream socket carries (the agent: the client's identity and address): queries of
   *  clients with different addresses never share an upstream socket, and the factory gets the owner.
   *  Default: one owner. */
  upstreamOwner?(endpoint: Endpoint): UpstreamOwner | undefined;
  /** default: node:dgram / node:net in the current network namespace */
  upstream?: UpstreamSocketFactory;
  /** ms to wait for the upstream answer before answering SERVFAIL; default 5000 */
  upstreamTimeoutMs?: number;
  /** queries being handled at once (any stage), at most 32768; beyond → SERVFAIL; default 4096 */
  maxInFlight?: number;
  /** ms a client TCP connection may stay idle (nothing pending) before it is closed; default 10000 */
  tcpIdleTimeoutMs?: number;
}

/** Cumulative counters since the proxy started. */
export interface DnsProxyStats {
  /** decoded queries */
  queries: number;
  forwarded: number;
  refused: number;
  /** answered SERVFAIL/FORMERR by the proxy */
  errors: number;
  /** messages dns-packet could not decode: dropped */
  malformed: number;
  /** responses (QR set) arriving on the listening sockets: dropped */
  notQueries: number;
  /** queries beyond maxInFlight: SERVFAIL */
  overloaded: number;
  upstreamTimeouts: number;
  upstreamErrors: number;
  /** upstream answers whose question differs from the query's: SERVFAIL */
  mismatchedAnswers: number;
  /** upstream datagrams matching no query in flight (late, unknown id or wrong source): dropped */
  unmatchedUpstream: number;
  learnFailures: number;
  /** answers that could not be sent because the client's connection was gone */
  repliesLost: number;
  /** exceptions thrown by onRecord */
  recordErrors: number;
  /** errors reported by the listening sockets and servers (the proxy keeps serving) */
  socketErrors: number;
  /** client TCP connections closed because they did not read their answers (MAX_UNREAD_BYTES) */
  slowClientsClosed: number;
  /** queries being handled now */
  inFlight: number;
}
