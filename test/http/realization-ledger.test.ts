/**
 * The realization ledger's storage on the real store: every sealed group manifest is recorded (container
 * manifestLedger, its retention as the container's default TTL — the embedded emulator does not expire
 * documents, so the setting is what is checked), a cluster's views map each revision to the policy
 * generations it holds, and core's policyRealization over them and the nodes' reported status says which
 * node enforces which generation — a node held at an old revision is behind as soon as the new revision
 * is compiled; a node whose Degraded condition names the policy is listed for it.
 * (The API and CLI over this come next: docs/plans/issue-13-policy-resolution.md.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { policyRealization, type ClusterLedger } from '../../core/policy/realization/policy-realization.js';
import { RealizationService } from '../../functions/src/domain/realization.js';
import { LEDGER_TTL_SECONDS } from '../../functions/src/store/cosmos-layout.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, nodeBody, policyBody } from '../helpers/fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let agent: string;
const CLUSTER = 'ledger-1';

beforeAll(async () => {
  api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
  client = createContractClient(api.baseUrl);
  agent = await api.agentToken('agent-ledger');
});
afterAll(async () => api?.close());

const groupKeyOf = async (cluster: string): Promise<string> => {
  const manifest = (await api.services.store.manifests.all()).find((m) => m.value.members[cluster] !== undefined);
  if (!manifest) throw new Error(`no manifest for ${cluster}`);
  return manifest.value.groupKey;
};
const currentRevision = async (cluster: string): Promise<number> => (await api.services.store.manifests.read(await groupKeyOf(cluster)))!.value.revision;
const realization = (now = new Date()) => new RealizationService({ manifests: api.services.store.manifests, nodes: api.services.store.nodes, now: () => now });
const ledgerOf = async (cluster: string): Promise<ClusterLedger> => (await realization().ledgers()).find((c) => c.id === cluster)!;

describe('realization ledger (storage)', () => {
  it('the container keeps entries for the retention', async () => {
    const { resource } = await api.cosmos.containers.manifestLedger.read();
    expect(resource?.defaultTtl).toBe(LEDGER_TTL_SECONDS);
  });

  it('records every revision; a node held at an old revision is behind, the others enforce the new generation; Degraded naming the policy is listed', async () => {
    const admin = api.tokens.admin;
    expect((await client.call('PUT', `/clusters/${CLUSTER}`, { token: admin, body: clusterBody(CLUSTER, { env: 'ledger' }, ['agent-ledger']) })).status).toBeLessThan(300);
    expect((await client.call('PUT', '/networkpolicies/db-in', { token: admin, body: policyBody('db-in', { targets: { clusterIds: [CLUSTER] } }) })).status).toBeLessThan(300);
    await api.services.desiredState.settled();
    const first = await currentRevision(CLUSTER);
    for (const n of ['n1', 'n2', 'n3']) {
      expect((await client.call('PUT', `/clusters/${CLUSTER}/nodes/${n}`, { token: agent, body: nodeBody(n) })).status).toBeLessThan(300);
      expect((await client.call('PUT', `/clusters/${CLUSTER}/nodes/${n}/status`, { token: agent, body: { observedRevision: first } })).status).toBe(200);
    }
    let r = policyRealization('db-in', [await ledgerOf(CLUSTER)], { now: new Date(), silentAfterMs: 60_000 });
    expect(r.generations.map((g) => [g.generation, g.nodes.map((n) => `${n.node} ${n.state}`)])).toEqual([[1, ['n1 enforcing', 'n2 enforcing', 'n3 enforcing']]]);

    // generation 2: n1 and n2 take it, n3 stays at the old revision and reports a Degraded condition naming the policy
    expect((await client.call('PUT', '/networkpolicies/db-in', { token: admin, body: policyBody('db-in', { targets: { clusterIds: [CLUSTER] }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }] }] }) })).status).toBeLessThan(300);
    await api.services.desiredState.settled();
    const second = await currentRevision(CLUSTER);
    expect(second).toBe(first + 1);
    r = policyRealization('db-in', [await ledgerOf(CLUSTER)], { now: new Date(), silentAfterMs: 60_000 });
    expect(r.generations.map((g) => [g.generation, g.clustersTargeted, g.nodes.map((n) => `${n.node} ${n.state}`)])).toEqual([
      [2, [CLUSTER], []],
      [1, [], ['n1 behind', 'n2 behind', 'n3 behind']],
    ]); // behind as soon as the new revision is compiled, before any node polls again
    for (const n of ['n1', 'n2']) await client.call('PUT', `/clusters/${CLUSTER}/nodes/${n}/status`, { token: agent, body: { observedRevision: second } });
    await client.call('PUT', `/clusters/${CLUSTER}/nodes/n3/status`, {
      token: agent,
      body: { observedRevision: first, conditions: [{ type: 'Degraded', status: 'True', reason: 'UnsupportedRules', message: '1 rule(s) not enforceable by the datapath (fail-closed): policy db-in /ingress/0: L7 kafka rules are not enforced' }] },
    });
    r = policyRealization('db-in', [await ledgerOf(CLUSTER)], { now: new Date(), silentAfterMs: 60_000 });
    expect(r.generations.map((g) => [g.generation, g.nodes.map((n) => `${n.node} ${n.state}${n.degraded ? ' degraded' : ''}`)])).toEqual([
      [2, ['n1 enforcing', 'n2 enforcing']],
      [1, ['n3 behind degraded']],
    ]);
    // both revisions are in the ledger, each with the generation it held
    const views = await api.services.store.manifests.ledger!.viewsFor(await groupKeyOf(CLUSTER), CLUSTER);
    expect([views.get(first)?.policies, views.get(second)?.policies]).toEqual([[{ name: 'db-in', generation: 1 }], [{ name: 'db-in', generation: 2 }]]);
    // the fleet summary: intended revision vs nodes at it
    expect(await realization().fleet(60_000)).toEqual([{ cluster: CLUSTER, revision: second, nodes: 3, atRevision: 2, behind: 1, unknown: 0, silent: 0, degraded: 1 }]);
    // a node that stopped reporting is silent
    expect((await realization(new Date(Date.now() + 120_000)).policy('db-in', 60_000)).summary.silent).toBe(3);
  });
});
