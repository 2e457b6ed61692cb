import { describe, expect, it } from 'vitest';

import { policyRealization, type ClusterLedger, type NodeStatusView } from './policy-realization.js';

const NOW = new Date('2026-11-30T12:00:00Z');
const ago = (s: number): string => new Date(NOW.getTime() - s * 1000).toISOString();
const POLICY = 'db-in';
/** The ledger of one cluster: revision 5 lists db-in gen 1, revision 6 gen 2, revision 7 (current) gen 3. */
const views = new Map([
  [4, { revision: 4, policies: [{ name: 'other', generation: 1 }] }],
  [5, { revision: 5, policies: [{ name: POLICY, generation: 1 }] }],
  [6, { revision: 6, policies: [{ name: POLICY, generation: 2 }] }],
  [7, { revision: 7, policies: [{ name: POLICY, generation: 3 }, { name: 'other', generation: 1 }] }],
]);
const node = (name: string, observedRevision: number | undefined, lastSeenSecondsAgo = 1, degradedMessage?: string): NodeStatusView => ({
  name,
  ...(observedRevision !== undefined ? { observedRevision } : {}),
  lastSeen: ago(lastSeenSecondsAgo),
  ...(degradedMessage ? { degradedMessage } : {}),
});
const cluster = (id: string, currentRevision: number | undefined, nodes: NodeStatusView[]): ClusterLedger => ({ id, ...(currentRevision !== undefined ? { currentRevision } : {}), views, nodes });
const show = (clusters: ClusterLedger[]): string[] =>
  policyRealization(POLICY, clusters, { now: NOW, silentAfterMs: 30_000 }).generations.flatMap((g) => [
    `gen ${g.generation ?? 'none'} targets [${g.clustersTargeted.join(',')}]`,
    ...g.nodes.map((n) => `  ${n.cluster}/${n.node} ${n.state}${n.silent ? ' silent' : ''}${n.degraded ? ' degraded' : ''}`),
  ]);

describe('policyRealization', () => {
  it.each<{ name: string; clusters: ClusterLedger[]; want: string[] }>([
    {
      name: 'nodes at the current revision enforce the current generation',
      clusters: [cluster('c1', 7, [node('n1', 7), node('n2', 7)])],
      want: ['gen 3 targets [c1]', '  c1/n1 enforcing', '  c1/n2 enforcing'],
    },
    {
      name: 'a node held at an old revision is behind, listed under the generation it enforces; one before the policy existed, under none',
      clusters: [cluster('c1', 7, [node('n1', 7), node('n2', 5), node('n3', 4)])],
      want: ['gen 3 targets [c1]', '  c1/n1 enforcing', 'gen 1 targets []', '  c1/n2 behind', 'gen none targets []', '  c1/n3 behind'],
    },
    {
      name: 'a revision the ledger no longer holds, or none reported: unknown',
      clusters: [cluster('c1', 7, [node('n1', 2), node('n2', undefined)])],
      want: ['gen 3 targets [c1]', '  c1/n1 unknown', '  c1/n2 unknown'],
    },
    {
      name: 'a node that stopped reporting is silent (its last known state kept)',
      clusters: [cluster('c1', 7, [node('n1', 7, 120)])],
      want: ['gen 3 targets [c1]', '  c1/n1 enforcing silent'],
    },
    {
      name: 'a node whose Degraded condition names the policy is degraded for it; another policy named does not count',
      clusters: [cluster('c1', 7, [node('n1', 7, 1, '1 rule(s) not enforceable by the datapath (fail-closed): policy db-in /ingress/0/toPorts/0/rules/kafka: …'), node('n2', 7, 1, '… policy db-inner /ingress/0: …')])],
      want: ['gen 3 targets [c1]', '  c1/n1 enforcing degraded', '  c1/n2 enforcing'],
    },
    {
      name: 'clusters targeted by different generations; a cluster not targeted lists only nodes still enforcing it',
      clusters: [cluster('c2', 6, [node('a', 6)]), cluster('c1', 7, [node('a', 7)]), cluster('c3', 4, [node('a', 5), node('b', 4)])],
      want: ['gen 3 targets [c1]', '  c1/a enforcing', 'gen 2 targets [c2]', '  c2/a enforcing', 'gen 1 targets []', '  c3/a behind'],
    },
    {
      name: 'a cluster not compiled yet targets nothing',
      clusters: [cluster('c1', undefined, [node('n1', undefined)])],
      want: [],
    },
  ])('$name', ({ clusters, want }) => {
    expect(show(clusters)).toEqual(want);
  });

  it('summarises the states and names the current generation', () => {
    const r = policyRealization(POLICY, [cluster('c1', 7, [node('n1', 7), node('n2', 5, 300), node('n3', 9, 1, 'policy db-in /x: y')])], { now: NOW, silentAfterMs: 30_000 });
    expect(r.currentGeneration).toBe(3);
    expect(r.summary).toEqual({ enforcing: 1, behind: 1, unknown: 1, silent: 1, degraded: 1 });
  });
});
