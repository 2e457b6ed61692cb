/**
 * applyCompiledState against the in-memory kernel (createFakeBinding, no root): operation order,
 * idempotence, restart convergence, and the transition property checked on every intermediate map
 * state (decisions evaluated with the kernel's precedence, mirrored from policy.c in `decide` below).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import type { BundledPolicy } from '../../../openapi/types.js';
import { compileBundle } from '../compile/compile-bundle.js';
import { input, policy } from '../compile/test-cluster.js';
import type { CompiledState } from '../compile/types.js';
import type { EndpointEntry, IpcacheEntry, PolicyEntry, PolicyKey } from '../kernel/codecs.js';
import { Datapath } from '../kernel/datapath.js';
import { createFakeBinding } from '../kernel/fake-binding.js';
import { Direction, IpProto, PolicyVerdict } from '../kernel/identities.js';
import { mergeContributions, type Contribution } from '../compile/merge-entries.js';
import { applyCompiledState } from './apply-compiled-state.js';
import { planPolicyTransition } from './plan-policy-transition.js';

/** Datapath that logs every map operation in order. */
class RecordingDatapath extends Datapath {
  log: string[] = [];
  /** policy map contents after each policy batch */
  policyStates: PolicyEntry[][] = [];
  override upsertPolicy(entries: readonly PolicyEntry[]): number {
    this.log.push(`policy+ ${entries.length}`);
    const n = super.upsertPolicy(entries);
    this.policyStates.push(this.listPolicy());
    return n;
  }
  override deletePolicy(keys: readonly PolicyKey[]): number {
    this.log.push(`policy- ${keys.length}`);
    return super.deletePolicy(keys);
  }
  override upsertIpcache(entries: readonly IpcacheEntry[]): number {
    this.log.push(`ipcache+ ${entries.length}`);
    return super.upsertIpcache(entries);
  }
  override deleteIpcache(cidrs: readonly string[]): number {
    this.log.push(`ipcache- ${cidrs.length}`);
    return super.deleteIpcache(cidrs);
  }
  override upsertEndpoints(entries: readonly EndpointEntry[]): number {
    if (!this.inAttach) this.log.push(`endpoints+ ${entries.length}`);
    return super.upsertEndpoints(entries);
  }
  private inAttach = false;
  override attachEndpoint(e: EndpointEntry) {
    this.log.push(`attach ${e.ifindex}`);
    this.inAttach = true;
    try {
      return super.attachEndpoint(e);
    } finally {
      this.inAttach = false;
    }
  }
  override detachEndpoint(ifindex: number): void {
    this.log.push(`detach ${ifindex}`);
    super.detachEndpoint(ifindex);
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function newDatapath(binding = createFakeBinding(), pinDir?: string): RecordingDatapath {
  const dir = pinDir ?? mkdtempSync(join(tmpdir(), 'fleetnet-apply-'));
  if (!pinDir) dirs.push(dir);
  const dp = new RecordingDatapath({ pinDir: dir, binding });
  dp.load();
  return dp;
}

const DB = { matchLabels: { app: 'db' } };
const WEB = { matchLabels: { app: 'web' } };
const CLIENT = { matchLabels: { app: 'client' } };
const V1: BundledPolicy[] = [
  policy('db', { endpointSelector: DB, ingress: [{ fromEndpoints: [WEB], toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }] }], ingressDeny: [{ fromEndpoints: [CLIENT], toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }] }] }] }),
  policy('web', { endpointSelector: WEB, egress: [{ toCIDRSet: [{ cidr: '20.0.0.0/8', except: ['20.1.0.0/16'] }] }] }),
];
const V2: BundledPolicy[] = [
  policy('db', {
    endpointSelector: DB,
    ingress: [{ fromEndpoints: [WEB], toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }, { port: '6432', protocol: 'TCP' }] }] }, { fromEndpoints: [CLIENT], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
    egress: [{ toCIDR: ['30.0.0.0/8'] }],
  }, { generation: 2 }),
];

const sortState = (dp: Datapath) => ({
  endpoints: dp.listEndpoints().sort((a, b) => a.ifindex - b.ifindex),
  ipcache: dp.listIpcache().sort((a, b) => (a.cidr < b.cidr ? -1 : 1)),
  policy: dp.listPolicy().sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1),
});
const sortCompiled = (s: CompiledState) => ({
  endpoints: [...s.endpoints],
  ipcache: [...s.ipcache].sort((a, b) => (a.cidr < b.cidr ? -1 : 1)),
  policy: [...s.policy].sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1),
});

describe('applyCompiledState (fake kernel)', () => {
  it('first apply: policy and ipcache before endpoints are attached; the maps then hold exactly the state', () => {
    const dp = newDatapath();
    const want = compileBundle(input(V1));
    const r = applyCompiledState(dp, want);
    expect(dp.log).toEqual([`policy+ ${want.policy.length}`, `ipcache+ ${want.ipcache.length}`, 'attach 11', 'attach 12']);
    expect(r.endpoints.attached).toEqual([11, 12]);
    expect(sortState(dp)).toEqual(sortCompiled(want));
  });

  it('a second apply of the same state writes nothing', () => {
    const dp = newDatapath();
    const want = compileBundle(input(V1));
    applyCompiledState(dp, want);
    dp.log = [];
    const r = applyCompiledState(dp, want);
    expect(r.writes).toBe(0);
    expect(dp.log).toEqual([]);
  });

  it('a change adds every new key before anything is deleted: raise, ipcache+, endpoints, ipcache-, settle, detach', () => {
    const dp = newDatapath();
    applyCompiledState(dp, compileBundle(input(V1)));
    dp.log = [];
    dp.policyStates = [];
    const v2 = compileBundle(input(V2, { endpoints: input([]).endpoints.filter((e) => e.ifindex === 12) }));
    const r = applyCompiledState(dp, v2);
    const kinds = dp.log.map((l) => l.split(' ')[0]);
    // Settle runs by T rank ascending, then shortest prefix first: the old-only keys (the allows, then
    // "deny client TCP") go in one delete batch, then client tcp/80 — written as deny by the raise (it
    // lies under the old "deny TCP") — is lowered to its new allow.
    expect(kinds).toEqual(['policy+', 'ipcache+', 'endpoints+', 'ipcache-', 'policy-', 'policy+', 'detach']);
    const key = (e: PolicyKey) => `${e.localId}/${e.peerId}/${e.direction}/${e.proto}/${e.port}/${e.portPrefixLen}`;
    const afterRaise = new Set((dp.policyStates[0] ?? []).map(key));
    for (const e of v2.policy) expect(afterRaise.has(key(e))).toBe(true);
    expect(r.policy.settled).toBeGreaterThan(r.policy.deleted);
    expect(r.endpoints.detached).toEqual([11]);
    expect(sortState(dp)).toEqual(sortCompiled(v2));
  });

  it('never flushes on start: a restarted agent (same pins) converges with zero writes', () => {
    const binding = createFakeBinding();
    const dir = mkdtempSync(join(tmpdir(), 'fleetnet-apply-'));
    dirs.push(dir);
    const want = compileBundle(input(V1));
    applyCompiledState(newDatapath(binding, dir), want);
    const restarted = newDatapath(binding, dir);
    expect(applyCompiledState(restarted, want).writes).toBe(0);
    const re = applyCompiledState(restarted, want, { reattach: true });
    expect(re.endpoints.attached).toEqual([11, 12]);
    expect(restarted.log.filter((l) => l.startsWith('policy') || l.startsWith('ipcache'))).toEqual([]);
  });
});

// ---- the transition property, checked on every intermediate state ------------------------------

const RANK: Record<number, number> = { [PolicyVerdict.allow]: 1, [PolicyVerdict.auditDeny]: 2, [PolicyVerdict.deny]: 3 };

function lookup(entries: readonly PolicyEntry[], local: number, peer: number, proto: number, port: number): number {
  let best: PolicyEntry | undefined;
  let bestBits = -1;
  for (const e of entries) {
    if (e.localId !== local || e.peerId !== peer || e.direction !== Direction.ingress) continue;
    const ok = e.proto === 0 || (e.proto === proto && (e.portPrefixLen === 0 || port >>> (16 - e.portPrefixLen) === e.port >>> (16 - e.portPrefixLen)));
    const bits = e.proto === 0 ? 72 : 80 + e.portPrefixLen;
    if (ok && bits > bestBits) {
      best = e;
      bestBits = bits;
    }
  }
  return best ? (RANK[best.verdict] ?? 0) : 0;
}

/** policy.c: max rank of the peer and any-peer lookups; 'allow' / 'deny' (default-deny set). */
function decide(entries: readonly PolicyEntry[], peer: number, proto: number, port: number): 'allow' | 'deny' | 'audit' {
  const rank = Math.max(lookup(entries, 300, peer, proto, port), lookup(entries, 300, 0, proto, port));
  return rank === 3 || rank === 0 ? 'deny' : rank === 2 ? 'audit' : 'allow';
}

/** A random compiled-like state: random rule contributions merged by the compiler (contract holds). */
function randomEntries(rnd: (n: number) => number): PolicyEntry[] {
  const contributions: Contribution[] = [];
  const n = rnd(7);
  for (let i = 0; i < n; i++) {
    const k = rnd(4);
    const proto = k === 0 ? 0 : rnd(2) ? IpProto.tcp : IpProto.udp;
    const prefixLen = proto === 0 || k === 1 ? 0 : k === 2 ? 14 : 16;
    const port = prefixLen === 0 ? 0 : (rnd(8) << 2) & (0xffff << (16 - prefixLen));
    contributions.push({ localId: 300, peerId: rnd(2) ? 0 : 7, direction: Direction.ingress, block: { proto, port, prefixLen }, verdict: ([1, 2, 3] as const)[rnd(3)] ?? 1, ruleId: 1 + rnd(5) });
  }
  return mergeContributions(contributions);
}

describe('planPolicyTransition', () => {
  it('property: every intermediate state keeps both-allow allowed and both-deny denied', () => {
    let seed = 99;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    const id = (e: PolicyKey) => `${e.peerId}/${e.proto}/${e.port}/${e.portPrefixLen}`;
    for (let round = 0; round < 1000; round++) {
      const before = randomEntries(rnd);
      const after = randomEntries(rnd);
      const plan = planPolicyTransition(before, after);
      const map = new Map(before.map((e) => [id(e), e]));
      const states: PolicyEntry[][] = [[...map.values()]];
      for (const e of plan.raise) {
        map.set(id(e), e);
        states.push([...map.values()]);
      }
      for (const o of plan.settle) {
        if (o.op === 'upsert') map.set(id(o.entry), o.entry);
        else map.delete(id(o.key));
        states.push([...map.values()]);
      }
      expect([...map.values()].sort((a, b) => (id(a) < id(b) ? -1 : 1))).toEqual([...after].sort((a, b) => (id(a) < id(b) ? -1 : 1)));
      for (const proto of [IpProto.tcp, IpProto.udp]) {
        for (let port = 0; port < 40; port++) {
          const old = decide(before, 7, proto, port);
          const now = decide(after, 7, proto, port);
          if (old !== now || old === 'audit') continue;
          for (const s of states) expect(decide(s, 7, proto, port)).toBe(old);
        }
      }
    }
  });
});

describe('planPolicyTransition: the cross-family case a naive add-then-delete gets wrong', () => {
  it('old {peer: allow TCP, any: deny TCP/80} → new {peer: deny TCP, any: allow TCP/80}: TCP/80 stays denied', () => {
    const e = (peerId: number, port: number, portPrefixLen: number, verdict: PolicyVerdict): PolicyEntry => ({ localId: 300, peerId, direction: Direction.ingress, proto: IpProto.tcp, port, portPrefixLen, verdict, ruleId: 1 });
    const before = [e(7, 0, 0, PolicyVerdict.allow), e(0, 80, 16, PolicyVerdict.deny)];
    const after = [e(7, 0, 0, PolicyVerdict.deny), e(0, 80, 16, PolicyVerdict.allow)];
    const plan = planPolicyTransition(before, after);
    const map = new Map(before.map((x) => [`${x.peerId}/${x.port}/${x.portPrefixLen}`, x]));
    for (const o of [...plan.raise.map((entry) => ({ op: 'upsert' as const, entry })), ...plan.settle]) {
      if (o.op !== 'upsert') throw new Error('no delete expected');
      map.set(`${o.entry.peerId}/${o.entry.port}/${o.entry.portPrefixLen}`, o.entry);
      expect(decide([...map.values()], 7, IpProto.tcp, 80)).toBe('deny');
    }
    expect(plan.raise.map((x) => x.verdict)).toEqual([PolicyVerdict.deny]); // only the peer TCP key rises; any-peer TCP/80 keeps deny in T
    expect(plan.settle.map((o) => o.op === 'upsert' && o.entry.verdict)).toEqual([PolicyVerdict.allow]);
  });
});
