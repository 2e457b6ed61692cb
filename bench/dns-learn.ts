/**
 * Part of `npm run bench:dns` (root only): the time from an answer to "its addresses are in the maps"
 * — what the DNS proxy waits for before it releases an answer with a new address. The agent's own path:
 * FqdnLearner.learn → FqdnCache → compileBundle (dnsProxy, fqdnNames) → applyCompiledState on a real
 * Datapath (pinned maps, programs attached to a veth in a namespace the bench creates and
 * removes). Each learn is a new name with a new address (the cache grows to LEARNS names), one policy
 * with a toFQDNs pattern selecting one local endpoint, among BENCH_LEARN_PODS other pods.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

import { applyCompiledState } from '../agent/src/apply/index.js';
import { compileBundle, type CompileInput } from '../agent/src/compile/index.js';
import { FqdnCache } from '../agent/src/fqdn/fqdn-cache.js';
import { FqdnLearner } from '../agent/src/fqdn/fqdn-learner.js';
import { Datapath } from '../agent/src/kernel/datapath.js';
import type { BundledPolicy } from '../openapi/types.js';

const LEARNS = Number(process.env.BENCH_LEARNS ?? 500);
const PODS = Number(process.env.BENCH_LEARN_PODS ?? 200);

export interface AnswerToMaps {
  samplesMs: number[];
  learns: number;
}

export async function measureAnswerToMaps(): Promise<AnswerToMaps | string> {
  if (process.getuid?.() !== 0) return 'skipped: needs root (bpf maps, a namespace)';
  const ns = `fnbenchlearn${process.pid}`;
  const pinDir = `/sys/fs/bpf/fleetnet-bench-dns-learn-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  let dp: Datapath | undefined;
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'd0', 'up']);
    const ifindex = (JSON.parse(execFileSync('ip', ['-j', '-n', ns, 'link', 'show', 'd0'], { encoding: 'utf8' })) as { ifindex: number }[])[0]!.ifindex;
    dp = new Datapath({ pinDir, netnsPath: `/run/netns/${ns}`, attachMode: 'tcx' });
    dp.load();
    const policy = {
      name: 'bench.fqdn',
      generation: 1,
      spec: {
        endpointSelector: { matchLabels: { app: 'client' } },
        egress: [
          { toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*' }] } }] },
          { toFQDNs: [{ matchPattern: '*.learn.bench.test' }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] },
        ],
      },
    } as unknown as BundledPolicy;
    const client = { ifindex, podName: 'client', namespace: 'bench', labels: { app: 'client' }, ip: '10.90.0.2' };
    const peers = Array.from({ length: PODS }, (_, i) => ({ podName: `pod-${i}`, namespace: 'bench', labels: { app: `a${i % 20}` }, ip: `10.90.${1 + (i >> 8)}.${i & 255}` }));
    const cache = new FqdnCache({ minTtlSeconds: 3600, maxIpsPerName: 1000, maxNamesPerEndpoint: LEARNS + 10 });
    let compiled: ReturnType<typeof compileBundle> | undefined;
    const program = async (): Promise<void> => {
      const input: CompileInput = { bundle: { clusterId: 'bench', policies: [policy] }, endpoints: [client], peers: [client, ...peers], dnsProxy: true, fqdnNames: cache.union() };
      compiled = compileBundle(input);
      applyCompiledState(dp!, compiled);
    };
    const learner = new FqdnLearner({ cache, program });
    await program();
    const { createFqdnLearner } = await import('../agent/src/compile/index.js');
    learner.setSelection(createFqdnLearner(compiled!.fqdnSelectors ?? []));
    const identity = compiled!.endpoints[0]!.identity;
    const samplesMs: number[] = [];
    for (let k = 0; k < LEARNS; k++) {
      const t0 = performance.now();
      await learner.learn({ key: 'bench/client', identity }, { names: [`h${k}.learn.bench.test`], ips: [`203.0.${113 + (k >> 8)}.${k & 255}`], ttl: 300 });
      samplesMs.push(performance.now() - t0);
    }
    return { samplesMs, learns: LEARNS };
  } finally {
    try {
      dp?.destroy();
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  }
}
