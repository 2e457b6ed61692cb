/**
 * Replay end to end (root, real packets): an audit-mode policy runs on a real datapath; the agent
 * counts would-be drops as AUDIT and pushes them to the API; a replay of "this policy, enforced"
 * against that history must predict exactly those drops — the same summaries and packets the datapath
 * counted as AUDIT (`totals.auditedToDropped`) — plus the established packets of the same connections
 * (recorded FORWARDED: enforcement drops the first packet, so they would stop too), and nothing else
 * (issue 13: "the audit → enforce replay equals the AUDIT verdicts the datapath counted").
 * Pods: web (allowed by the policy), db (the policy's subject), other (not allowed: audited).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { FlowSummary } from '../../openapi/types.js';
import { AgentScenario, eventually } from '../helpers/agent-scenario.js';
import { createTopology, ensureBpffs, isRoot, Peer, type Topology } from '../helpers/netns.js';

const ROOT = isRoot();
if (!ROOT) console.warn('\n!!! test/agent/replay-audit-e2e.test.ts SKIPPED: needs root (netns, bpf). CI runs as root. !!!\n');

const CLUSTER = 'replay-e2e';
const POLICY = 'db-trial';
const DB_PORT = 5432;
const OTHER_PORT = 81;

describe.skipIf(!ROOT)('replay of audit → enforce against what the datapath counted', { timeout: 180_000 }, () => {
  let topo: Topology | undefined;
  let scenario: AgentScenario | undefined;
  const peers: Peer[] = [];
  const since = new Date(Date.now() - 60_000).toISOString();

  beforeAll(async () => {
    ensureBpffs();
    topo = createTopology('replay', 3);
    scenario = await AgentScenario.start({
      cluster: CLUSTER,
      node: 'replay-node',
      agentId: 'agent-replay',
      topology: topo,
      names: ['web', 'db', 'other'],
      policies: {
        [POLICY]: {
          mode: 'audit',
          endpointSelector: { matchLabels: { app: 'db' } },
          ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: String(DB_PORT), protocol: 'TCP' }] }] }],
        },
      },
      agentArgs: ['--poll-interval', '1s', '--flow-interval', '1s'],
    });
    for (const pod of topo.pods) peers.push(await Peer.start(pod.nsPath));
    for (const port of [DB_PORT, OTHER_PORT]) await peers[1]!.listen('tcp', port);
    await scenario.startAgent();
  });

  afterAll(async () => {
    for (const p of peers) p.stop();
    await scenario?.stop();
  });

  it('the audit policy forwards everything and counts the would-be drops as AUDIT', async () => {
    const db = topo!.pods[1]!;
    const [web, , other] = peers;
    for (const family of [4, 6] as const) {
      const to = family === 4 ? db.ip : db.ip6;
      for (let i = 0; i < 3; i++) {
        expect((await web!.tcp(to, DB_PORT, 3000)).ok).toBe(true); // allowed by the policy
        expect((await other!.tcp(to, DB_PORT, 3000)).ok).toBe(true); // audited, still forwarded
        expect((await web!.tcp(to, OTHER_PORT, 3000)).ok).toBe(true); // audited, still forwarded
      }
    }
    await eventually(async () => (await scenario!.flows(since, { verdict: ['AUDIT'] })).length >= 4, 30_000, 'AUDIT summaries of both sources and families in the history');
  });

  it('replaying the policy enforced predicts exactly the audited summaries and packets as allowed → dropped, and nothing else', async () => {
    const s = scenario!;
    // Let the last window's summaries arrive, then freeze the window the replay reads.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const until = new Date().toISOString();
    const audited: FlowSummary[] = (await s.flows(since, { verdict: ['AUDIT'] })).filter((f) => !f.l7);
    const sum = (list: FlowSummary[], k: 'packets' | 'flows'): number => list.reduce((n, f) => n + f[k], 0);
    expect(audited.length).toBeGreaterThanOrEqual(4);
    expect(audited.every((f) => f.traffic_direction === 'INGRESS' && f.destination.labels?.includes('k8s:app=db'))).toBe(true);

    const started = await s.client.call('POST', '/policyreplays', { token: s.api.tokens.reader, body: { modes: [{ name: POLICY, mode: 'enforce' }], since, until, clusters: [CLUSTER] } });
    expect(started.status).toBe(202);
    const location = started.headers.get('operation-location');
    expect(location).toBeTruthy();
    const path = new URL(location!).pathname.replace(/^\/api/, '');
    let operation: Record<string, any> = started.body;
    await eventually(async () => {
      const r = await s.client.call('GET', path, { token: s.api.tokens.reader });
      expect(r.status).toBe(200);
      operation = r.body;
      return operation.status === 'Succeeded' || operation.status === 'Failed';
    }, 60_000, 'the replay operation to finish');
    expect(operation.status).toBe('Succeeded');
    const result = operation.result;
    // the would-be drops the datapath counted (AUDIT: each audited connection's first packet), exactly
    expect(result.totals.auditedToDropped.summaries).toBe(audited.length);
    expect(result.totals.auditedToDropped.packets).toBe(sum(audited, 'packets'));
    expect(result.totals.auditedToDropped.flows).toBe(sum(audited, 'flows'));
    // the rest of what enforcement would stop is the established traffic of those same connections,
    // recorded FORWARDED at db's ingress for the same peers and ports
    const sameKeys = (await s.flows(since, { verdict: ['FORWARDED'] })).filter(
      (f) => !f.l7 && f.traffic_direction === 'INGRESS' && audited.some((a) => a.source.labels?.join() === f.source.labels?.join() && a.l4.destination_port === f.l4.destination_port && a.destination.labels?.join() === f.destination.labels?.join()),
    );
    expect(result.totals.allowedToDropped.summaries).toBe(audited.length + sameKeys.length);
    expect(result.totals.allowedToDropped.packets).toBe(sum(audited, 'packets') + sum(sameKeys, 'packets'));
    expect(result.totals.droppedToAllowed.summaries).toBe(0);
    const groups = result.changes as Array<Record<string, any>>;
    expect(groups.every((g) => g.change === 'allowed-to-dropped' && g.direction === 'ingress' && g.subject === `${CLUSTER}/db` && g.current.verdict === 'audit' && g.candidate.verdict === 'dropped' && g.candidate.decidedBy === 'default-deny')).toBe(true);
    expect(groups.map((g) => `${g.peer} ${g.ports.join()}`).sort()).toEqual([`${CLUSTER}/other TCP/${DB_PORT}`, `${CLUSTER}/web TCP/${OTHER_PORT}`]);
    // the history agrees with the current (audit) policy: nothing recorded under other generations
    expect(result.disagreements.sums.summaries).toBe(0);
  });
});
