import { DESIRED_STATE_MEDIA_TYPE } from '../../core/bundle/desired-state-format.js';
/**
 * Concurrent writers on one resource (issue 9 item 3, the part this file covers): 20 clients at once
 * get no 5xx and — without preconditions — no 412; the final state is one of the accepted writes.
 * Node status and flow ingest of one node; policy PUTs without a precondition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, nodeBody, policyBody } from '../helpers/fixtures.js';
import { batch, summary } from '../helpers/flow-fixtures.js';

const WRITERS = 20;
let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let agent: string;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  agent = await api.agentToken('agent-cw');
  await client.call('PUT', '/clusters/cw-east', { token: api.tokens.admin, body: clusterBody('cw-east', { env: 'cw' }, ['agent-cw']) });
  await client.call('PUT', '/clusters/cw-east/nodes/node-1', { token: agent, body: nodeBody('node-1') });
});
afterAll(async () => api?.close());

const statuses = (rs: { status: number }[]) => rs.map((r) => r.status);

describe(`${WRITERS} concurrent writers`, () => {
  it('node status of one node: every report accepted, the stored one is one of them', async () => {
    const reports = Array.from({ length: WRITERS }, (_, i) => ({ observedRevision: i + 1, conditions: [{ type: 'Programmed', status: 'True', reason: 'Applied', lastTransitionTime: '2026-11-30T10:00:00Z' }] }));
    const rs = await Promise.all(reports.map((body) => client.call('PUT', '/clusters/cw-east/nodes/node-1/status', { token: agent, body })));
    expect(statuses(rs)).toEqual(Array(WRITERS).fill(200));
    const node = await client.call('GET', '/clusters/cw-east/nodes/node-1', { token: api.tokens.reader });
    expect(reports.map((r) => r.observedRevision)).toContain(node.body.status.observedRevision);
  });

  it('flow batches of one node: every batch accepted, coverage holds every sequence', async () => {
    const end = new Date(Date.now() - 5 * 60_000).toISOString();
    const rs = await Promise.all(Array.from({ length: WRITERS }, (_, sequence) => client.call('POST', '/clusters/cw-east/nodes/node-1/flows', { token: agent, body: batch([summary()], sequence, end) })));
    expect(statuses(rs)).toEqual(Array(WRITERS).fill(200));
    const answer = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { whitelist: [{ cluster: ['cw-east'] }] } });
    expect(answer.body.coverage.clusters[0].nodes[0]).toMatchObject({ batches: WRITERS, firstSequence: 0, lastSequence: WRITERS - 1, gaps: [] });
  });

  it('policy PUTs without a precondition: no 412, no 5xx; the stored spec is one of the accepted ones, each accepted write a revision', async () => {
    const bodies = Array.from({ length: WRITERS }, (_, i) => policyBody('cw-policy', { ingress: [{ fromEndpoints: [{ matchLabels: { app: `api-${i}` } }] }] }));
    const rs = await Promise.all(bodies.map((body) => client.call('PUT', '/networkpolicies/cw-policy', { token: api.tokens.admin, body })));
    expect(statuses(rs).filter((s) => s !== 200 && s !== 201)).toEqual([]);
    const stored = await client.call('GET', '/networkpolicies/cw-policy', { token: api.tokens.reader });
    expect(bodies.map((b) => JSON.stringify(b.spec.ingress))).toContain(JSON.stringify(stored.body.spec.ingress));
    const revisions = await client.call('GET', '/networkpolicies/cw-policy/revisions?maxPageSize=100', { token: api.tokens.reader });
    expect(revisions.body.items.length).toBe(WRITERS);
    expect(stored.body.metadata.generation).toBe(WRITERS);
  });

  it('a DELETE without If-Match racing status reports deletes the node (no 412); with a stale If-Match it is a 412', async () => {
    await client.call('PUT', '/clusters/cw-east/nodes/node-2', { token: agent, body: nodeBody('node-2') });
    const stale = (await client.call('GET', '/clusters/cw-east/nodes/node-2', { token: agent })).headers.get('etag');
    const report = { observedRevision: 1, conditions: [] };
    const reports = Array.from({ length: WRITERS }, () => client.call('PUT', '/clusters/cw-east/nodes/node-2/status', { token: agent, body: report }));
    await client.call('PUT', '/clusters/cw-east/nodes/node-2/status', { token: agent, body: report });
    const staleDelete = await client.call('DELETE', '/clusters/cw-east/nodes/node-2', { token: agent, headers: { 'If-Match': stale ?? '' } });
    expect(staleDelete.status).toBe(412);
    const del = client.call('DELETE', '/clusters/cw-east/nodes/node-2', { token: agent });
    const all = await Promise.all([...reports, del]);
    expect(statuses(all).filter((s) => s >= 500 || s === 412)).toEqual([]);
    expect((await del).status).toBe(204);
  });

  it('different policies for the same cluster written at once: no 5xx, and the cluster\'s desired state holds all of them', async () => {
    const bodies = Array.from({ length: WRITERS }, (_, i) => ({ ...policyBody(`cw-many-${i}`), spec: { ...policyBody(`cw-many-${i}`).spec, targets: { clusterIds: ['cw-east'] } } }));
    const rs = await Promise.all(bodies.map((body) => client.call('PUT', `/networkpolicies/${body.metadata.name}`, { token: api.tokens.admin, body })));
    expect(statuses(rs).filter((s) => s !== 201)).toEqual([]);
    await api.services.desiredState.settled();
    const state = await client.call('GET', '/clusters/cw-east/nodes/node-1/desiredstate', { token: agent, headers: { accept: DESIRED_STATE_MEDIA_TYPE } });
    expect(state.status).toBe(200);
    const names = (state.body.policies as { name: string }[]).map((p) => p.name);
    for (const b of bodies) expect(names).toContain(b.metadata.name);
  });
});
