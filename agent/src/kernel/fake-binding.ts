/**
 * In-memory NativeBinding for tests of code above the kernel interface (apply/reconcile, flow
 * aggregation) on machines without root or bpffs. It keeps map contents by key bytes, pins as marker
 * files under the pinDir (so Datapath's existsSync/readdir logic works unchanged) and never runs a
 * program. Contract: test/datapath/binding-contract.test.ts runs the same suite against this fake
 * and the real addon.
 *
 * Differences from the kernel, on purpose: LPM keys are stored as given (no prefix matching — there
 * is no program to look them up), LRU maps never evict, attach calls only record links.
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { LAYOUTS } from './codecs.js';
import { MapName, ProgramName } from './identities.js';
import type { Hook, MapInfo, NativeBinding, RawEntries } from './native-binding.js';

const BPF_MAP_TYPE = { hash: 1, array: 2, percpuHash: 5, percpuArray: 6, lruHash: 9, lruPercpuHash: 10, lpmTrie: 11 } as const;
const PERCPU_TYPES: ReadonlySet<number> = new Set([BPF_MAP_TYPE.percpuHash, BPF_MAP_TYPE.percpuArray, BPF_MAP_TYPE.lruPercpuHash]);

interface FakeMap {
  info: MapInfo;
  /** hex(key) → value bytes (per-CPU maps: cpus slots) */
  entries: Map<string, Buffer>;
}

const MAP_SHAPES: Record<MapName, { type: number; keySize: number; valueSize: number; maxEntries: number; flags: number }> = {
  fn_endpoints: { type: BPF_MAP_TYPE.hash, keySize: 4, valueSize: LAYOUTS.endpointValue.size, maxEntries: 4096, flags: 0 },
  fn_ipcache: { type: BPF_MAP_TYPE.lpmTrie, keySize: LAYOUTS.ipcacheKey.size, valueSize: LAYOUTS.ipcacheValue.size, maxEntries: 65536, flags: 1 },
  fn_policy: { type: BPF_MAP_TYPE.lpmTrie, keySize: LAYOUTS.policyKey.size, valueSize: LAYOUTS.policyValue.size, maxEntries: 131072, flags: 1 },
  fn_ct: { type: BPF_MAP_TYPE.lruHash, keySize: LAYOUTS.ctKey.size, valueSize: LAYOUTS.ctValue.size, maxEntries: 262144, flags: 0 },
  fn_flows: { type: BPF_MAP_TYPE.percpuHash, keySize: LAYOUTS.flowKey.size, valueSize: LAYOUTS.flowValue.size, maxEntries: 131072, flags: 0 },
  fn_flows_alt: { type: BPF_MAP_TYPE.percpuHash, keySize: LAYOUTS.flowKey.size, valueSize: LAYOUTS.flowValue.size, maxEntries: 131072, flags: 0 },
  fn_config: { type: BPF_MAP_TYPE.array, keySize: 4, valueSize: LAYOUTS.config.size, maxEntries: 1, flags: 0 },
  fn_counters: { type: BPF_MAP_TYPE.percpuArray, keySize: 4, valueSize: LAYOUTS.counters.size, maxEntries: 1, flags: 0 },
  fn_proxy_nat: { type: BPF_MAP_TYPE.lruHash, keySize: LAYOUTS.proxyKey.size, valueSize: LAYOUTS.proxyValue.size, maxEntries: 65536, flags: 0 },
  fn_proxy_upstreams: { type: BPF_MAP_TYPE.hash, keySize: LAYOUTS.upstreamKey.size, valueSize: LAYOUTS.upstreamValue.size, maxEntries: 65536, flags: 0 },
};

function errno(code: string, message: string): Error {
  return Object.assign(new Error(`${message} (${code})`), { code });
}

function touch(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  closeSync(openSync(path, 'a'));
}

export interface FakeBindingOptions {
  /** possible CPUs for per-CPU values (default 2) */
  cpus?: number;
}

/** Creates a fake whose pinned objects live as long as the returned object (one "kernel"). */
export function createFakeBinding(options: FakeBindingOptions = {}): NativeBinding & { links: Map<string, { ifindex: number; hook: Hook; progFd: number }> } {
  const cpus = options.cpus ?? 2;
  const pinned = new Map<string, { kind: 'map'; map: FakeMap } | { kind: 'prog'; name: string } | { kind: 'link' }>();
  const fds = new Map<number, { kind: 'map'; map: FakeMap } | { kind: 'prog'; name: string } | { kind: 'link' }>();
  const links = new Map<string, { ifindex: number; hook: Hook; progFd: number }>();
  let nextFd = 1000;
  let nextId = 1;

  const open = (o: { kind: 'map'; map: FakeMap } | { kind: 'prog'; name: string } | { kind: 'link' }): number => {
    const fd = nextFd++;
    fds.set(fd, o);
    return fd;
  };
  const mapOf = (fd: number): FakeMap => {
    const o = fds.get(fd);
    if (!o || o.kind !== 'map') throw errno('EBADF', `fd ${fd} is not a map`);
    return o.map;
  };
  const slot = (m: FakeMap): number => (PERCPU_TYPES.has(m.info.type) ? ((m.info.valueSize + 7) & ~7) * cpus : m.info.valueSize);
  const entriesOf = (m: FakeMap): RawEntries => {
    const keys = [...m.entries.keys()].map((k) => Buffer.from(k, 'hex'));
    return { keys: Buffer.concat(keys), values: Buffer.concat([...m.entries.values()]), count: keys.length };
  };

  return {
    links,
    loadObject(_objectPath, pinDir, maxEntries) {
      mkdirSync(pinDir, { recursive: true });
      const maps: Record<string, number> = {};
      for (const [name, shape] of Object.entries(MAP_SHAPES)) {
        const path = join(pinDir, name);
        let o = pinned.get(path);
        if (!o || o.kind !== 'map') {
          const info: MapInfo = { id: nextId++, name, ...shape, maxEntries: maxEntries?.[name] ?? shape.maxEntries };
          const map: FakeMap = { info, entries: new Map() };
          if (shape.type === BPF_MAP_TYPE.array || shape.type === BPF_MAP_TYPE.percpuArray) map.entries.set('00000000', Buffer.alloc(slot(map)));
          o = { kind: 'map', map };
          pinned.set(path, o);
          touch(path);
        }
        maps[name] = open(o);
      }
      const programs: Record<string, number> = {};
      for (const name of Object.values(ProgramName)) {
        const o = { kind: 'prog' as const, name };
        pinned.set(join(pinDir, name), o);
        touch(join(pinDir, name));
        programs[name] = open(o);
      }
      return { maps, programs };
    },
    getObject(path) {
      const o = pinned.get(path);
      if (!o || !existsSync(path)) throw errno('ENOENT', `getObject ${path}`);
      return open(o);
    },
    pinObject(fd, path) {
      const o = fds.get(fd);
      if (!o) throw errno('EBADF', `pinObject ${fd}`);
      if (pinned.has(path) && existsSync(path)) throw errno('EEXIST', `pinObject ${path}`);
      pinned.set(path, o);
      touch(path);
      return true;
    },
    closeFd(fd) {
      if (!fds.delete(fd)) throw errno('EBADF', `closeFd ${fd}`);
      return true;
    },
    openSocket() {
      throw errno('EOPNOTSUPP', 'openSocket: the fake binding has no sockets (needs the real addon)');
    },
    localPort() {
      throw errno('EOPNOTSUPP', 'localPort: the fake binding has no sockets (needs the real addon)');
    },
    mapInfo(fd) {
      return { ...mapOf(fd).info };
    },
    possibleCpus() {
      return cpus;
    },
    synchronizeRcu() {
      return true; // no program runs against the fake
    },
    attachTcx(progFd, ifindex, hook, linkPinPath) {
      const existing = links.get(linkPinPath);
      if (existing && existsSync(linkPinPath) && existing.ifindex === ifindex && existing.hook === hook) {
        existing.progFd = progFd;
        return 'updated';
      }
      links.set(linkPinPath, { ifindex, hook, progFd });
      pinned.set(linkPinPath, { kind: 'link' });
      touch(linkPinPath);
      return 'created';
    },
    detachTcx(linkPinPath) {
      const had = links.delete(linkPinPath);
      pinned.delete(linkPinPath);
      rmSync(linkPinPath, { force: true });
      return had;
    },
    attachTc(progFd, ifindex, hook) {
      links.set(`tc:${ifindex}-${hook}`, { ifindex, hook, progFd });
      return true;
    },
    detachTc(ifindex, hook) {
      return links.delete(`tc:${ifindex}-${hook}`);
    },
    updateBatch(fd, keys, values, flags = 0) {
      const m = mapOf(fd);
      const ks = m.info.keySize;
      const vs = slot(m);
      if (keys.length % ks || values.length % vs || keys.length / ks !== values.length / vs) throw new TypeError('updateBatch: keys/values length is not count * size');
      const count = keys.length / ks;
      for (let i = 0; i < count; i++) {
        const k = keys.subarray(i * ks, (i + 1) * ks).toString('hex');
        const exists = m.entries.has(k);
        if (flags === 1 && exists) throw errno('EEXIST', 'updateBatch');
        if (flags === 2 && !exists) throw errno('ENOENT', 'updateBatch');
        if (!exists && m.entries.size >= m.info.maxEntries && m.info.type !== BPF_MAP_TYPE.lruHash && m.info.type !== BPF_MAP_TYPE.lruPercpuHash) {
          throw errno('E2BIG', 'updateBatch: map full');
        }
        m.entries.set(k, Buffer.from(values.subarray(i * vs, (i + 1) * vs)));
      }
      return count;
    },
    deleteBatch(fd, keys) {
      const m = mapOf(fd);
      const ks = m.info.keySize;
      let deleted = 0;
      for (let o = 0; o + ks <= keys.length; o += ks) if (m.entries.delete(keys.subarray(o, o + ks).toString('hex'))) deleted++;
      return deleted;
    },
    lookup(fd, key) {
      const v = mapOf(fd).entries.get(key.toString('hex'));
      return v ? Buffer.from(v) : null;
    },
    dump(fd) {
      return entriesOf(mapOf(fd));
    },
    readAndResetPercpu(fd, ops) {
      const m = mapOf(fd);
      if (!PERCPU_TYPES.has(m.info.type) || m.info.type === BPF_MAP_TYPE.percpuArray) throw new TypeError('readAndResetPercpu: not a per-CPU map');
      const vs = m.info.valueSize;
      const sl = (vs + 7) & ~7;
      const keys: Buffer[] = [];
      const values: Buffer[] = [];
      for (const [k, raw] of m.entries) {
        const out = Buffer.from(raw.subarray(0, vs));
        [...ops].forEach((op, f) => {
          let acc = 0n;
          let seen = false;
          for (let c = 0; c < cpus; c++) {
            const x = raw.readBigUInt64LE(c * sl + f * 8);
            if (op === 's') acc += x;
            else if (raw.readBigUInt64LE(c * sl) !== 0n && (!seen || (op === 'm' ? x < acc : x > acc))) {
              acc = x;
              seen = true;
            }
          }
          out.writeBigUInt64LE(acc, f * 8);
        });
        keys.push(Buffer.from(k, 'hex'));
        values.push(out);
      }
      m.entries.clear();
      return { keys: Buffer.concat(keys), values: Buffer.concat(values), count: keys.length };
    },
  };
}
