/**
 * The agent's HTTP service (issue 12): the HTTP proxy (agent/src/http-proxy) on the node's address,
 * wired to the kernel redirects (egress and ingress) and the compiled HTTP rules.
 *
 * Contract:
 * - start(): installs the proxy route (`proxyRoute`, agent/src/kernel/proxy-route.ts), opens a
 *   transparent TCP server on one port (`port`, 0 = a free one) at each node address — the same
 *   addresses as the DNS proxy — in the pods' namespace (proxySockets), serves each with an
 *   HttpProxy, then tells the kernel where it listens (Datapath.setHttpProxy). Until then, connections
 *   a policy hands to it are dropped (fail closed). Without an address it does not run (false).
 * - A connection is attributed through the kernel's record of the redirect (client address and port →
 *   original destination, host veth, direction); the veth names the endpoint whose policy redirected it
 *   (last compile): the client pod (egress; it arrives rewritten to the proxy's address) or the server
 *   pod (ingress; it arrives on the server's own address and port). Unknown → the proxy closes it.
 * - The peer's identity (the compiled ipcache's answer): for egress the original destination's; for
 *   ingress the client's address's.
 * - Each request is decided by the compiled `httpRules` (createHttpRuleLookup) for (the endpoint's
 *   identity, the peer's identity, the original port, the direction); no rule set → denied (403).
 *   Attribution from the compile.
 * - Upstream connections speak with the client's own address (transparent) to the original
 *   destination, each registered with the kernel before it connects (registerProxyUpstream: its address
 *   and port, the client's identity, and `decided` for an ingress connection, which the server's hook
 *   must not hand to the proxy again) and unregistered when it closes — so the destination decides them
 *   as the client, and the kernel steers their replies back here.
 * - compileInput(): `httpProxy: true` while it runs, so the compile redirects `rules.http`.
 * - degraded(): the rules of connections refused for HTTP/2 cleartext (h2c-refusals.ts), for the node's
 *   Degraded condition; `onDegradedChange` says when it changed.
 * - Every request's record is kept for the flow history (drainRequestRecords, http-records.ts; bounded by
 *   `maxRequestRecords`, beyond: counted and logged at the next drain) and goes to `onRecord`.
 * - stop(): closes the proxies. The kernel keeps redirecting to the port, where nothing listens:
 *   those connections fail (reset) until an agent is back — fail closed.
 */
import type { Server, Socket } from 'node:net';

import { createHttpRuleLookup, type CompiledState, type HttpRuleLookup, type LocalEndpoint, type RuleAttribution } from '../compile/index.js';
import { HttpProxy } from '../http-proxy/index.js';
import type { HttpClient, HttpDecision, HttpDestination, HttpRecord, HttpRequestInfo, ResolvedHttpClient } from '../http-proxy/index.js';
import type { ProxyAddress } from '../kernel/codecs.js';
import { Direction, IpProto } from '../kernel/identities.js';
import { ProxyContext, type ProxyEndpoint, type RedirectRecords } from '../proxy-context.js';
import { openOnOnePort, type ProxySockets } from '../proxy-sockets.js';
import { connectAsClient, type UpstreamRegistry } from '../proxy-upstreams.js';
import type { Logger } from '../sync/sync-loop.js';
import { RecordBuffer } from '../flows/record-buffer.js';
import type { HttpRequestRecord } from '../flows/http-summaries.js';
import type { DegradedRule } from '../sync/node-status.js';
import { H2cRefusals } from './h2c-refusals.js';
import { toHttpRequestRecord } from './http-records.js';

/** A proxied connection: the endpoint whose policy redirected it and the identity of its peer. */
export interface HttpEndpoint extends ProxyEndpoint {
  /** redirected by the server pod's ingress: the endpoint is the server, the peer the client */
  ingress: boolean;
  /** identity of the peer: the server the pod connected to (egress), or the client (ingress) */
  peerIdentity: number;
  /** the client's address (the pod's for egress): the proxy's upstream connection speaks with it */
  clientAddress: string;
}

/** What the service needs of the datapath (agent/src/kernel/datapath.ts). */
export interface HttpServiceDatapath extends RedirectRecords, UpstreamRegistry {
  setHttpProxy(proxy: ProxyAddress | undefined): void;
}

export interface HttpServiceOptions {
  datapath: HttpServiceDatapath;
  /** installs the policy route of the ingress redirect (proxy-route.ts installProxyRoute) */
  proxyRoute?: () => Promise<void>;
  sockets: ProxySockets;
  /** node addresses, read at start() (the DNS proxy's: the kernel keeps one pair for all proxies) */
  addresses: () => { ipv4?: string | undefined; ipv6?: string | undefined };
  /** 0 = a free port (the same on both families) */
  port: number;
  /** degraded() changed (an h2c refusal added an entry, or a compile dropped some): report the status */
  onDegradedChange?: () => void;
  /** every request's record, besides the flow history's (drainRequestRecords) */
  onRecord?: (record: HttpRecord<HttpEndpoint>) => void;
  /** request records held for the flow history between two drains (default 100,000; beyond: counted in
   *  `records.dropped` and logged at the next drain) */
  maxRequestRecords?: number;
  log?: Logger;
}


export class HttpService {
  readonly context = new ProxyContext();
  private proxies: HttpProxy<HttpEndpoint>[] = [];
  private lookup: HttpRuleLookup = () => undefined;
  private attribution = new Map<number, RuleAttribution>();
  private readonly h2c = new H2cRefusals();
  private listening: ProxyAddress | undefined;
  private readonly log: Logger;
  /** request records for the flow history until the next drain */
  readonly records: RecordBuffer<HttpRequestRecord>;

  constructor(private readonly options: HttpServiceOptions) {
    this.log = options.log ?? (() => undefined);
    this.records = new RecordBuffer(options.maxRequestRecords ?? 100_000, (dropped) =>
      this.log('warn', 'HTTP request records dropped: the flow history lacks them (record buffer full)', { dropped }),
    );
  }

  /** Where the proxy listens (after start()). */
  address(): ProxyAddress | undefined {
    return this.listening;
  }

  /** Starts the proxy; false (logged) when no node address is known — it then does not run. */
  async start(): Promise<boolean> {
    const addresses = this.options.addresses();
    const addrs = [addresses.ipv4, addresses.ipv6].filter((a): a is string => a !== undefined);
    if (addrs.length === 0) {
      this.log('warn', 'no node address for the HTTP proxy: HTTP rules stay unenforced (Degraded, fail closed)');
      return false;
    }
    const sockets = this.options.sockets;
    await this.options.proxyRoute?.();
    const { sockets: servers, port } = await openOnOnePort(
      addrs,
      this.options.port,
      (address, p) => sockets.tcpServer(address, p, () => undefined, { transparent: true }),
      (server: Server) => (server.address() as { port: number }).port,
      (server) => server.close(),
    );
    this.proxies = servers.map((server) => {
      server.removeAllListeners('connection'); // the proxy serves it
      return new HttpProxy<HttpEndpoint>({
        server,
        resolveClient: (client) => this.resolveClient(client),
        decide: (endpoint, original, request) => this.decide(endpoint, original, request),
        connect: (original, endpoint) => this.connectUpstream(original, endpoint),
        onRecord: (record) => this.keepRecord(record),
      });
    });
    this.listening = { port, ...(addresses.ipv4 ? { ipv4: addresses.ipv4 } : {}), ...(addresses.ipv6 ? { ipv6: addresses.ipv6 } : {}) };
    this.options.datapath.setHttpProxy(this.listening);
    this.log('info', 'HTTP proxy listening', { ...this.listening });
    return true;
  }

  /** What the agent's compile adds while the proxy runs (nothing when it does not). */
  compileInput(): { httpProxy?: true } {
    return this.listening ? { httpProxy: true } : {};
  }

  /** A compile was applied: its endpoints, ipcache, rules and HTTP rules decide the next requests. */
  compiled(compiled: CompiledState, endpoints: readonly LocalEndpoint[]): void {
    this.context.update(compiled, endpoints);
    this.lookup = createHttpRuleLookup(compiled.httpRules ?? []);
    this.attribution = new Map(compiled.rules.map((r) => [r.ruleId, r]));
    if (this.h2c.retain(compiled.rules)) this.options.onDegradedChange?.();
  }

  /** Rules whose meaning an h2c client does not get (h2c-refusals.ts), for the node's Degraded condition. */
  degraded(): DegradedRule[] {
    return this.h2c.entries();
  }

  stats() {
    return this.proxies.map((p) => p.stats());
  }

  /** The request records since the last call, for the window's L7 HTTP summaries (flows/http-summaries.ts). */
  drainRequestRecords(): HttpRequestRecord[] {
    return this.records.drain();
  }

  private keepRecord(record: HttpRecord<HttpEndpoint>): void {
    this.records.keep(toHttpRequestRecord(record));
    if ((record.reason === 'h2c-prior-knowledge' || record.reason === 'h2c-upgrade') && record.endpoint && record.original) this.noteH2c(record.endpoint, record.original);
    this.options.onRecord?.(record);
  }

  /** An h2c connection was refused: the rules deciding that connection go into degraded(). */
  private noteH2c(endpoint: HttpEndpoint, original: HttpDestination): void {
    const rules = this.lookup(endpoint.identity, endpoint.peerIdentity, original.port, endpoint.ingress ? Direction.ingress : Direction.egress);
    const attributed = (rules?.ruleIds ?? []).flatMap((id) => this.attribution.get(id) ?? []);
    if (this.h2c.note(attributed, original.port)) {
      this.log('warn', 'HTTP/2 cleartext refused on an HTTP-rule port: reported Degraded', { port: original.port, rules: attributed.map((r) => `${r.policy}${r.pointer}`) });
      this.options.onDegradedChange?.();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.proxies.map((p) => p.close()));
    this.proxies = [];
  }

  private resolveClient(client: HttpClient): ResolvedHttpClient<HttpEndpoint> | undefined {
    const c = this.context.redirected(this.options.datapath, client, IpProto.tcp);
    return c && { endpoint: { ...c.endpoint, ingress: c.ingress, peerIdentity: c.peerIdentity, clientAddress: client.address }, original: c.original };
  }

  /** An upstream connection for `endpoint`'s connection: from the client's own address and a port of its
   *  own (transparent), registered with the kernel while it lives — the destination's ingress decides it
   *  as the client (and, for an ingress connection, does not hand it to the proxy again), and its replies
   *  come back to this socket. */
  private connectUpstream(original: HttpDestination, endpoint: HttpEndpoint): Socket {
    const identity = endpoint.ingress ? endpoint.peerIdentity : endpoint.identity;
    return connectAsClient(this.options.sockets, this.options.datapath, original, { address: endpoint.clientAddress, identity, decided: endpoint.ingress }, this.log);
  }

  private decide(endpoint: HttpEndpoint, original: HttpDestination, request: HttpRequestInfo): HttpDecision {
    const rules = this.lookup(endpoint.identity, endpoint.peerIdentity, original.port, endpoint.ingress ? Direction.ingress : Direction.egress);
    if (!rules) return { allowed: false };
    const v = rules.match(request);
    return { ...this.context.decision(v), ...(v.actions ? { actions: v.actions } : {}) };
  }
}
