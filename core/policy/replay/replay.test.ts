/**
 * Replay (pass 1 + pass 2) on generated history, checked against an independent oracle: a tiny
 * hand-written model of the generated policies (who may reach whom on which port), evaluated without
 * core's resolution. 120,000 summaries over three clusters (one out of scope), with L7 and
 * direction-less summaries that must be reported as not judged.
 */
import { describe, expect, it } from 'vitest';

import type { BundledPolicy, FlowRecord } from '../../../openapi/types.js';
import { buildPodLabelSet } from '../../labels/cilium-labels.js';
import { applyCandidate, type CandidateChange } from './candidate-policies.js';
import { replayChanges, type ClusterPolicySets } from './replay-changes.js';
import { mergeReplayParts, ReplayGrouper } from './replay-groups.js';

const APPS = ['a', 'b', 'c', 'd', 'e'] as const;
type App = (typeof APPS)[number];
const PORTS = [80, 443, 5432, 8080];

/** The model: per destination app, enforce or audit allows (from apps, ports) and enforce denies. */
interface ModelPolicy {
  name: string;
  dst: App;
  mode: 'enforce' | 'audit';
  allowFrom?: App[];
  ports?: number[];
  denyFrom?: App[];
}

const CURRENT: ModelPolicy[] = [
  { name: 'b-in', dst: 'b', mode: 'enforce', allowFrom: ['a', 'c'], ports: [80, 443] },
  { name: 'c-in', dst: 'c', mode: 'enforce', allowFrom: ['a', 'b', 'd'], ports: [5432] },
  { name: 'e-trial', dst: 'e', mode: 'audit', allowFrom: ['a'], ports: [8080] },
];
/** c-in narrowed (d loses 5432), b-in widened to 8080, a deny of d into b, e-trial enforced. */
const CHANGE: CandidateChange = {
  upsert: [
    { name: 'c-in', spec: spec({ name: 'c-in', dst: 'c', mode: 'enforce', allowFrom: ['a', 'b'], ports: [5432] }) },
    { name: 'b-in', spec: spec({ name: 'b-in', dst: 'b', mode: 'enforce', allowFrom: ['a', 'c'], ports: [80, 443, 8080], denyFrom: ['d'] }) },
  ],
  modes: [{ name: 'e-trial', mode: 'enforce' }],
};
const CANDIDATE: ModelPolicy[] = [
  { name: 'b-in', dst: 'b', mode: 'enforce', allowFrom: ['a', 'c'], ports: [80, 443, 8080], denyFrom: ['d'] },
  { name: 'c-in', dst: 'c', mode: 'enforce', allowFrom: ['a', 'b'], ports: [5432] },
  { name: 'e-trial', dst: 'e', mode: 'enforce', allowFrom: ['a'], ports: [8080] },
];

function spec(m: ModelPolicy): BundledPolicy['spec'] {
  const from = (apps: App[]): Array<{ matchLabels: Record<string, string> }> => apps.map((app) => ({ matchLabels: { app } }));
  return {
    mode: m.mode,
    endpointSelector: { matchLabels: { app: m.dst } },
    ...(m.allowFrom ? { ingress: [{ fromEndpoints: from(m.allowFrom), toPorts: [{ ports: (m.ports ?? []).map((p) => ({ port: String(p), protocol: 'TCP' as const })) }] }] } : {}),
    ...(m.denyFrom ? { ingressDeny: [{ fromEndpoints: from(m.denyFrom) }] } : {}),
  };
}
const bundled = (m: ModelPolicy): BundledPolicy => ({ name: m.name, generation: 1, mode: m.mode, spec: spec(m) });

/** The oracle: ingress at dst (egress has no policy here). */
function oracle(model: readonly ModelPolicy[], src: App, dst: App, port: number): 'FORWARDED' | 'DROPPED' | 'AUDIT' {
  const selecting = model.filter((m) => m.dst === dst);
  if (selecting.some((m) => m.mode === 'enforce' && m.denyFrom?.includes(src))) return 'DROPPED';
  const allows = (m: ModelPolicy): boolean => (m.allowFrom ?? []).includes(src) && (m.ports ?? []).includes(port);
  const enforce = selecting.filter((m) => m.mode === 'enforce');
  if (enforce.length > 0) return enforce.some(allows) ? 'FORWARDED' : 'DROPPED';
  const audit = selecting.filter((m) => m.mode === 'audit');
  if (audit.length > 0) return audit.some(allows) ? 'FORWARDED' : 'AUDIT';
  return 'FORWARDED';
}

const endpoint = (cluster: string, app: App): FlowRecord['flow']['source'] => ({
  identity: 300 + APPS.indexOf(app),
  namespace: 'ns',
  pod_name: `${app}-0`,
  labels: [...buildPodLabelSet({ labels: { app }, namespace: 'ns', clusterId: cluster })],
  workloads: [{ name: app, kind: 'Deployment' }],
});

describe('replay on generated history', () => {
  it('allowed → dropped and dropped → allowed equal the oracle for 120,000 summaries; what it cannot judge is counted by reason', () => {
    let seed = 99;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    const clusters = ['c1', 'c2', 'c3'];
    const want = new Map<string, number>(); // change|subject|peer → packets
    const wantUnjudged = { l7: 0, 'direction-unknown': 0, 'cluster-not-in-scope': 0 };
    let recordedDisagree = 0;
    const groupers = [new ReplayGrouper<FlowRecord>(), new ReplayGrouper<FlowRecord>()];
    const N = 120_000;
    for (let i = 0; i < N; i++) {
      const cluster = clusters[rnd(3)] as string;
      const src = APPS[rnd(5)] as App;
      const dst = APPS[rnd(5)] as App;
      const port = PORTS[rnd(4)] as number;
      const packets = 1 + rnd(50);
      const kind = rnd(100);
      const direction = kind < 2 ? 'TRAFFIC_DIRECTION_UNKNOWN' : kind < 30 ? 'EGRESS' : 'INGRESS';
      const l7 = kind >= 98;
      // recorded = the current model's verdict (egress: forwarded), except one summary in a thousand
      let recorded = direction === 'INGRESS' ? oracle(CURRENT, src, dst, port) : 'FORWARDED';
      if (i % 1000 === 7) {
        recorded = recorded === 'DROPPED' ? 'FORWARDED' : 'DROPPED';
        if (direction !== 'TRAFFIC_DIRECTION_UNKNOWN' && !l7 && cluster !== 'c3') recordedDisagree++;
      }
      const time = new Date(Date.UTC(2026, 10, 20) + i * 1000).toISOString();
      const record: FlowRecord = {
        time,
        cluster,
        node_name: 'n1',
        window: { start: time, end: time },
        flow: {
          source: endpoint(cluster, src),
          destination: endpoint(cluster, dst),
          l4: { protocol: 'TCP', destination_port: port },
          traffic_direction: direction,
          verdict: recorded,
          ...(recorded === 'DROPPED' ? { drop_reason_desc: 'POLICY_DENIED' } : {}),
          ...(l7 ? { l7: { type: 'REQUEST', http: { method: 'GET', url: '/', protocol: 'HTTP/1.1' } } } : {}),
          packets,
          bytes: packets * 100,
          flows: 1,
        } as FlowRecord['flow'],
      };
      (groupers[i % 2] as ReplayGrouper<FlowRecord>).add(record, () => record);
      if (l7) wantUnjudged.l7++;
      else if (direction === 'TRAFFIC_DIRECTION_UNKNOWN') wantUnjudged['direction-unknown']++;
      else if (cluster === 'c3') wantUnjudged['cluster-not-in-scope']++;
      else if (direction === 'INGRESS') {
        const before = oracle(CURRENT, src, dst, port) !== 'DROPPED';
        const after = oracle(CANDIDATE, src, dst, port) !== 'DROPPED';
        if (before !== after) {
          const k = `${before ? 'allowed-to-dropped' : 'dropped-to-allowed'}|ns/${dst}|ns/${src}`;
          want.set(k, (want.get(k) ?? 0) + packets);
        }
      }
    }
    const part = mergeReplayParts(groupers.map((g) => g.part()));
    const sets = new Map<string, ClusterPolicySets>(
      ['c1', 'c2'].map((c) => {
        const current = CURRENT.map(bundled);
        return [c, { current, candidate: applyCandidate(current, CHANGE, { id: c, labels: {} }) }];
      }),
    );
    const result = replayChanges(part, sets);
    const got = new Map<string, number>();
    for (const c of result.changes) got.set(`${c.change}|${c.subject}|${c.peer}`, (got.get(`${c.change}|${c.subject}|${c.peer}`) ?? 0) + c.sums.packets);
    expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...want].sort()));
    expect(want.size).toBeGreaterThan(3);
    expect([...want.keys()].some((k) => k.startsWith('dropped-to-allowed'))).toBe(true);
    expect(Object.fromEntries(result.unjudged.map((u) => [u.reason, u.sums.summaries]))).toEqual(wantUnjudged);
    expect(result.disagreements.sums.summaries).toBe(recordedDisagree);
    // the audit → enforce part: every AUDIT-recorded summary of e becomes a drop, attributed to default deny of e-trial's subject
    const enforced = result.changes.filter((c) => c.subject === 'ns/e' && c.change === 'allowed-to-dropped');
    expect(enforced.every((c) => c.current.verdict === 'audit' && c.candidate.decidedBy === 'default-deny')).toBe(true);
    const narrowed = result.changes.find((c) => c.subject === 'ns/c' && c.peer === 'ns/d');
    expect(narrowed?.current.rule).toMatchObject({ policy: 'c-in', pointer: '/ingress/0', generation: 1 });
    expect(narrowed?.ports).toEqual(['TCP/5432']);
    const denied = result.changes.find((c) => c.subject === 'ns/b' && c.peer === 'ns/d' && c.change === 'allowed-to-dropped');
    expect(denied).toBeUndefined(); // d → b was already dropped (not allowed by b-in): the deny changes no fate
    expect(result.changes.find((c) => c.subject === 'ns/b' && c.peer === 'ns/a' && c.change === 'dropped-to-allowed')?.candidate.rule).toMatchObject({ policy: 'b-in', generation: 2 });
  });
});
