/**
 * Concurrent writers (issue 9 item 3): 20 clients at once get no 5xx; without preconditions no 412 and
 * the final state is the last accepted write (the highest generation), every accepted write a revision;
 * with If-Match / If-None-Match: * exactly one wins and the others get 412. Policies, encryption
 * settings, clusters, imports, node status, flow ingest; and a mixed race whose compiled desired state
 * must equal what a full compile of the final stored state gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESIRED_STATE_MEDIA_TYPE } from '../../core/bundle/desired-state-format.js';
import { targetsCluster } from '../../core/policy/select-clusters.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, encryptionBody, nodeBody, policyBody } from '../helpers/fixtures.js';
import { batch, summary } from '../helpers/flow-fixtures.js';

const WRITERS = 20;
let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let agent: string;

beforeAll(async () => {
  api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
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
    // The last accepted write (highest generation) is what is stored.
    expect(revisions.body.items[0].generation).toBe(WRITERS);
    expect(revisions.body.items[0].spec.ingress).toEqual(stored.body.spec.ingress);
  });

  it('with preconditions exactly one writer wins: If-None-Match: * creates once, one If-Match replaces once, the rest get 412', async () => {
    const creates = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) =>
        client.call('PUT', '/networkpolicies/cw-once', { token: api.tokens.admin, body: policyBody('cw-once', { description: `writer ${i}` }), headers: { 'If-None-Match': '*' } }),
      ),
    );
    expect(statuses(creates).sort()).toEqual([201, ...Array(WRITERS - 1).fill(412)]);
    const etag = creates.find((r) => r.status === 201)!.headers.get('etag')!;
    const replaces = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) =>
        client.call('PUT', '/networkpolicies/cw-once', { token: api.tokens.admin, body: policyBody('cw-once', { description: `replacer ${i}` }), headers: { 'If-Match': etag } }),
      ),
    );
    expect(statuses(replaces).sort()).toEqual([200, ...Array(WRITERS - 1).fill(412)]);
    const winner = replaces.findIndex((r) => r.status === 200);
    const stored = await client.call('GET', '/networkpolicies/cw-once', { token: api.tokens.reader });
    expect(stored.body.spec.description).toBe(`replacer ${winner}`);
    const revisions = await client.call('GET', '/networkpolicies/cw-once/revisions', { token: api.tokens.reader });
    expect(revisions.body.items.map((r: { generation: number }) => r.generation)).toEqual([2, 1]);
  });

  it('encryption settings without a precondition: no 412, no 5xx; the last accepted write is stored, every accepted write a revision', async () => {
    const bodies = Array.from({ length: WRITERS }, (_, i) => encryptionBody({ default: { enabled: true, type: 'wireguard' }, overrides: [{ name: `writer-${i}`, clusterSelector: { matchLabels: { env: 'cw' } }, settings: { enabled: i % 2 === 0 } }] }));
    const rs = await Promise.all(bodies.map((body) => client.call('PUT', '/encryptionsettings', { token: api.tokens.admin, body })));
    expect(statuses(rs).filter((s) => s !== 200 && s !== 201)).toEqual([]);
    const stored = await client.call('GET', '/encryptionsettings', { token: api.tokens.reader });
    const revisions = await client.call('GET', '/encryptionsettings/revisions?maxPageSize=100', { token: api.tokens.reader });
    expect(revisions.body.items.length).toBe(WRITERS);
    expect(revisions.body.items[0].generation).toBe(stored.body.metadata.generation);
    expect(revisions.body.items[0].spec).toEqual(stored.body.spec);
    await api.services.desiredState.settled();
    const state = await client.call('GET', '/clusters/cw-east/nodes/node-1/desiredstate', { token: agent, headers: { accept: DESIRED_STATE_MEDIA_TYPE } });
    expect(state.body.encryption.appliedOverrides).toEqual([stored.body.spec.overrides[0].name]);
  });

  it('cluster PUTs without a precondition: no 412, no 5xx; the stored labels are one writer\'s, and the compiled desired state follows them', async () => {
    await client.call('PUT', '/networkpolicies/cw-for-label-7', { token: api.tokens.admin, body: policyBody('cw-for-label-7', { targets: { clusterSelector: { matchLabels: { writer: '7' } } } }) });
    const rs = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) => client.call('PUT', '/clusters/cw-moving', { token: api.tokens.admin, body: clusterBody('cw-moving', { env: 'cw', writer: String(i) }, ['agent-moving']) })),
    );
    expect(statuses(rs).filter((s) => s !== 200 && s !== 201)).toEqual([]);
    const stored = await client.call('GET', '/clusters/cw-moving', { token: api.tokens.reader });
    await api.services.desiredState.settled();
    const state = await client.call('GET', '/clusters/cw-moving/nodes/n/desiredstate', { token: await api.agentToken('agent-moving'), headers: { accept: DESIRED_STATE_MEDIA_TYPE } });
    const names = state.body.policies.map((p: { name: string }) => p.name);
    expect(names.includes('cw-for-label-7')).toBe(stored.body.metadata.labels.writer === '7');
  });

  it('imports of different policies to the same clusters at once: no 5xx, all imported', async () => {
    const rs = await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const doc = { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: `cw-import-${i}`, namespace: 'cw' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['world'] }] } };
        return client.call('POST', '/networkpolicyimports?clusterIds=cw-east', { token: api.tokens.admin, body: doc });
      }),
    );
    expect(statuses(rs)).toEqual(Array(10).fill(200));
    await api.services.desiredState.settled();
    const state = await client.call('GET', '/clusters/cw-east/nodes/node-1/desiredstate', { token: agent, headers: { accept: DESIRED_STATE_MEDIA_TYPE } });
    for (let i = 0; i < 10; i++) expect(state.body.policies.map((p: { name: string }) => p.name)).toContain(`cw.cw-import-${i}`);
  });

  it('a mixed race (policy writes and deletes, cluster relabels, reconcile sweeps) compiles to what a full compile of the final state gives', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `mix-${i}`);
    await Promise.all(ids.map((id, i) => client.call('PUT', `/clusters/${id}`, { token: api.tokens.admin, body: clusterBody(id, { mix: String(i % 3) }, [`agent-${id}`]) })));
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < WRITERS; i++) {
      const targets = i % 3 === 0 ? { clusterIds: [ids[i % 8]!] } : { clusterSelector: { matchLabels: { mix: String(i % 3) } } };
      writes.push(client.call('PUT', `/networkpolicies/mix-p-${i % 7}`, { token: api.tokens.admin, body: policyBody(`mix-p-${i % 7}`, { targets, description: `w${i}` }) }));
      if (i % 5 === 4) writes.push(client.call('DELETE', `/networkpolicies/mix-p-${(i + 3) % 7}`, { token: api.tokens.admin }));
      if (i % 4 === 0) writes.push(client.call('PUT', `/clusters/${ids[i % 8]}`, { token: api.tokens.admin, body: clusterBody(ids[i % 8]!, { mix: String((i + 1) % 3) }, [`agent-${ids[i % 8]}`]) }));
      if (i % 6 === 0) writes.push(api.services.desiredState.compiler.compileAll());
    }
    const answers = (await Promise.all(writes)) as { status?: number }[];
    expect(answers.filter((a) => a.status !== undefined && a.status >= 500)).toEqual([]);
    await api.services.desiredState.settled();

    const policies = (await api.services.store.policies.all('NetworkPolicy')).map((e) => e.value).filter((p) => p.metadata.name.startsWith('mix-p-'));
    for (const id of ids) {
      const cluster = (await api.services.store.clusters.read('Cluster', id))!.value;
      const expected = policies.filter((p) => targetsCluster(p.spec.targets, { id, labels: cluster.metadata.labels ?? {} })).map((p) => `${p.metadata.name}@${p.metadata.generation}`);
      const state = await client.call('GET', `/clusters/${id}/nodes/n/desiredstate`, { token: api.tokens.reader, headers: { accept: DESIRED_STATE_MEDIA_TYPE } });
      const got = state.body.policies.filter((p: { name: string }) => p.name.startsWith('mix-p-')).map((p: { name: string; generation: number }) => `${p.name}@${p.generation}`);
      expect(got, id).toEqual(expected.sort());
    }
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
