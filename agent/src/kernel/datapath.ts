/**
 * Datapath — the agent's kernel interface: load the eBPF object, attach it to pods' host-side veths,
 * read and write its maps, read-and-reset flow counters. Thin: no policy semantics live here (the
 * compiler produces PolicyEntry values; precedence is defined once, in agent/bpf/policy.c).
 *
 * Persistence contract: everything lives under `pinDir` on bpffs — maps (fn_*), programs, and TCX
 * links (links/<ifindex>-<hook>). Enforcement continues while the agent is down; a restarted
 * agent calls load() again, which reuses the pinned maps as they are (never flushed) and switches
 * pinned links to the freshly loaded programs atomically (attachEndpoint).
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import {
  FLOW_VALUE_REDUCERS,
  LAYOUTS,
  decodeAll,
  decodeFlows,
  encodeAll,
  FlowRecordView,
  readConntrack,
  readEndpoint,
  readIpcache,
  readConfig,
  readPolicy,
  readProxyRedirect,
  type ProxyUpstream,
  writeUpstreamKey,
  writeUpstreamValue,
  sumCounters,
  writeConfig,
  writeEndpointKey,
  writeEndpointValue,
  writeIpcacheKey,
  writeIpcacheValue,
  writePolicyKey,
  writePolicyValue,
  writeProxyKey,
  type ConntrackEntry,
  type DnsProxyAddress,
  type ProxyAddress,
  type EndpointEntry,
  type FlowRecord,
  type ConfigValue,
  type IpcacheEntry,
  type KernelCounters,
  type PolicyEntry,
  type PolicyKey,
  type ProxyRedirect,
} from './codecs.js';
import { ConfigFlag, MapName, ProgramName, UpstreamFlag } from './identities.js';
import { findRepoRoot, loadNativeBinding, type Hook, type NativeBinding, type RawEntries } from './native-binding.js';

export type AttachMode = 'auto' | 'tcx' | 'tc';

/** Idle time after which a conntrack entry in that state no longer exists (policy.c's conntrack
 *  block). Defaults are Cilium's: SYN 60 s, established 21,600 s, closing 10 s, non-TCP 60 s. */
export interface ConntrackTimeouts {
  synMs?: number;
  establishedMs?: number;
  closingMs?: number;
  otherMs?: number;
}

export interface DatapathOptions {
  /** bpffs directory owned by this agent instance, e.g. /sys/fs/bpf/fleetnet/<instance>.
   *  Created if missing; its parent must be on a bpffs mount. */
  pinDir: string;
  /** compiled object; default <repo>/agent/bpf/build/fleetnet.bpf.o */
  objectPath?: string;
  /** the addon (injected in tests); default loadNativeBinding() */
  binding?: NativeBinding;
  /** network namespace file of the host-side veths (/run/netns/X); default: the caller's */
  netnsPath?: string;
  /** 'auto' (default) = TCX, clsact only when TCX attach fails */
  attachMode?: AttachMode;
  /** max_entries for maps created by this load (ignored for maps already pinned); fn_flows' also
   *  sizes fn_flows_alt unless that is given */
  maxEntries?: Partial<Record<MapName, number>>;
  /** 'always' (default, Cilium's allow-localhost): the node's own addresses (identity host) reach
   *  pods' ingress unless a deny matches; 'policy': host traffic is decided by policy like any peer */
  allowLocalhost?: 'always' | 'policy';
  /** 'stack' (default): every packet crosses the node's stack between two pods of this node and is
   *  decided at both hooks; 'bpf': the source's hook decides the destination's ingress too and delivers
   *  into the destination pod with bpf_redirect_peer (Cilium's BPF host routing) — TCP and UDP flows the
   *  node does not NAT skip the node's netfilter (docs/datapath.md "Host routing") */
  hostRouting?: 'stack' | 'bpf';
  /** written to fn_config at every load(); unset fields = the compiled defaults */
  conntrackTimeouts?: ConntrackTimeouts;
}

export interface AttachResult {
  ingress: 'tcx-created' | 'tcx-updated' | 'tc';
  egress: 'tcx-created' | 'tcx-updated' | 'tc';
}

export interface LoadResult {
  /** wall time of load + pin, ms */
  loadMs: number;
  /** maps that were already pinned and are reused with their contents */
  reusedMaps: MapName[];
}

const MAP_NAMES = Object.values(MapName);
const LOOPBACK_IFINDEX = 1;
const TO_PROXY_LINK = 'to-proxy-lo';

export class Datapath {
  readonly pinDir: string;
  private readonly objectPath: string;
  private readonly bpf: NativeBinding;
  private readonly netnsPath: string | undefined;
  private readonly attachMode: AttachMode;
  private readonly maxEntries: Partial<Record<MapName, number>>;
  private readonly allowLocalhost: 'always' | 'policy';
  private readonly hostRouting: 'stack' | 'bpf';
  private readonly conntrackTimeouts: ConntrackTimeouts;
  private maps: Partial<Record<MapName, number>> = {};
  private programs: Partial<Record<string, number>> = {};

  constructor(options: DatapathOptions) {
    this.pinDir = options.pinDir;
    this.objectPath = options.objectPath ?? join(findRepoRoot(), 'agent', 'bpf', 'build', 'fleetnet.bpf.o');
    this.bpf = options.binding ?? loadNativeBinding();
    this.netnsPath = options.netnsPath;
    this.attachMode = options.attachMode ?? 'auto';
    const flows = options.maxEntries?.[MapName.flows];
    this.maxEntries = { ...(flows !== undefined ? { [MapName.flowsAlt]: flows } : {}), ...(options.maxEntries ?? {}) };
    this.allowLocalhost = options.allowLocalhost ?? 'always';
    this.hostRouting = options.hostRouting ?? 'stack';
    this.conntrackTimeouts = options.conntrackTimeouts ?? {};
    for (const [k, v] of Object.entries(this.conntrackTimeouts)) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 0xffffffff)) throw new RangeError(`conntrackTimeouts.${k} must be an integer of milliseconds ≥ 1, got ${v}`);
    }
  }

  /** Loads the object and pins maps/programs under pinDir, reusing pinned maps (never flushed). */
  load(): LoadResult {
    mkdirSync(this.pinDir, { recursive: true, mode: 0o700 });
    const reusedMaps = MAP_NAMES.filter((n) => existsSync(join(this.pinDir, n)));
    this.closeFds();
    const t0 = performance.now();
    const r = this.bpf.loadObject(this.objectPath, this.pinDir, this.maxEntries as Record<string, number>);
    const loadMs = performance.now() - t0;
    this.programs = r.programs;
    for (const n of MAP_NAMES) {
      const fd = r.maps[n];
      if (fd === undefined) throw new Error(`fleetnet: object ${this.objectPath} has no map ${n}`);
      this.maps[n] = fd;
    }
    // Settings, not decisions: written without a generation bump (existing connections keep their
    // entries; new timeouts apply from the next packet).
    const current = this.config();
    this.writeConfigValue({
      ...current,
      flags:
        (current.flags & ~(ConfigFlag.localhostPolicy | ConfigFlag.hostRouting)) |
        (this.allowLocalhost === 'policy' ? ConfigFlag.localhostPolicy : 0) |
        (this.hostRouting === 'bpf' ? ConfigFlag.hostRouting : 0),
      ctSynMs: this.conntrackTimeouts.synMs ?? 0,
      ctEstablishedMs: this.conntrackTimeouts.establishedMs ?? 0,
      ctClosingMs: this.conntrackTimeouts.closingMs ?? 0,
      ctOtherMs: this.conntrackTimeouts.otherMs ?? 0,
      // a proxy listens once this process's service says so (setDnsProxy / setHttpProxy)
      dnsProxy: undefined,
      httpProxy: undefined,
    });
    // upstream sockets of an earlier process are gone; a port they held must not speak for a pod
    this.clearMap(MapName.proxyUpstreams);
    return { loadMs, reusedMaps };
  }

  /** Opens the pinned maps only (no program load): map I/O for a process that did not load. */
  openPinned(): void {
    this.closeFds();
    for (const n of MAP_NAMES) this.maps[n] = this.bpf.getObject(join(this.pinDir, n));
  }

  /**
   * Writes the endpoint entry, then attaches both programs to the host-side veth (pod egress on
   * its TC ingress, pod ingress on its TC egress). Write the endpoint's policy entries BEFORE this
   * so its first packet is already decided correctly. Idempotent; re-attaching swaps programs
   * atomically.
   */
  attachEndpoint(endpoint: EndpointEntry): AttachResult {
    this.upsertEndpoints([endpoint]);
    return {
      ingress: this.attachHook(endpoint.ifindex, 'ingress', this.program(ProgramName.fromPod)),
      egress: this.attachHook(endpoint.ifindex, 'egress', this.program(ProgramName.toPod)),
    };
  }

  /** Detaches both hooks (TCX link or clsact filter) and deletes the endpoint entry. */
  detachEndpoint(ifindex: number): void {
    for (const hook of ['ingress', 'egress'] as const) {
      if (!this.bpf.detachTcx(this.linkPath(ifindex, hook))) {
        try {
          this.bpf.detachTc(ifindex, hook, this.netnsPath);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENODEV' && (e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        }
      }
    }
    this.deleteEndpoints([ifindex]);
  }

  /** ifindexes with a pinned TCX link (either hook). */
  listAttachedIfindexes(): number[] {
    const dir = join(this.pinDir, 'links');
    if (!existsSync(dir)) return [];
    const set = new Set(readdirSync(dir).map((f) => Number(f.split('-')[0])));
    return [...set].filter(Number.isInteger).sort((a, b) => a - b);
  }

  upsertEndpoints(entries: readonly EndpointEntry[]): number {
    const keys = encodeAll(entries, 4, (b, o, e) => writeEndpointKey(b, o, e.ifindex));
    const values = encodeAll(entries, LAYOUTS.endpointValue.size, writeEndpointValue);
    return this.bumped(this.bpf.updateBatch(this.map(MapName.endpoints), keys, values));
  }

  deleteEndpoints(ifindexes: readonly number[]): number {
    return this.bumped(this.bpf.deleteBatch(this.map(MapName.endpoints), encodeAll(ifindexes, 4, writeEndpointKey)));
  }

  listEndpoints(): EndpointEntry[] {
    const d = this.bpf.dump(this.map(MapName.endpoints));
    return decodeAll(d.keys, 4, (_b, o) => readEndpoint(d.keys, o, d.values, (o / 4) * LAYOUTS.endpointValue.size));
  }

  upsertIpcache(entries: readonly IpcacheEntry[]): number {
    const keys = encodeAll(entries, LAYOUTS.ipcacheKey.size, (b, o, e) => writeIpcacheKey(b, o, e.cidr));
    const values = encodeAll(entries, LAYOUTS.ipcacheValue.size, writeIpcacheValue);
    return this.bumped(this.bpf.updateBatch(this.map(MapName.ipcache), keys, values));
  }

  /** cidrs as in IpcacheEntry.cidr */
  deleteIpcache(cidrs: readonly string[]): number {
    return this.bumped(this.bpf.deleteBatch(this.map(MapName.ipcache), encodeAll(cidrs, LAYOUTS.ipcacheKey.size, writeIpcacheKey)));
  }

  listIpcache(): IpcacheEntry[] {
    const d = this.bpf.dump(this.map(MapName.ipcache));
    const ks = LAYOUTS.ipcacheKey.size;
    return decodeAll(d.keys, ks, (_b, o) => readIpcache(d.keys, o, d.values, (o / ks) * LAYOUTS.ipcacheValue.size));
  }

  /** Adds or replaces policy entries: one BPF_MAP_UPDATE_BATCH call (10k entries ≈ 10 ms here).
   *  Add before delete when reconciling, so no moment lacks an entry that stays. */
  upsertPolicy(entries: readonly PolicyEntry[]): number {
    const keys = encodeAll(entries, LAYOUTS.policyKey.size, writePolicyKey);
    const values = encodeAll(entries, LAYOUTS.policyValue.size, writePolicyValue);
    return this.bumped(this.bpf.updateBatch(this.map(MapName.policy), keys, values));
  }

  deletePolicy(keys: readonly PolicyKey[]): number {
    return this.bumped(this.bpf.deleteBatch(this.map(MapName.policy), encodeAll(keys, LAYOUTS.policyKey.size, writePolicyKey)));
  }

  listPolicy(): PolicyEntry[] {
    const d = this.bpf.dump(this.map(MapName.policy));
    const ks = LAYOUTS.policyKey.size;
    return decodeAll(d.keys, ks, (_b, o) => readPolicy(d.keys, o, d.values, (o / ks) * LAYOUTS.policyValue.size));
  }

  listConntrack(): ConntrackEntry[] {
    const d = this.bpf.dump(this.map(MapName.conntrack));
    const ks = LAYOUTS.ctKey.size;
    return decodeAll(d.keys, ks, (_b, o) => readConntrack(d.keys, o, d.values, (o / ks) * LAYOUTS.ctValue.size));
  }

  /** Current decision generation (fn_config). Every upsert/delete of endpoints, ipcache or policy
   *  bumps it AFTER its writes, so connections decided before are re-decided on their next packet in
   *  the original direction (replies and related ICMP errors pass whatever the generation). */
  generation(): number {
    return this.config().generation;
  }

  /** fn_config as the programs read it (timeouts 0 = compiled defaults). */
  /** Switches same-node delivery (DatapathOptions.hostRouting) from the next packet on: a setting, so
   *  no generation bump — connections keep their entries. */
  setHostRouting(mode: 'stack' | 'bpf'): void {
    const current = this.config();
    this.writeConfigValue({ ...current, flags: (current.flags & ~ConfigFlag.hostRouting) | (mode === 'bpf' ? ConfigFlag.hostRouting : 0) });
  }

  /** Where the agent's DNS proxy listens (undefined: it does not run — connections a policy hands to
   *  it are dropped, counted as noProxy). A decision input: bumps the generation, so connections
   *  decided under the old setting are decided again on their next packet. */
  setDnsProxy(proxy: DnsProxyAddress | undefined): void {
    const current = this.config();
    this.writeConfigValue({ ...current, dnsProxy: proxy, generation: (current.generation + 1) >>> 0 });
  }

  /** The original destination of the pod connection (pod address, source port, protocol) the kernel
   *  handed to a proxy, or undefined when it has no record of it. */
  lookupProxyRedirect(podAddress: string, podPort: number, proto: number): ProxyRedirect | undefined {
    const key = Buffer.alloc(LAYOUTS.proxyKey.size);
    writeProxyKey(key, 0, podAddress, podPort, proto);
    const v = this.bpf.lookup(this.map(MapName.proxyNat), key);
    return v ? readProxyRedirect(key, 0, v, 0) : undefined;
  }

  /** Every connection the kernel handed to a proxy and still remembers (fn_proxy_nat, LRU). */
  listProxyRedirects(): ProxyRedirect[] {
    const d = this.bpf.dump(this.map(MapName.proxyNat));
    const ks = LAYOUTS.proxyKey.size;
    return decodeAll(d.keys, ks, (_b, o) => readProxyRedirect(d.keys, o, d.values, (o / ks) * LAYOUTS.proxyValue.size));
  }

  /** A proxy's upstream socket — `upstream`: its IP version, protocol (TCP or UDP) and bound local port,
   *  not connected or sending yet — carries traffic for a client of `identity`: a pod's ingress hook
   *  decides what comes from the node on it for that identity (and, `decided`, does not hand it to the
   *  proxy again). Call unregisterProxyUpstream when the socket closes. */
  registerProxyUpstream(upstream: ProxyUpstream, identity: number, decided: boolean): void {
    const key = Buffer.alloc(LAYOUTS.upstreamKey.size);
    const value = Buffer.alloc(LAYOUTS.upstreamValue.size);
    writeUpstreamKey(key, 0, upstream);
    writeUpstreamValue(value, 0, identity, decided ? UpstreamFlag.decided : 0);
    this.bpf.updateBatch(this.map(MapName.proxyUpstreams), key, value);
  }

  unregisterProxyUpstream(upstream: ProxyUpstream): void {
    const key = Buffer.alloc(LAYOUTS.upstreamKey.size);
    writeUpstreamKey(key, 0, upstream);
    this.bpf.deleteBatch(this.map(MapName.proxyUpstreams), key);
  }

  /** Where the agent's HTTP proxy listens (undefined: it does not run), as setDnsProxy; both proxies
   *  listen on the same node addresses. */
  setHttpProxy(proxy: ProxyAddress | undefined): void {
    if (proxy) this.attachToProxy();
    const current = this.config();
    this.writeConfigValue({ ...current, httpProxy: proxy, generation: (current.generation + 1) >>> 0 });
  }

  config(): ConfigValue {
    const v = this.bpf.lookup(this.map(MapName.config), Buffer.alloc(4));
    if (!v) throw new Error('fleetnet: fn_config has no entry 0');
    return readConfig(v, 0);
  }

  /** Kernel loss counters, cumulative since the maps were created (never reset): take differences. */
  readCounters(): KernelCounters {
    const v = this.bpf.lookup(this.map(MapName.counters), Buffer.alloc(4));
    if (!v) throw new Error('fleetnet: fn_counters has no entry 0');
    return sumCounters(v);
  }

  /** Deletes every conntrack entry: established connections are re-decided by policy on their
   *  next packet, and replies need a fresh allowed packet first. Returns entries deleted. */
  clearConntrack(): number {
    return this.clearMap(MapName.conntrack);
  }

  private clearMap(name: MapName): number {
    const fd = this.map(name);
    return this.bpf.deleteBatch(fd, this.bpf.dump(fd).keys);
  }

  /** Takes all flow counters out of the kernel (summed over CPUs) and resets them; exact (see
   *  readAndResetFlowsRaw). */
  readAndResetFlows(): FlowRecord[] {
    const d = this.readAndResetFlowsRaw();
    return decodeFlows(d.keys, d.values, d.count);
  }

  /** Same as readAndResetFlows in the agent's form: a view over the read's buffers that decodes
   *  each record into one reused object when visited (no object per record). */
  readAndResetFlowRecords(): FlowRecordView {
    const d = this.readAndResetFlowsRaw();
    return new FlowRecordView(d.keys, d.values, d.count);
  }

  /** Same as readAndResetFlows without decoding: count fn_flow_key (20 B) back to back in keys and
   *  count CPU-reduced fn_flow_value (40 B) in values — for an aggregator that keys on raw bytes. */
  readAndResetFlowsRaw(): RawEntries {
    const config = this.config();
    const counted = this.activeFlowMap();
    // Flip the programs to the other map, wait until no program run can still write this one (an
    // RCU grace period), then take everything out of it: no increment races the read.
    this.writeConfigValue({ ...config, flowSlot: config.flowSlot === 1 ? 0 : 1 });
    this.bpf.synchronizeRcu();
    return this.bpf.readAndResetPercpu(this.map(counted), FLOW_VALUE_REDUCERS);
  }

  /** The flow map the programs count into now (fn_config.flow_slot). */
  activeFlowMap(): typeof MapName.flows | typeof MapName.flowsAlt {
    return this.config().flowSlot === 1 ? MapName.flowsAlt : MapName.flows;
  }

  /** fd of a loaded/opened map (for tools and benches that need raw access). */
  map(name: MapName): number {
    const fd = this.maps[name];
    if (fd === undefined) throw new Error(`fleetnet: map ${name} not open — call load() or openPinned() first`);
    return fd;
  }

  /** Closes this process's fds. Pinned maps, programs and links — and so enforcement — stay. */
  close(): void {
    this.closeFds();
  }

  /** Uninstall: detaches every pinned TCX link and any fleetnet clsact filter on a known endpoint,
   *  then removes pinDir (maps go with their last user). Best effort per hook; never throws for a
   *  device or namespace that is already gone. */
  destroy(): void {
    this.bpf.detachTcx(join(this.pinDir, TO_PROXY_LINK));
    for (const ifindex of this.listAttachedIfindexes()) {
      for (const hook of ['ingress', 'egress'] as const) this.bpf.detachTcx(this.linkPath(ifindex, hook));
    }
    if (this.maps[MapName.endpoints] !== undefined) {
      for (const { ifindex } of this.listEndpoints()) {
        for (const hook of ['ingress', 'egress'] as const) {
          try {
            this.bpf.detachTc(ifindex, hook, this.netnsPath);
          } catch {
            /* device or namespace gone */
          }
        }
      }
    }
    this.closeFds();
    rmSync(this.pinDir, { recursive: true, force: true });
  }

  private bumped(result: number): number {
    const current = this.config();
    this.writeConfigValue({ ...current, generation: (current.generation + 1) >>> 0 });
    return result;
  }

  private writeConfigValue(c: ConfigValue): void {
    const value = Buffer.alloc(LAYOUTS.config.size);
    writeConfig(value, 0, c);
    this.bpf.updateBatch(this.map(MapName.config), Buffer.alloc(4), value);
  }

  private attachHook(ifindex: number, hook: Hook, progFd: number): AttachResult[Hook] {
    if (this.attachMode !== 'tc') {
      mkdirSync(join(this.pinDir, 'links'), { recursive: true, mode: 0o700 });
      try {
        const r = this.bpf.attachTcx(progFd, ifindex, hook, this.linkPath(ifindex, hook), this.netnsPath);
        return r === 'created' ? 'tcx-created' : 'tcx-updated';
      } catch (e) {
        if (this.attachMode === 'tcx') throw e;
      }
    }
    this.bpf.attachTc(progFd, ifindex, hook, this.netnsPath);
    return 'tc';
  }

  /** fn_to_proxy on the TCX ingress of `lo` (ifindex 1 in every namespace): hands packets a server
   *  pod's ingress sent there to the HTTP proxy's socket. Its link is pinned apart from the endpoints'
   *  (`<pinDir>/to-proxy-lo`), so endpoint reconciliation never sees it. Idempotent. */
  private attachToProxy(): void {
    if (this.attachMode === 'tc') {
      this.bpf.attachTc(this.program(ProgramName.toProxy), LOOPBACK_IFINDEX, 'ingress', this.netnsPath);
      return;
    }
    this.bpf.attachTcx(this.program(ProgramName.toProxy), LOOPBACK_IFINDEX, 'ingress', join(this.pinDir, TO_PROXY_LINK), this.netnsPath);
  }

  private linkPath(ifindex: number, hook: Hook): string {
    return join(this.pinDir, 'links', `${ifindex}-${hook}`);
  }

  private program(name: string): number {
    const fd = this.programs[name];
    if (fd === undefined) throw new Error(`fleetnet: program ${name} not loaded — call load() first`);
    return fd;
  }

  private closeFds(): void {
    for (const fd of [...Object.values(this.maps), ...Object.values(this.programs)]) {
      if (fd !== undefined) this.bpf.closeFd(fd);
    }
    this.maps = {};
    this.programs = {};
  }
}
