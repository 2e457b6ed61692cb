/**
 * Typed surface of the N-API addon agent/native/fleetnet-bpf.c (built by scripts/build-native.sh).
 * All calls are synchronous and throw Error with `code` = errno name ("ENOENT", "EPERM", ...).
 * fds returned belong to the caller. Keys/values are Buffers in the kernel layout (codecs.ts);
 * per-CPU values are possibleCpus() slots of round_up(valueSize, 8) bytes.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Hook = 'ingress' | 'egress';

export interface MapInfo {
  id: number;
  /** enum bpf_map_type */
  type: number;
  /** bytes */
  keySize: number;
  /** bytes, one CPU's share for per-CPU maps */
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

export interface RawEntries {
  /** count keys back to back */
  keys: Buffer;
  /** count values back to back */
  values: Buffer;
  count: number;
}

export interface NativeBinding {
  /** Load an object; maps pinned in pinDir are reused (never flushed), missing ones created and
   *  pinned; programs pinned at pinDir/<name>. maxEntries applies to maps created now. */
  loadObject(objectPath: string, pinDir: string, maxEntries?: Record<string, number>): {
    maps: Record<string, number>;
    programs: Record<string, number>;
  };
  getObject(path: string): number;
  pinObject(fd: number, path: string): boolean;
  closeFd(fd: number): boolean;
  /** A non-blocking socket created in netnsPath (else this process's namespace), bound to
   *  address:port (0 = any free port), not listening, for Node to adopt: dgram `bind({fd})`,
   *  net.Server `listen({fd})`, `new net.Socket({fd})`. */
  openSocket(family: 4 | 6, type: 'udp' | 'tcp', address: string, port: number, netnsPath?: string, transparent?: boolean): number;
  /** the port a socket is bound to (getsockname) */
  localPort(fd: number): number;
  mapInfo(fd: number): MapInfo;
  possibleCpus(): number;
  /** waits for an RCU grace period (membarrier MEMBARRIER_CMD_GLOBAL): every program run that
   *  started before the call has finished */
  synchronizeRcu(): boolean;
  /** TCX link (attach types 46/47), pinned at linkPinPath; an existing pin for the same
   *  device+hook is switched atomically to progFd ("updated"). */
  attachTcx(progFd: number, ifindex: number, hook: Hook, linkPinPath: string, netnsPath?: string): 'created' | 'updated';
  /** false when nothing was pinned there */
  detachTcx(linkPinPath: string): boolean;
  /** clsact fallback: direct-action filter with fleetnet's handle/priority (replaces ours) */
  attachTc(progFd: number, ifindex: number, hook: Hook, netnsPath?: string): boolean;
  detachTc(ifindex: number, hook: Hook, netnsPath?: string): boolean;
  /** returns entries written; flags = BPF_ANY (0) / BPF_NOEXIST (1) / BPF_EXIST (2) */
  updateBatch(fd: number, keys: Buffer, values: Buffer, flags?: number): number;
  /** returns entries that existed; missing keys are not an error */
  deleteBatch(fd: number, keys: Buffer): number;
  lookup(fd: number, key: Buffer): Buffer | null;
  dump(fd: number): RawEntries;
  /** takes every entry out; values reduced over CPUs, one char per u64 field:
   *  's' sum, 'm' min / 'M' max over CPUs whose first field != 0 */
  readAndResetPercpu(fd: number, ops: string): RawEntries;
}

const ADDON = 'agent/native/build/Release/fleetnet_bpf.node';

/** Finds the repo root (the directory holding agent/native) above this file. */
export function findRepoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'agent', 'native', 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`fleetnet: no repo root (agent/native/binding.gyp) above ${from}`);
    dir = up;
  }
}

/** Loads the addon: FLEETNET_NATIVE_ADDON if set, else <repo>/agent/native/build/Release. */
export function loadNativeBinding(path = process.env.FLEETNET_NATIVE_ADDON ?? join(findRepoRoot(), ADDON)): NativeBinding {
  if (!existsSync(path)) throw new Error(`fleetnet: native addon missing at ${path} — run scripts/build-native.sh`);
  return createRequire(import.meta.url)(path) as NativeBinding;
}
