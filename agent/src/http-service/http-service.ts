/**
 * The agent's HTTP service (issue 12, egress): the HTTP proxy (agent/src/http-proxy) on the node's
 * address, wired to the kernel redirect and the compiled HTTP rules.
 *
 * Contract:
 * - start(): opens a TCP server on one port (`port`, 0 = a free one) at each node address — the same
 *   addresses as the DNS proxy — in the pods' namespace (proxySockets), serves each with an
 *   HttpProxy, then tells the kernel where it listens (Datapath.setHttpProxy). Until then, connections
 *   a policy hands to it are dropped (fail closed). Without an address it does not run (false).
 * - A connection is attributed through the kernel's record of the redirect (pod address and port →
 *   original destination and host veth); the veth names the endpoint (last compile). Unknown →
 *   the proxy closes the connection.
 * - Each request is decided by the compiled `httpRules` (createHttpRuleLookup) for (the pod's
 *   identity, the server's identity — the compiled ipcache's answer for the original destination —,
 *   the original port); no rule set → denied (403). Attribution from the compile.
 * - compileInput(): `httpProxy: true` while it runs, so the compile redirects egress `rules.http`.
 * - Every request's record is kept for the flow history (drainRequestRecords, http-records.ts; bounded by
 *   `maxRequestRecords`, beyond: counted and logged at the next drain) and goes to `onRecord`.
 * - stop(): closes the proxies. The kernel keeps redirecting to the port, where nothing listens:
 *   those connections fail (reset) until an agent is back — fail closed.
 */
import type { Server } from 'node:net';

import { createHttpRuleLookup, type CompiledState, type HttpRuleLookup, type LocalEndpoint } from '../compile/index.js';
import { HttpProxy } from '../http-proxy/index.js';
import type { HttpClient, HttpDecision, HttpDestination, HttpRecord, HttpRequestInfo, ResolvedHttpClient } from '../http-proxy/index.js';
import type { ProxyAddress } from '../kernel/codecs.js';
import { IpProto } from '../kernel/identities.js';
import { ProxyContext, type ProxyEndpoint, type RedirectRecords } from '../proxy-context.js';
import { openOnOnePort, type ProxySockets } from '../proxy-sockets.js';
import type { Logger } from '../sync/sync-loop.js';
import { RecordBuffer } from '../flows/record-buffer.js';
import type { HttpRequestRecord } from '../flows/http-summaries.js';
import { toHttpRequestRecord } from './http-records.js';

/** The client side of a proxied connection: its endpoint and the server's identity. */
export interface HttpEndpoint extends ProxyEndpoint {
  /** identity of the server the pod connected to (the compiled ipcache's answer) */
  serverIdentity: number;
}

export interface HttpServiceOptions {
  datapath: RedirectRecords & { setHttpProxy(proxy: ProxyAddress | undefined): void };
  sockets: ProxySockets;
  /** node addresses, read at start() (the DNS proxy's: the kernel keeps one pair for all proxies) */
  addresses: () => { ipv4?: string | undefined; ipv6?: string | undefined };
  /** 0 = a free port (the same on both families) */
  port: number;
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
    const { sockets: servers, port } = await openOnOnePort(
      addrs,
      this.options.port,
      (address, p) => sockets.tcpServer(address, p, () => undefined),
      (server: Server) => (server.address() as { port: number }).port,
      (server) => server.close(),
    );
    this.proxies = servers.map((server) => {
      server.removeAllListeners('connection'); // the proxy serves it
      return new HttpProxy<HttpEndpoint>({
        server,
        resolveClient: (client) => this.resolveClient(client),
        decide: (endpoint, original, request) => this.decide(endpoint, original, request),
        connect: (original) => sockets.tcpConnect(original.address, original.port),
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
    this.options.onRecord?.(record);
  }

  async stop(): Promise<void> {
    await Promise.all(this.proxies.map((p) => p.close()));
    this.proxies = [];
  }

  private resolveClient(client: HttpClient): ResolvedHttpClient<HttpEndpoint> | undefined {
    const c = this.context.redirected(this.options.datapath, client, IpProto.tcp);
    return c && { endpoint: { ...c.endpoint, serverIdentity: c.peerIdentity }, original: c.original };
  }

  private decide(endpoint: HttpEndpoint, original: HttpDestination, request: HttpRequestInfo): HttpDecision {
    const rules = this.lookup(endpoint.identity, endpoint.serverIdentity, original.port);
    if (!rules) return { allowed: false };
    const v = rules.match(request);
    return { ...this.context.decision(v), ...(v.actions ? { actions: v.actions } : {}) };
  }
}
