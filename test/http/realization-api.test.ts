/**
 * GET /networkpolicies/{name}/realization, GET /realization and `fleetnet policy status` /
 * `fleetnet fleet status` over the real store: a node held at an old revision is behind right after
 * the change is compiled (before any poll), the others enforce the new generation once they report
 * it, a node whose Degraded condition names the policy is listed for it, a node that stops reporting
 * is silent; bad input is a 400 with a pointer; 401 without a token; 404 for a policy nobody knows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../../cli/run-cli.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, nodeBody, policyBody } from '../helpers/fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let agent: string;
const CLUSTER = 'real-1';
const POLICY = 'api-in';

beforeAll(async () => {
  api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
  client = createContractClient(api.baseUrl);
  agent = await api.agentToken('agent-real');
});
afterAll(async () => api?.close());

const realization = (query = '') => client.call('GET', `/networkpolicies/${POLICY}/realization${query}`, { token: api.tokens.reader });
const revision = async (): Promise<number> => (await client.call('GET', '/realization', { token: api.tokens.reader })).body.clusters.find((c: { cluster: string }) => c.cluster === CLUSTER).revision;
const report = (node: string, observedRevision: number, conditions?: unknown[]) =>
  client.call('PUT', `/clusters/${CLUSTER}/nodes/${node}/status`, { token: agent, body: { observedRevision, ...(conditions ? { conditions } : {}) } });
const nodeStates = (body: { generations: Array<{ generation: number | null; nodes: Array<{ node: string; state: string; silent: boolean; degraded: boolean }> }> }) =>
  body.generations.map((g) => [g.generation, g.nodes.map((n) => `${n.node} ${n.state}${n.silent ? ' silent' : ''}${n.degraded ? ' degraded' : ''}`)]);

describe('realization API', () => {
  it('follows a policy change node by node', async () => {
    const admin = api.tokens.admin;
    await client.call('PUT', `/clusters/${CLUSTER}`, { token: admin, body: clusterBody(CLUSTER, { env: 'real' }, ['agent-real']) });
    await client.call('PUT', `/networkpolicies/${POLICY}`, { token: admin, body: policyBody(POLICY, { targets: { clusterIds: [CLUSTER] } }) });
    await api.services.desiredState.settled();
    const first = await revision();
    for (const n of ['n1', 'n2']) {
      await client.call('PUT', `/clusters/${CLUSTER}/nodes/${n}`, { token: agent, body: nodeBody(n) });
      expect((await report(n, first)).status).toBe(200);
    }
    let r = await realization();
    expect(r.status).toBe(200);
    expect(r.body.currentGeneration).toBe(1);
    expect(nodeStates(r.body)).toEqual([[1, ['n1 enforcing', 'n2 enforcing']]]);

    await client.call('PUT', `/networkpolicies/${POLICY}`, { token: admin, body: policyBody(POLICY, { targets: { clusterIds: [CLUSTER] }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }] }] }) });
    await api.services.desiredState.settled();
    r = await realization();
    expect(nodeStates(r.body)).toEqual([[2, []], [1, ['n1 behind', 'n2 behind']]]); // before any node reports again
    const second = await revision();
    await report('n1', second);
    await report('n2', first, [{ type: 'Degraded', status: 'True', reason: 'UnsupportedRules', message: `1 rule(s) not enforceable by the datapath (fail-closed): policy ${POLICY} /ingress/0: …` }]);
    r = await realization();
    expect(nodeStates(r.body)).toEqual([[2, ['n1 enforcing']], [1, ['n2 behind degraded']]]);
    expect(r.body.summary).toEqual({ enforcing: 1, behind: 1, unknown: 0, silent: 0, degraded: 1 });

    const fleet = await client.call('GET', '/realization', { token: api.tokens.reader });
    expect(fleet.body.clusters.find((c: { cluster: string }) => c.cluster === CLUSTER)).toEqual({ cluster: CLUSTER, revision: second, nodes: 2, atRevision: 1, behind: 1, unknown: 0, silent: 0, degraded: 1 });

    // silence: with a 1 s bound, after 1.5 s without reports every node is silent
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await realization('?silentAfterSeconds=1')).body.summary.silent).toBe(2);
  });

  it('fleetnet policy status and fleet status print the same', async () => {
    let out = '';
    const io = { out: (t: string) => (out += t), err: () => {}, env: {} };
    expect(await runCli(['policy', 'status', POLICY, '--api-url', api.baseUrl, '--token', api.tokens.reader], io)).toBe(0);
    expect(out.split('\n')[0]).toBe(`networkpolicy/${POLICY}: current generation 2; nodes enforcing 1, behind 1, unknown 0, silent 0, degraded 1`);
    expect(out).toMatch(/\n2\s+real-1\s+n1\s+enforcing/);
    expect(out).toMatch(/\n1\s+real-1\s+n2\s+behind\s+\d+\s+degraded/);
    out = '';
    expect(await runCli(['fleet', 'status', '--api-url', api.baseUrl, '--token', api.tokens.reader], io)).toBe(0);
    expect(out).toMatch(/\nreal-1\s+\d+\s+2\s+1\s+1\s+0\s+0\s+1/);
  });

  it('bad input, no token, unknown policy', async () => {
    const bad = await realization('?silentAfterSeconds=0');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].pointer).toBe('/query/silentAfterSeconds');
    expect((await client.call('GET', `/networkpolicies/${POLICY}/realization`, {})).status).toBe(401);
    expect((await client.call('GET', '/realization', {})).status).toBe(401);
    expect((await client.call('GET', '/networkpolicies/nobody-knows/realization', { token: api.tokens.reader })).status).toBe(404);
  });
});
