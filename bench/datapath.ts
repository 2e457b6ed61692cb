/**
 * Datapath bench (root): `npx tsx bench/datapath.ts` (npm run bench:datapath).
 *
 * In one run, on a throwaway topology (node ns + 2 pod ns, addresses 10.200.x.y only inside them):
 *   pps (a) no program, (b) fleetnet on both host veths enforcing 10,000 policy entries (the traffic
 *   matches an allow entry on both hooks, default-deny endpoints, conntrack + flow counters in path),
 *   (c) iptables, 10,000 rules in the node's FORWARD chain, the matching rule last (stateless, every
 *   packet walks the chain — a one-way UDP flow never becomes ESTABLISHED, so a conntrack
 *   shortcut rule would not help it either);
 *   apply time of 10,000 policy entries; read-and-reset time of 100,000 flow entries; load time.
 * Traffic: one UDP flow of small datagrams (18-byte payload = 60-byte frame) from a sendmmsg
 * blaster (bench/udp-blast.c, compiled now with cc) in pod 1 to a recvmmsg counter in pod 2;
 * rate = datagrams RECEIVED / seconds. Bounded: BENCH_SECONDS per rate (default 3), hard stop at
 * 240 s; everything it creates is removed on exit, error or signal.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import { encodeAll, LAYOUTS, writeFlowKey, writeFlowValue, type PolicyEntry } from '../agent/src/kernel/codecs.js';
import { Datapath } from '../agent/src/kernel/datapath.js';
import { Direction, FlowVerdict, IpProto, MapName, PolicyVerdict, ProgramName } from '../agent/src/kernel/identities.js';
import { findRepoRoot, loadNativeBinding } from '../agent/src/kernel/native-binding.js';
import { createTopology, ensureBpffs, isRoot, type Topology } from '../test/helpers/netns.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PAYLOAD = 18;
const PORT = 5000;
const POLICY_ENTRIES = 10_000;
const FLOW_ENTRIES = 100_000;
const ID = { pod1: 1001, pod2: 1002 };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

function spawnIn(nsPath: string, cmd: string, args: string[]): { lines: Promise<string[]>; ready: Promise<void> } {
  const child = spawn('nsenter', [`--net=${nsPath}`, '--', cmd, ...args]);
  let out = '';
  let err = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready')) onReady();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const lines = new Promise<string[]>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`${cmd} exited ${code}: ${err}`)))),
  );
  return { lines, ready };
}

async function measureRate(topo: Topology, blast: string): Promise<{ sentPps: number; recvPps: number }> {
  const [p1, p2] = topo.pods;
  if (!p1 || !p2) throw new Error('topology');
  // Sender and receiver pinned to different CPUs: unpinned, the scheduler's placement alone moves
  // the rate between ~160k and ~240k pps on this 2-vCPU VM.
  const cpus = availableParallelism();
  const recv = spawnIn(p2.nsPath, 'taskset', ['-c', String(0), blast, 'recv', String(PORT), String(SECONDS + 0.7)]);
  await recv.ready;
  const sent = Number((await spawnIn(p1.nsPath, 'taskset', ['-c', String(cpus - 1), blast, 'send', p2.ip, String(PORT), String(SECONDS), String(PAYLOAD)]).lines).at(-1));
  const got = Number((await recv.lines).at(-1));
  return { sentPps: sent / SECONDS, recvPps: got / SECONDS };
}

/** 10,000 entries: the two that match the bench flow plus fillers in the same two families. */
function benchPolicy(): PolicyEntry[] {
  const entries: PolicyEntry[] = [
    { localId: ID.pod1, peerId: ID.pod2, direction: Direction.egress, proto: IpProto.udp, port: PORT, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 1 },
    { localId: ID.pod2, peerId: ID.pod1, direction: Direction.ingress, proto: IpProto.udp, port: PORT, portPrefixLen: 16, verdict: PolicyVerdict.allow, ruleId: 2 },
  ];
  for (let i = 0; entries.length < POLICY_ENTRIES; i++) {
    const egress = i % 2 === 0;
    entries.push({
      localId: egress ? ID.pod1 : ID.pod2,
      peerId: 100_000 + Math.floor(i / 2),
      direction: egress ? Direction.egress : Direction.ingress,
      proto: i % 3 === 0 ? IpProto.tcp : IpProto.udp,
      port: 1024 + (i % 30_000),
      portPrefixLen: 16,
      verdict: PolicyVerdict.allow,
      ruleId: 1000 + i,
    });
  }
  return entries;
}

function iptablesRules(): string {
  const lines = ['*filter', ':FORWARD DROP [0:0]'];
  for (let i = 0; i < POLICY_ENTRIES - 1; i++) {
    lines.push(`-A FORWARD -s 10.201.${Math.floor(i / 250)}.${(i % 250) + 1}/32 -d 10.200.2.2/32 -p udp -m udp --dport ${PORT} -j ACCEPT`);
  }
  lines.push(`-A FORWARD -s 10.200.1.2/32 -d 10.200.2.2/32 -p udp -m udp --dport ${PORT} -j ACCEPT`, 'COMMIT', '');
  return lines.join('\n');
}

/** Flushes the node's FORWARD chain back to ACCEPT; returns the topology for chaining. */
function emptyIptables(topo: Topology): Topology {
  execFileSync('nsenter', [`--net=${topo.node.nsPath}`, '--', 'iptables-restore'], { input: '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n' });
  return topo;
}

function applyIptables(topo: Topology, rules: string): number {
  const t0 = performance.now();
  execFileSync('nsenter', [`--net=${topo.node.nsPath}`, '--', 'iptables-restore'], { input: rules });
  return performance.now() - t0;
}

async function main(): Promise<void> {
  if (!isRoot()) {
    console.error('bench/datapath.ts needs root (network namespaces, bpf, iptables)');
    process.exit(1);
  }
  const work = mkdtempSync(join(tmpdir(), 'fleetnet-bench-'));
  const pinDir = `/sys/fs/bpf/fleetnet-bench-${process.pid}`;
  let topo: Topology | undefined;
  let dp: Datapath | undefined;
  const cleanup = (): void => {
    try {
      dp?.destroy();
    } catch {
      /* best effort */
    }
    topo?.destroy();
    rmSync(work, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  };
  const hardStop = setTimeout(() => {
    console.error('bench: hard time limit reached, cleaning up');
    cleanup();
    process.exit(2);
  }, 240_000);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  }

  try {
    ensureBpffs();
    const blast = join(work, 'udp-blast');
    execFileSync('cc', ['-O2', '-o', blast, join(findRepoRoot(), 'bench', 'udp-blast.c')]);
    topo = createTopology('bch', 2);
    const [p1, p2] = topo.pods;
    if (!p1 || !p2) throw new Error('topology');
    const iptablesVersion = execFileSync('iptables', ['-V'], { encoding: 'utf8' }).trim();

    await measureRate(topo, blast); // warm-up (ARP, caches), discarded

    const binding = loadNativeBinding();
    dp = new Datapath({ pinDir, netnsPath: topo.node.nsPath, attachMode: 'tcx', binding });
    const loadFresh = dp.load().loadMs;
    const loadReuse = dp.load().loadMs;
    dp.upsertIpcache([
      { cidr: `${p1.ip}/32`, identity: ID.pod1 },
      { cidr: `${p2.ip}/32`, identity: ID.pod2 },
    ]);
    const policy = benchPolicy();
    const applyMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      if (i > 0) dp.deletePolicy(policy);
      const t0 = performance.now();
      dp.upsertPolicy(policy);
      applyMs.push(performance.now() - t0);
    }
    const policyCount = dp.listPolicy().length;
    const endpoint = (ifindex: number, identity: number) => ({ ifindex, identity, defaultDenyIngress: true, defaultDenyEgress: true, auditIngress: false, auditEgress: false });

    // (a) and (b) interleaved ROUNDS times (this VM's rate drifts by ±20% over tens of seconds);
    // each rate is the median over rounds, b/a the median of per-round ratios.
    const as: number[] = [];
    const bs: number[] = [];
    let forwarded: string[] = [];
    const attachBoth = (): void => {
      dp?.attachEndpoint(endpoint(p1.hostIfindex, ID.pod1));
      dp?.attachEndpoint(endpoint(p2.hostIfindex, ID.pod2));
    };
    const detachBoth = (): void => {
      dp?.detachEndpoint(p1.hostIfindex);
      dp?.detachEndpoint(p2.hostIfindex);
    };
    // (a0) an empty program on the same 4 hooks: the price of being attached at all
    const noopObj = join(work, 'noop-tc.o');
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', `-I/usr/include/${execFileSync('gcc', ['-dumpmachine'], { encoding: 'utf8' }).trim()}`, '-c', join(findRepoRoot(), 'bench', 'noop-tc.c'), '-o', noopObj]);
    const noopPin = `${pinDir}-noop`;
    const noop = binding.loadObject(noopObj, noopPin);
    const noopFd = noop.programs.fn_noop;
    if (noopFd === undefined) throw new Error('noop program missing');
    const noopLinks = [p1, p2].flatMap((p) => (['ingress', 'egress'] as const).map((hook) => ({ p, hook, pin: `${noopPin}/${p.index}-${hook}` })));
    const n0s: number[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const l of noopLinks) binding.attachTcx(noopFd, l.p.hostIfindex, l.hook, l.pin, topo.node.nsPath);
        n0s.push((await measureRate(topo, blast)).recvPps);
        for (const l of noopLinks) binding.detachTcx(l.pin);
      }
    } finally {
      for (const l of noopLinks) binding.detachTcx(l.pin);
      binding.closeFd(noopFd);
      rmSync(noopPin, { recursive: true, force: true });
    }

    for (let round = 0; round < ROUNDS; round++) {
      as.push((await measureRate(topo, blast)).recvPps);
      attachBoth();
      dp.readAndResetFlows();
      bs.push((await measureRate(topo, blast)).recvPps);
      forwarded = dp.readAndResetFlows().filter((f) => f.verdict === FlowVerdict.forwarded).map((f) => `${f.direction === Direction.egress ? 'egress' : 'ingress'} rule ${f.ruleId}: ${f.packets} pkts`);
      detachBoth();
    }
    // Program cost per packet from the kernel's bpf_stats, in a separate run (stats cost time).
    const statsWas = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
    let progNs: string[] = [];
    let progNsTotal = 0;
    try {
      writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
      attachBoth();
      await measureRate(topo, blast);
      progNs = Object.values(ProgramName).map((name) => {
        const info = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'pinned', join(pinDir, name)], { encoding: 'utf8' })) as { run_time_ns?: number; run_cnt?: number };
        const ns = (info.run_time_ns ?? 0) / Math.max(1, info.run_cnt ?? 0);
        progNsTotal += ns;
        return `${name} ${ns.toFixed(0)} ns/pkt`;
      });
    } finally {
      writeFileSync('/proc/sys/kernel/bpf_stats_enabled', statsWas);
      detachBoth();
    }
    const a = { recvPps: median(as) };
    const b = { recvPps: median(bs) };
    const ratioB = median(bs.map((x, i) => x / (as[i] ?? NaN)));

    // read-and-reset of 100,000 flow entries seeded from user space (every CPU slot filled)
    const cpus = binding.possibleCpus();
    const slot = LAYOUTS.flowValue.size;
    const keys = encodeAll(Array.from({ length: FLOW_ENTRIES }, (_x, i) => i), LAYOUTS.flowKey.size, (buf, o, i) =>
      writeFlowKey(buf, o, { localId: 1000 + (i % 97), peerId: i, ruleId: i % 1000, dport: i % 65536, proto: IpProto.tcp, direction: Direction.ingress, verdict: FlowVerdict.forwarded }),
    );
    const values = Buffer.alloc(FLOW_ENTRIES * slot * cpus);
    for (let i = 0; i < FLOW_ENTRIES * cpus; i++) writeFlowValue(values, i * slot, { packets: 1, bytes: 100, flows: 1, firstSeenNs: 1, lastSeenNs: 2 });
    dp.readAndResetFlows(); // the bpf_stats run's counters
    const resetMs: number[] = [];
    const resetRawMs: number[] = [];
    const rawCounts: number[] = [];
    const readCounts: number[] = [];
    let readCount = 0;
    for (let i = 0; i < 5; i++) {
      binding.updateBatch(dp.map(MapName.flows), keys, values);
      let t0 = performance.now();
      readCount = dp.readAndResetFlows().length;
      readCounts.push(readCount);
      resetMs.push(performance.now() - t0);
      binding.updateBatch(dp.map(MapName.flows), keys, values);
      t0 = performance.now();
      rawCounts.push(dp.readAndResetFlowsRaw().count);
      resetRawMs.push(performance.now() - t0);
    }
    dp.destroy();
    dp = undefined;

    const ipt = applyIptables(topo, iptablesRules());
    const c = await measureRate(topo, blast);
    const aAfter = await measureRate(emptyIptables(topo), blast);

    const r = (x: number): string => `${Math.round(x).toLocaleString('en-US')} pps`;
    console.log(`fleetnet datapath bench — ${SECONDS}s per rate, ${PAYLOAD}-byte UDP payload, one flow, ${cpus} CPUs`);
    console.log(`(a) no program                         ${r(a.recvPps)}   rounds: ${as.map(r).join(', ')}`);
    console.log(`(a0) empty TCX program on the 4 hooks   ${r(median(n0s))}   rounds: ${n0s.map(r).join(', ')}   a0/a = ${(median(n0s) / a.recvPps).toFixed(3)}`);
    console.log(`(b) fleetnet, ${policyCount} policy entries     ${r(b.recvPps)}   rounds: ${bs.map(r).join(', ')}   b/a = ${ratioB.toFixed(3)} (median of per-round ratios)`);
    console.log(`    counted in the last round: ${forwarded.join('; ')}`);
    // Noise-free estimate: the path's own cost per packet (1/a) plus both programs' measured cost.
    const predicted = 1 / a.recvPps / (1 / a.recvPps + progNsTotal / 1e9);
    console.log(`    program cost (bpf_stats, incl. the stats' clock reads): ${progNs.join(', ')} → b/a predicted from cost at (a): ${predicted.toFixed(3)}`);
    console.log(`(c) iptables ${POLICY_ENTRIES} rules, match last     ${r(c.recvPps)}   c/a = ${(c.recvPps / aAfter.recvPps).toFixed(3)} against (a) re-measured right after: ${r(aAfter.recvPps)}   [${iptablesVersion}, restore ${ipt.toFixed(0)} ms]`);
    console.log(`apply ${POLICY_ENTRIES} policy entries (encode + batch update), median of 5: ${median(applyMs).toFixed(2)} ms  [${applyMs.map((x) => x.toFixed(1)).join(', ')}]`);
    console.log(`entries read back of ${FLOW_ENTRIES} seeded : decoded ${readCounts.join(', ')}; raw ${rawCounts.join(', ')}`);
    console.log(`read-and-reset ${readCount} flow entries × ${cpus} CPUs → FlowRecord[], median of 5: ${median(resetMs).toFixed(2)} ms  [${resetMs.map((x) => x.toFixed(1)).join(', ')}]`);
    console.log(`read-and-reset ${readCount} flow entries × ${cpus} CPUs → raw buffers, median of 5: ${median(resetRawMs).toFixed(2)} ms  [${resetRawMs.map((x) => x.toFixed(1)).join(', ')}]`);
    console.log(`object load: fresh maps ${loadFresh.toFixed(1)} ms, reusing pinned maps ${loadReuse.toFixed(1)} ms`);
    console.log(
      JSON.stringify({
        ppsNoProgram: Math.round(a.recvPps),
        ppsEmptyProgram: Math.round(median(n0s)),
        ppsFleetnet: Math.round(b.recvPps),
        ppsIptables: Math.round(c.recvPps),
        ratioFleetnet: ratioB,
        ratioFleetnetPredicted: predicted,
        programNsPerPacket: progNsTotal,
        ratioIptables: c.recvPps / aAfter.recvPps,
        applyPolicyMs: median(applyMs),
        readResetFlowsMs: median(resetMs),
        readResetFlowsRawMs: median(resetRawMs),
        flowEntriesRead: readCount,
        loadFreshMs: loadFresh,
        loadReuseMs: loadReuse,
        iptables: iptablesVersion,
      }),
    );
  } finally {
    clearTimeout(hardStop);
    cleanup();
  }
}

await main();
