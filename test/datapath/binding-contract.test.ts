/**
 * One contract, two implementations of the kernel port: the real addon (root + bpffs; skipped
 * loudly otherwise) and the in-memory fake (always). Everything goes through Datapath, so code
 * written against the fake (apply/reconcile, flow aggregation) behaves the same on a node.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeAll, LAYOUTS, writeFlowKey, writeFlowValue, type EndpointEntry, type FlowCounters, type FlowKey, type PolicyEntry } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';
import { createFakeBinding } from '../../agent/src/kernel/fake-binding.js';
import { Direction, FlowDropReason, FlowVerdict, IpProto, MapName, PolicyVerdict } from '../../agent/src/kernel/identities.js';
import { loadNativeBinding, type NativeBinding } from '../../agent/src/kernel/native-binding.js';
import { splitPortRange } from '../../core/policy/resolve/port-blocks.js';
import { ensureBpffs, isRoot } from '../helpers/netns.js';

interface Impl {
  name: string;
  available: boolean;
  setup(): { binding: NativeBinding; pinDir: string; netnsPath?: string; ifindex: number; cleanup(): void };
}

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! binding-contract.test.ts: real-addon half SKIPPED (needs root). CI runs as root. !!!\n');

const impls: Impl[] = [
  {
    name: 'fake',
    available: true,
    setup: () => {
      const dir = mkdtempSync(join(tmpdir(), 'fleetnet-fake-'));
      return { binding: createFakeBinding({ cpus: 2 }), pinDir: join(dir, 'pins'), ifindex: 7, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'addon',
    available: ROOT,
    setup: () => {
      ensureBpffs();
      const ns = `fnct${process.pid}n`;
      execFileSync('ip', ['netns', 'add', ns]);
      let info: { ifindex: number }[];
      try {
        execFileSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']); // no dummy module everywhere
        info = JSON.parse(execFileSync('ip', ['-j', '-n', ns, 'link', 'show', 'v0'], { encoding: 'utf8' })) as { ifindex: number }[];
      } catch (e) {
        execFileSync('ip', ['netns', 'del', ns]);
        throw e;
      }
      return {
        binding: loadNativeBinding(),
        pinDir: `/sys/fs/bpf/fleetnet-test-contract-${process.pid}`,
        netnsPath: `/run/netns/${ns}`,
        ifindex: info[0]?.ifindex ?? -1,
        cleanup: () => execFileSync('ip', ['netns', 'del', ns]),
      };
    },
  },
];

const policy: PolicyEntry[] = [
  { localId: 300, peerId: 0, direction: Direction.ingress, proto: IpProto.any, port: 0, portPrefixLen: 0, verdict: PolicyVerdict.allow, ruleId: 1 },
  { localId: 300, peerId: 2, direction: Direction.egress, proto: IpProto.udp, port: 53, portPrefixLen: 16, verdict: PolicyVerdict.deny, ruleId: 2 },
  ...splitPortRange(8080, 8090).map((b) => ({ localId: 300, peerId: 301, direction: Direction.ingress, proto: IpProto.tcp, port: b.port, portPrefixLen: b.prefixLen, verdict: PolicyVerdict.auditDeny, ruleId: 3 })),
];
const sortPolicy = (xs: PolicyEntry[]) => [...xs].sort((a, b) => a.ruleId - b.ruleId || a.port - b.port || a.direction - b.direction);

for (const impl of impls) {
  describe.skipIf(!impl.available)(`kernel port contract: ${impl.name}`, { timeout: 60_000 }, () => {
    let env: ReturnType<Impl['setup']> | undefined;
    let dp: Datapath | undefined;
    const d = (): Datapath => {
      if (!dp) throw new Error('no datapath');
      return dp;
    };

    beforeAll(() => {
      env = impl.setup();
      dp = new Datapath({ pinDir: env.pinDir, binding: env.binding, netnsPath: env.netnsPath, attachMode: 'tcx' });
    });
    afterAll(() => {
      try {
        dp?.destroy();
      } finally {
        env?.cleanup();
      }
    });

    it('first load creates every map, a second load reuses them with their contents', () => {
      expect(d().load().reusedMaps).toEqual([]);
      d().upsertPolicy(policy);
      expect(d().load().reusedMaps.sort()).toEqual(Object.values(MapName).sort());
      expect(sortPolicy(d().listPolicy())).toEqual(sortPolicy(policy));
    });

    it('writes, lists and deletes policy, ipcache and endpoints; each write bumps the generation once', () => {
      const g0 = d().generation();
      expect(d().upsertIpcache([{ cidr: '10.0.0.0/8', identity: 16777217 }, { cidr: '10.1.0.0/16', identity: 2 }, { cidr: 'fd00:1::/32', identity: 16777218 }])).toBe(3);
      expect(d().listIpcache().sort((a, b) => a.cidr.localeCompare(b.cidr))).toEqual([
        { cidr: '10.0.0.0/8', identity: 16777217 },
        { cidr: '10.1.0.0/16', identity: 2 },
        { cidr: 'fd00:1::/32', identity: 16777218 },
      ]);
      expect(d().deleteIpcache(['fd00:1::/32'])).toBe(1);
      const ep: EndpointEntry = { ifindex: 4242, identity: 300, defaultDenyIngress: true, defaultDenyEgress: false, auditIngress: true, auditEgress: false };
      d().upsertEndpoints([ep]);
      expect(d().listEndpoints()).toEqual([ep]);
      expect(d().generation()).toBe(g0 + 3);
      const first = policy[0];
      if (!first) throw new Error('table');
      expect(d().deletePolicy([first, first])).toBe(1); // a missing key is not an error
      expect(sortPolicy(d().listPolicy())).toEqual(sortPolicy(policy.slice(1)));
      expect(d().deleteIpcache(['10.1.0.0/16', '192.168.0.0/16'])).toBe(1);
      expect(d().deleteEndpoints([4242])).toBe(1);
      expect(d().listEndpoints()).toEqual([]);
      expect(d().generation()).toBe(g0 + 6);
    });

    it('load() writes the host rule and conntrack timeouts into fn_config; generation bumps keep them', () => {
      const g = d().generation();
      expect(d().config()).toMatchObject({ generation: g, flags: 0, ctSynMs: 0, ctEstablishedMs: 0, ctClosingMs: 0, ctOtherMs: 0 });
      const tuned = new Datapath({ pinDir: env?.pinDir ?? '', binding: env?.binding, netnsPath: env?.netnsPath, allowLocalhost: 'policy', conntrackTimeouts: { closingMs: 1500, otherMs: 2000 } });
      tuned.load();
      tuned.upsertIpcache([{ cidr: '10.9.0.0/16', identity: 2 }]);
      expect(tuned.config()).toMatchObject({ generation: g + 1, flags: 1, ctSynMs: 0, ctEstablishedMs: 0, ctClosingMs: 1500, ctOtherMs: 2000 });
      tuned.deleteIpcache(['10.9.0.0/16']);
      tuned.close();
      d().load(); // back to the defaults for the rest of the suite
      expect(d().config()).toMatchObject({ generation: g + 2, flags: 0, ctClosingMs: 0, ctOtherMs: 0 });
      expect(() => new Datapath({ pinDir: 'x', binding: env?.binding, conntrackTimeouts: { synMs: 0 } })).toThrow(RangeError);
    });

    it('read-and-reset flips the programs to the other flow map and takes the one they counted into', () => {
      const before = d().activeFlowMap();
      expect(d().readAndResetFlows()).toEqual([]);
      const after = d().activeFlowMap();
      expect(after).not.toBe(before);
      expect([before, after].sort()).toEqual([MapName.flows, MapName.flowsAlt].sort());
      // a record counted in the now active map is taken by the next read
      const key: FlowKey = { localId: 1, peerId: 2, ruleId: 0, dport: 53, proto: IpProto.udp, direction: Direction.egress, verdict: FlowVerdict.forwarded, ipVersion: 4, dropReason: FlowDropReason.policy };
      const cpus = env?.binding.possibleCpus() ?? 0;
      const values = Buffer.alloc(cpus * LAYOUTS.flowValue.size);
      writeFlowValue(values, 0, { packets: 3, bytes: 300, flows: 1, firstSeenNs: 10, lastSeenNs: 20 });
      env?.binding.updateBatch(d().map(after), encodeAll([key], LAYOUTS.flowKey.size, writeFlowKey), values);
      expect(d().readAndResetFlows()).toEqual([{ ...key, packets: 3, bytes: 300, flows: 1, firstSeenNs: 10, lastSeenNs: 20 }]);
      expect(d().activeFlowMap()).toBe(before);
    });

    it('kernel loss counters start at zero and are summed over CPUs', () => {
      expect(d().readCounters()).toEqual({ lostPackets: 0, lostBytes: 0, lostFlows: 0 });
    });

    it('read-and-reset sums packets/bytes/flows over CPUs, min/max the times of CPUs that saw packets, then is empty', () => {
      const cpus = env?.binding.possibleCpus() ?? 0;
      const key: FlowKey = { localId: 300, peerId: 301, ruleId: 3, dport: 8081, proto: IpProto.tcp, direction: Direction.ingress, verdict: FlowVerdict.audit, ipVersion: 6, dropReason: FlowDropReason.policy };
      const perCpu: FlowCounters[] = Array.from({ length: cpus }, (_x, c) =>
        c === 1 ? { packets: 0, bytes: 0, flows: 0, firstSeenNs: 1, lastSeenNs: 999_999 } : { packets: 10 + c, bytes: 1000 * (c + 1), flows: 1, firstSeenNs: 500 - c, lastSeenNs: 600 + c },
      );
      const values = Buffer.alloc(cpus * LAYOUTS.flowValue.size);
      perCpu.forEach((v, c) => writeFlowValue(values, c * LAYOUTS.flowValue.size, v));
      env?.binding.updateBatch(d().map(d().activeFlowMap()), encodeAll([key], LAYOUTS.flowKey.size, writeFlowKey), values);
      const seen = perCpu.filter((v) => v.packets > 0);
      expect(d().readAndResetFlows()).toEqual([
        {
          ...key,
          packets: seen.reduce((s, v) => s + v.packets, 0),
          bytes: seen.reduce((s, v) => s + v.bytes, 0),
          flows: seen.length,
          firstSeenNs: Math.min(...seen.map((v) => v.firstSeenNs)),
          lastSeenNs: Math.max(...seen.map((v) => v.lastSeenNs)),
        },
      ]);
      expect(d().readAndResetFlows()).toEqual([]);
      // The agent's form: the same records through one reused object, nothing left behind.
      env?.binding.updateBatch(d().map(d().activeFlowMap()), encodeAll([key], LAYOUTS.flowKey.size, writeFlowKey), values);
      const view = d().readAndResetFlowRecords();
      expect(view.length).toBe(1);
      expect(view.toArray()).toEqual([{ ...key, packets: seen.reduce((s, v) => s + v.packets, 0), bytes: seen.reduce((s, v) => s + v.bytes, 0), flows: seen.length, firstSeenNs: Math.min(...seen.map((v) => v.firstSeenNs)), lastSeenNs: Math.max(...seen.map((v) => v.lastSeenNs)) }]);
      expect(d().readAndResetFlowRecords().length).toBe(0);
    });

    it('attaches an endpoint with pinned TCX links, re-attach swaps in place, detach removes both', () => {
      const ifindex = env?.ifindex ?? -1;
      const ep: EndpointEntry = { ifindex, identity: 300, defaultDenyIngress: false, defaultDenyEgress: false, auditIngress: false, auditEgress: false };
      expect(d().attachEndpoint(ep)).toEqual({ ingress: 'tcx-created', egress: 'tcx-created' });
      expect(d().attachEndpoint(ep)).toEqual({ ingress: 'tcx-updated', egress: 'tcx-updated' });
      expect(d().listAttachedIfindexes()).toEqual([ifindex]);
      d().detachEndpoint(ifindex);
      expect(d().listAttachedIfindexes()).toEqual([]);
      expect(d().listEndpoints()).toEqual([]);
    });
  });
}
