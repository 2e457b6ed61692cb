/**
 * The agent's DNS service: the DNS proxy (agent/src/dns) on the node's address, wired to the kernel
 * redirect, the compiled policy and FQDN learning.
 *
 * Contract:
 * - start(): restores the learned names (stateDir/fqdn-cache.json), opens the proxy's UDP and TCP
 *   sockets on one port (`port`, 0 = a free one) at each configured node address — in the pods'
 *   namespace (proxySockets) — starts the proxy, then tells the kernel where it listens
 *   (Datapath.setDnsProxy). Until then, connections a policy redirects are dropped (fail closed). It
 *   installs the proxy route first (`proxyRoute`): answers to its transparent upstream sockets need it.
 * - A query is attributed through the kernel's record of the redirect (Datapath.lookupProxyRedirect:
 *   the pod's address and port → the original destination and the pod's host veth); the veth names
 *   the endpoint (namespace/pod and identity, from the last compile). Unknown → REFUSED.
 * - It is allowed as the compiled dnsRules say for (pod identity, the resolver's identity — the
 *   compiled ipcache's answer for the original destination —, transport, port, name).
 * - An answer is released only after FqdnLearner.learn resolved: its selected names' IPs are in the
 *   maps. Learned names are saved (debounced) to the state directory and at stop().
 * - compileInput(): what the agent's compile must add (`dnsProxy: true`, the learned names).
 * - Every query's record goes to `onRecord` with the identities resolved (for the flow history).
 * - stop(): closes the proxy and saves the names. The kernel keeps redirecting to the port, where
 *   nothing listens any more: DNS of endpoints with DNS rules fails closed until an agent is back.
 */
import { readFile } from 'node:fs/promises';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, type Server } from 'node:net';
import { join } from 'node:path';

import { createDnsQueryVerdict, createFqdnLearner, type CompiledState, type DnsQueryVerdict, type LocalEndpoint } from '../compile/index.js';
import { DnsProxy } from '../dns/dns-proxy.js';
import { ipLiteralLookup } from '../dns/udp-upstream.js';
import type { DnsAnswer, DnsClient, DnsDestination, DnsRecord, QueryDecision, ResolvedClient, UpstreamSocketFactory } from '../dns/types.js';
import { DEFAULT_FQDN_LIMITS, FqdnCache, type FqdnCacheLimits } from '../fqdn/fqdn-cache.js';
import { FqdnLearner } from '../fqdn/fqdn-learner.js';
import type { DnsQueryRecord } from '../flows/dns-summaries.js';
import type { DnsProxyAddress } from '../kernel/codecs.js';
import { IpProto } from '../kernel/identities.js';
import type { NativeBinding } from '../kernel/native-binding.js';
import { openOnOnePort, type ProxySockets } from '../proxy-sockets.js';
import { connectAsClient, registerUpstream, type UpstreamRegistry } from '../proxy-upstreams.js';
import { writeFileAtomic } from '../sync/bundle-store.js';
import type { Logger } from '../sync/sync-loop.js';
import { ProxyContext, type RedirectRecords } from '../proxy-context.js';

export const FQDN_CACHE_FILE = 'fqdn-cache.json';

/** The endpoint a query came from, as the proxy carries it (one object per query). */
export interface DnsEndpoint {
  /** namespace/pod: the learned names' owner */
  key: string;
  identity: number;
  ifindex: number;
  /** 6 (TCP) or 17 (UDP): the query's transport */
  proto: number;
  /** identity of the resolver the pod addressed (the compiled ipcache's answer) */
  resolverIdentity: number;
  /** the pod's address the query came from: the proxy's upstream socket speaks with it */
  clientAddress: string;
}


export interface DnsServiceOptions {
  datapath: RedirectRecords & { setDnsProxy(proxy: DnsProxyAddress | undefined): void };
  sockets: ProxySockets;
  /** upstream sockets in the pods' namespace (upstreamSockets()) */
  upstream: UpstreamSocketFactory;
  /** installs the proxy route the answers to transparent upstream sockets need (kernel/proxy-route.ts) */
  proxyRoute?: () => Promise<void>;
  /** node addresses the proxy listens on, read at start() (after the endpoint source started); with
   *  neither, the proxy does not run: DNS rules and toFQDNs stay Degraded (fail closed) */
  addresses: () => { ipv4?: string | undefined; ipv6?: string | undefined };
  /** 0 = a free port (the same on both families) */
  port: number;
  stateDir: string;
  limits?: FqdnCacheLimits;
  /** re-compile and apply the current bundle (compileInput() is read then) */
  program: () => Promise<void>;
  /** every proxied query (endpoint undefined when it could not be attributed), besides the flow
   *  history's records (drainQueryRecords) */
  onQuery?: (record: DnsRecord<DnsEndpoint>) => void;
  /** query records held for the flow history between two drains (default 100,000; beyond: counted in
   *  `recordsDropped` and logged at the next drain) */
  maxQueryRecords?: number;
  /** destinations of live connections (liveConnectionDestinations over the conntrack): an expired IP
   *  one of them uses stays (zombie) until that connection is gone */
  liveDestinations?: () => ReadonlySet<string>;
  /** how often expiry is checked (ms; default 1000) */
  expiryIntervalMs?: number;
  log?: Logger;
  upstreamTimeoutMs?: number;
}

/** Upstream sockets the proxy forwards through, created in the pods' namespace. With `registry`, a socket
 *  for an owner (the client's identity and address) speaks with the client's own address (transparent,
 *  as the HTTP proxy's) and is registered with the kernel while it is open (proxy-upstreams.ts): the
 *  resolver — on this node or another — sees the client, its ingress policy decides the queries as the
 *  client, and the kernel steers the answers back to the socket. Without (or without an owner): the
 *  wildcard address of the family. */
export function upstreamSockets(
  binding: Pick<NativeBinding, 'openSocket' | 'localPort'>,
  sockets: ProxySockets,
  netnsPath?: string,
  registered?: { registry: UpstreamRegistry; log?: Logger },
): UpstreamSocketFactory {
  const wildcard = (family: 4 | 6): string => (family === 4 ? '0.0.0.0' : '::');
  return {
    udp: (family, owner) => {
      const from = registered && owner ? owner : undefined;
      const fd = binding.openSocket(family, 'udp', from?.address ?? wildcard(family), 0, netnsPath, from !== undefined);
      const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6', lookup: ipLiteralLookup });
      if (from && registered) {
        const upstream = { address: from.address, ipVersion: family, proto: IpProto.udp, port: binding.localPort(fd) };
        socket.once('close', registerUpstream(registered.registry, upstream, from.identity, false, registered.log));
      }
      socket.bind({ fd }); // sends before 'listening' are queued by node:dgram
      return socket;
    },
    tcp: (destination, owner) =>
      registered && owner
        ? connectAsClient(sockets, registered.registry, destination, { ...owner, decided: false }, registered.log)
        : sockets.tcpConnect(destination.address, destination.port),
  };
}

export class DnsService {
  readonly cache: FqdnCache;
  readonly learner: FqdnLearner;
  private proxy: DnsProxy<DnsEndpoint> | undefined;
  private listening: DnsProxyAddress | undefined;
  /** endpoints, identities and rule attribution of the last compile applied */
  readonly context = new ProxyContext();
  private verdict: (q: Parameters<ReturnType<typeof createDnsQueryVerdict>>[0]) => DnsQueryVerdict = () => ({ allowed: false, audit: false, ruleId: 0 });
  private records: DnsQueryRecord[] = [];
  /** records the flow history lost because the buffer was full (cumulative) */
  recordsDropped = 0;
  private recordsDroppedReported = 0;
  private saveTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiring = false;
  private readonly log: Logger;

  constructor(private readonly options: DnsServiceOptions) {
    this.log = options.log ?? (() => undefined);
    this.cache = new FqdnCache(options.limits ?? DEFAULT_FQDN_LIMITS);
    this.learner = new FqdnLearner({ cache: this.cache, program: options.program });
  }

  /** Where the proxy listens (after start()). */
  address(): DnsProxyAddress | undefined {
    return this.listening;
  }

  /** Starts the proxy; false (logged) when no node address is known — it then does not run. */
  async start(): Promise<boolean> {
    const addresses = this.options.addresses();
    if (!addresses.ipv4 && !addresses.ipv6) {
      this.log('warn', 'no node address for the DNS proxy (--dns-proxy-address, or the node in the endpoint source): DNS rules and toFQDNs stay unenforced (Degraded, fail closed)');
      return false;
    }
    await this.restore();
    await this.options.proxyRoute?.();
    const { udp, tcp, port } = await this.openSockets(addresses);
    this.proxy = new DnsProxy<DnsEndpoint>({
      udp,
      tcp,
      upstream: this.options.upstream,
      ...(this.options.upstreamTimeoutMs !== undefined ? { upstreamTimeoutMs: this.options.upstreamTimeoutMs } : {}),
      resolveClient: (client) => this.resolveClient(client),
      allowQuery: (endpoint, qname, _qtype, original) => this.allowQuery(endpoint, qname, original),
      learn: (endpoint, answer) => this.learn(endpoint, answer),
      onRecord: (record) => this.keepRecord(record),
      upstreamOwner: (endpoint) => ({ identity: endpoint.identity, address: endpoint.clientAddress }),
    });
    this.listening = { port, ...(addresses.ipv4 ? { ipv4: addresses.ipv4 } : {}), ...(addresses.ipv6 ? { ipv6: addresses.ipv6 } : {}) };
    this.options.datapath.setDnsProxy(this.listening);
    this.expiryTimer = setInterval(() => void this.expireDue(), this.options.expiryIntervalMs ?? 1000);
    this.expiryTimer.unref();
    this.log('info', 'DNS proxy listening', { ...this.listening, learnedNames: this.cache.union().length });
    return true;
  }

  /** One expiry pass when something is due (the conntrack is read only then). */
  private async expireDue(): Promise<void> {
    const next = this.cache.nextExpiry();
    if (this.expiring || next === undefined || next > Date.now()) return;
    this.expiring = true;
    try {
      let live: ReadonlySet<string> | undefined;
      const gone = await this.expire((ip) => (live ??= this.options.liveDestinations?.() ?? new Set()).has(ip));
      if (gone > 0) this.log('info', 'learned DNS addresses expired', { pairs: gone });
    } catch (e) {
      this.log('warn', 'expiring learned DNS names failed; retrying', { error: (e as Error).message });
    } finally {
      this.expiring = false;
    }
  }

  /** What the agent's compile adds while the proxy runs (nothing when it does not). */
  compileInput(): { dnsProxy?: true; fqdnNames?: { name: string; ips: string[] }[]; fqdnZombies?: string[] } {
    return this.listening ? { dnsProxy: true, fqdnNames: this.learner.names(), fqdnZombies: this.learner.zombies() } : {};
  }

  /** A compile was applied: its endpoints, ipcache, rules, DNS rules and FQDN selectors decide the
   *  next queries and what their answers teach. */
  compiled(compiled: CompiledState, endpoints: readonly LocalEndpoint[]): void {
    this.context.update(compiled, endpoints);
    this.verdict = createDnsQueryVerdict(compiled.dnsRules ?? []);
    this.learner.setSelection(createFqdnLearner(compiled.fqdnSelectors ?? []));
  }

  /** Expires learned names (FqdnLearner.expire) and saves what is left. Returns what changed. */
  async expire(alive: (ip: string) => boolean): Promise<number> {
    const gone = await this.learner.expire(alive);
    if (gone > 0) this.scheduleSave();
    return gone;
  }

  async stop(): Promise<void> {
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.proxy?.close();
    await this.save();
  }

  stats() {
    return this.proxy?.stats();
  }

  /** The query records since the last call, for the window's L7 DNS summaries (flows/dns-summaries.ts). */
  drainQueryRecords(): DnsQueryRecord[] {
    const out = this.records;
    this.records = [];
    if (this.recordsDropped > this.recordsDroppedReported) {
      this.log('warn', 'DNS query records dropped: the flow history lacks them (record buffer full)', { dropped: this.recordsDropped - this.recordsDroppedReported });
      this.recordsDroppedReported = this.recordsDropped;
    }
    return out;
  }

  private keepRecord(record: DnsRecord<DnsEndpoint>): void {
    this.options.onQuery?.(record);
    if (this.records.length >= (this.options.maxQueryRecords ?? 100_000)) {
      this.recordsDropped += 1;
      return;
    }
    const original = record.original;
    this.records.push({
      time: record.time,
      sourceIdentity: record.endpoint?.identity ?? 0,
      resolverIdentity: record.endpoint?.resolverIdentity ?? 0,
      transport: record.transport,
      port: original?.port ?? 53,
      ipVersion: original && isIP(original.address) === 6 ? 6 : 4,
      qname: record.qname,
      qtypes: record.qtypes,
      rcode: record.rcode,
      ips: record.ips,
      ...(record.cnames ? { cnames: record.cnames } : {}),
      ttl: record.ttl,
      verdict: record.verdict === 'forwarded' && record.audit ? 'audit' : record.verdict,
      ...(record.ruleId !== undefined ? { ruleId: record.ruleId } : {}),
      latencyMs: record.latencyMs,
    });
  }

  private resolveClient(client: DnsClient): ResolvedClient<DnsEndpoint> | undefined {
    const proto = client.transport === 'tcp' ? IpProto.tcp : IpProto.udp;
    const c = this.context.redirected(this.options.datapath, client, proto);
    return c && { endpoint: { ...c.endpoint, ifindex: c.ifindex, proto, resolverIdentity: c.peerIdentity, clientAddress: client.address }, original: c.original };
  }

  private allowQuery(endpoint: DnsEndpoint, qname: string, original: DnsDestination): QueryDecision {
    return this.context.decision(this.verdict({ localId: endpoint.identity, peerId: endpoint.resolverIdentity, proto: endpoint.proto, port: original.port, qname }));
  }

  private async learn(endpoint: DnsEndpoint, answer: DnsAnswer): Promise<void> {
    const outcome = await this.learner.learn(endpoint, answer);
    if (outcome.added > 0) this.scheduleSave();
    if (outcome.droppedIps > 0 || outcome.droppedNames > 0) this.log('warn', 'FQDN cache limit reached; left out', { endpoint: endpoint.key, ips: outcome.droppedIps, names: outcome.droppedNames });
  }

  private async openSockets(addresses: { ipv4?: string | undefined; ipv6?: string | undefined }): Promise<{ udp: UdpSocket[]; tcp: Server[]; port: number }> {
    const addrs = [addresses.ipv4, addresses.ipv6].filter((a): a is string => a !== undefined);
    const sockets = this.options.sockets;
    const pairs = await openOnOnePort(
      addrs,
      this.options.port,
      async (address, port) => {
        const udp = await sockets.udp(address, port);
        try {
          // the proxy serves the server itself: no listener of ours
          return { udp, tcp: await sockets.tcpServer(address, udp.address().port, () => undefined) };
        } catch (e) {
          udp.close();
          throw e;
        }
      },
      (pair) => pair.udp.address().port,
      (pair) => {
        pair.udp.close();
        pair.tcp.close();
      },
    );
    for (const { tcp } of pairs.sockets) tcp.removeAllListeners('connection');
    return { udp: pairs.sockets.map((p) => p.udp), tcp: pairs.sockets.map((p) => p.tcp), port: pairs.port };
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.save();
    }, 1000);
    this.saveTimer.unref();
  }

  private async save(): Promise<void> {
    try {
      await writeFileAtomic(join(this.options.stateDir, FQDN_CACHE_FILE), JSON.stringify(this.cache));
    } catch (e) {
      this.log('warn', 'could not save the learned DNS names', { error: (e as Error).message });
    }
  }

  private async restore(): Promise<void> {
    let text: string;
    try {
      text = await readFile(join(this.options.stateDir, FQDN_CACHE_FILE), 'utf8');
    } catch {
      return; // first start
    }
    try {
      this.cache.restore(JSON.parse(text));
    } catch (e) {
      this.log('warn', 'learned DNS names unreadable; starting without them', { error: (e as Error).message });
    }
  }
}
