/**
 * POST /clusters/{clusterId}/explain through the real route table and the embedded store: policies written
 * through the API, flow history ingested through the agents' endpoint, node status reported by an agent.
 * And `fleetnet explain` against the same API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDegraded } from '../../agent/src/sync/node-status.js';
import { runCli } from '../../cli/run-cli.js';
import { createContractClient, type ApiResponse } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, nodeBody } from '../helpers/fixtures.js';
import { batch, summary } from '../helpers/flow-fixtures.js';

const CLUSTER = 'c-explain';
const AGENT = 'agent-explain';
let api: TestApi;
let client: ReturnType<typeof createContractClient>;
const now = Date.now();
const minutesAgo = (m: number) => new Date(now - m * 60_000).toISOString();

const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'fleetnet.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name },
  spec: { targets: { clusterIds: [CLUSTER] }, namespace: 'shop', ...spec },
});
const port = (p: string) => [{ ports: [{ port: p, protocol: 'TCP' }] }];

/** db: allows api and batch on 5432 (generation 2: written twice). */
const DB_INGRESS = policy('db-ingress', {
  endpointSelector: { matchLabels: { app: 'db' } },
  ingress: [
    { fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: port('5432') },
    { fromEndpoints: [{ matchLabels: { app: 'batch' } }], toPorts: port('5432') },
  ],
});
/** db: denies batch (deny over db-ingress's allow). */
const DB_DENY = policy('db-deny', { endpointSelector: { matchLabels: { app: 'db' } }, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'batch' } }], toPorts: port('5432') }] });
/** api: egress to db, to 10.20.0.0/16 on 443, and to the API server (not enforced: fails closed). */
const API_EGRESS = policy('api-egress', {
  endpointSelector: { matchLabels: { app: 'api' } },
  egress: [
    { toEndpoints: [{ matchLabels: { app: 'db' } }], toPorts: port('5432') },
    { toCIDRSet: [{ cidr: '10.20.0.0/16' }], toPorts: port('443') },
    { toEntities: ['kube-apiserver'] },
  ],
});
/** cache: audit mode, allows api only. */
const CACHE_AUDIT = policy('cache-audit', { mode: 'audit', endpointSelector: { matchLabels: { app: 'cache' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: port('6379') }] });

const workload = (app: string, namespace = 'shop') => ({ workload: { namespace, labels: { app } } });
const podEndpoint = (name: string, app: string) => ({
  identity: 20_000 + name.length,
  namespace: 'shop',
  pod_name: name,
  labels: [`k8s:app=${app}`, 'k8s:io.kubernetes.pod.namespace=shop', `k8s:io.cilium.k8s.policy.cluster=${CLUSTER}`],
});

async function explain(body: Record<string, unknown>, token = api.tokens.reader, cluster = CLUSTER): Promise<ApiResponse> {
  return client.call('POST', `/clusters/${cluster}/explain`, { token, body });
}

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  const admin = api.tokens.admin;
  const put = async (path: string, body: unknown, token = admin) => expect((await client.call('PUT', path, { token, body })).status).toBeLessThan(300);
  await put(`/clusters/${CLUSTER}`, clusterBody(CLUSTER, { env: 'prod' }, [AGENT]));
  // db-ingress is written twice (generation 2): first without its batch rule
  await put('/networkpolicies/db-ingress', policy('db-ingress', { endpointSelector: { matchLabels: { app: 'db' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: port('5432') }] }));
  for (const p of [DB_INGRESS, DB_DENY, API_EGRESS, CACHE_AUDIT]) await put(`/networkpolicies/${p.metadata.name}`, p);
  const agent = await api.agentToken(AGENT);
  for (const node of ['n-degraded', 'n-other', 'n-fine']) await put(`/clusters/${CLUSTER}/nodes/${node}`, nodeBody(node), agent);
  const degraded = (policyName: string) => ({
    observedRevision: 1,
    conditions: [{ type: 'Degraded', status: 'True', reason: 'UnsupportedRules', message: describeDegraded([{ policy: policyName, pointer: '/egress/2/toEntities/0', reason: 'no addresses of the kube-apiserver entity are known' }]) }],
  });
  await put(`/clusters/${CLUSTER}/nodes/n-degraded/status`, degraded('api-egress'), agent);
  await put(`/clusters/${CLUSTER}/nodes/n-other/status`, degraded('api-egress-old'), agent);
  await put(`/clusters/${CLUSTER}/nodes/n-fine/status`, { observedRevision: 1, conditions: [{ type: 'Degraded', status: 'False', reason: 'Enforced', message: 'every rule is enforced by the datapath' }] }, agent);
  // Flow history: api-1 was labelled app=old three hours ago and app=api ten minutes ago.
  const post = async (body: unknown) => expect((await client.call('POST', `/clusters/${CLUSTER}/nodes/n-fine/flows`, { token: agent, body })).status).toBe(200);
  await post(batch([summary({ source: podEndpoint('api-1', 'old'), destination: podEndpoint('db-0', 'db') })], 0, minutesAgo(180)));
  await post(batch([summary({ source: podEndpoint('api-1', 'api'), destination: podEndpoint('db-0', 'db'), l4: { protocol: 'TCP', destination_port: 5432 } })], 1, minutesAgo(10)));
  await api.services.desiredState.settled();
}, 60_000);
afterAll(async () => api?.close());

describe('explainFlow', () => {
  it('allowed by a rule at both hooks: policy, pointer and generation', async () => {
    const r = await explain({ source: workload('api'), destination: workload('db'), protocol: 'TCP', port: 5432 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ clusterId: CLUSTER, verdict: 'forwarded', protocol: 'TCP', port: 5432 });
    expect(r.body.revision).toBeGreaterThanOrEqual(1);
    expect(r.body.hooks).toEqual([
      { direction: 'egress', verdict: 'forwarded', decidedBy: 'rule', rule: { policy: 'api-egress', generation: 1, pointer: '/egress/0', verdict: 'allow', mode: 'enforce' }, ports: { protocol: 'TCP', first: 5432, last: 5432 } },
      { direction: 'ingress', verdict: 'forwarded', decidedBy: 'rule', rule: { policy: 'db-ingress', generation: 2, pointer: '/ingress/0', verdict: 'allow', mode: 'enforce' }, ports: { protocol: 'TCP', first: 5432, last: 5432 } },
    ]);
    expect(r.body.source).toMatchObject({ kind: 'workload', resolvedFrom: 'request' });
    expect(r.body.source.labels).toEqual(['k8s:app=api', `k8s:io.cilium.k8s.policy.cluster=${CLUSTER}`, 'k8s:io.kubernetes.pod.namespace=shop']);
    expect(r.body.selecting).toEqual({
      source: [{ policy: 'api-egress', generation: 1, mode: 'enforce', rules: [''] }],
      destination: [
        { policy: 'db-deny', generation: 1, mode: 'enforce', rules: [''] },
        { policy: 'db-ingress', generation: 2, mode: 'enforce', rules: [''] },
      ],
    });
    expect(r.body.unenforced).toEqual([expect.objectContaining({ policy: 'api-egress', generation: 1, pointer: '/egress/2/toEntities/0' })]);
    expect(r.body.assumptions.join(' ')).toMatch(/DNS proxy.*HTTP proxy/);
  });

  it('dropped by default deny at the selected destination; the unselected source has no policy', async () => {
    const r = await explain({ source: workload('web'), destination: workload('db'), port: 5432 });
    expect(r.body.verdict).toBe('dropped');
    expect(r.body.protocol).toBe('TCP');
    expect(r.body.hooks).toEqual([
      { direction: 'egress', verdict: 'forwarded', decidedBy: 'no-policy' },
      { direction: 'ingress', verdict: 'dropped', decidedBy: 'default-deny' },
    ]);
    expect(r.body.selecting.source).toEqual([]);
  });

  it('deny over allow: db-deny decides although db-ingress allows batch', async () => {
    const r = await explain({ source: workload('batch'), destination: workload('db'), port: 5432 });
    expect(r.body.verdict).toBe('dropped');
    expect(r.body.hooks[1]).toMatchObject({ direction: 'ingress', verdict: 'dropped', decidedBy: 'rule', rule: { policy: 'db-deny', pointer: '/ingressDeny/0', verdict: 'deny', mode: 'enforce' } });
  });

  it('an audit-mode policy: audit, not dropped', async () => {
    const r = await explain({ source: workload('web'), destination: workload('cache'), port: 6379 });
    expect(r.body.verdict).toBe('audit');
    expect(r.body.hooks[1]).toMatchObject({ direction: 'ingress', verdict: 'audit', decidedBy: 'default-deny' });
    expect(r.body.selecting.destination).toEqual([{ policy: 'cache-audit', generation: 1, mode: 'audit', rules: [''] }]);
    const allowed = await explain({ source: workload('api'), destination: workload('cache'), port: 6379 });
    expect(allowed.body.hooks[1]).toMatchObject({ verdict: 'forwarded', decidedBy: 'rule', rule: { policy: 'cache-audit', mode: 'audit' } });
  });

  it('an ip side: inside a toCIDR prefix it has the prefix identity, outside it is world', async () => {
    const inside = await explain({ source: workload('api'), destination: { ip: '10.20.1.5' }, port: 443 });
    expect(inside.body.verdict).toBe('forwarded');
    expect(inside.body.destination).toMatchObject({ kind: 'cidr', cidr: '10.20.0.0/16', resolvedFrom: 'address' });
    expect(inside.body.hooks).toEqual([expect.objectContaining({ direction: 'egress', decidedBy: 'rule', rule: expect.objectContaining({ policy: 'api-egress', pointer: '/egress/1' }) })]);
    const outside = await explain({ source: workload('api'), destination: { ip: '8.8.8.8' }, port: 443 });
    expect(outside.body.verdict).toBe('dropped');
    expect(outside.body.destination).toMatchObject({ kind: 'reserved', identity: 2, resolvedFrom: 'address' });
    expect(outside.body.destination.cidr).toBeUndefined();
    expect(outside.body.hooks).toEqual([{ direction: 'egress', verdict: 'dropped', decidedBy: 'default-deny' }]);
    expect(outside.body.assumptions.some((a: string) => a.includes('8.8.8.8') && a.includes('outside the cluster'))).toBe(true);
  });

  it('an entity without addresses in the nodes\' environment: the answer says rules naming it fail closed', async () => {
    const r = await explain({ source: workload('api'), destination: { entity: 'kube-apiserver' }, port: 443 });
    expect(r.body.destination).toMatchObject({ kind: 'reserved', identity: 7, resolvedFrom: 'entity' });
    expect(r.body.unenforced).toEqual([expect.objectContaining({ policy: 'api-egress', pointer: '/egress/2/toEntities/0' })]);
    expect(r.body.assumptions.some((a: string) => a.includes('kube-apiserver') && a.includes('fail closed'))).toBe(true);
  });

  it('an entity: host side: the node reaches its pods unless localhostPolicy', async () => {
    const r = await explain({ source: { entity: 'host' }, destination: workload('db'), port: 5432 });
    expect(r.body.verdict).toBe('forwarded');
    expect(r.body.source).toMatchObject({ kind: 'reserved', identity: 1, resolvedFrom: 'entity' });
    expect(r.body.hooks).toEqual([{ direction: 'ingress', verdict: 'forwarded', decidedBy: 'host' }]);
    const policed = await explain({ source: { entity: 'host' }, destination: workload('db'), port: 5432, localhostPolicy: true });
    expect(policed.body.verdict).toBe('dropped');
    expect(policed.body.hooks).toEqual([{ direction: 'ingress', verdict: 'dropped', decidedBy: 'default-deny' }]);
  });

  it('a pod side takes its labels from the most recent flow summary naming it', async () => {
    const r = await explain({ source: { pod: 'shop/api-1' }, destination: { pod: 'shop/db-0' }, port: 5432 });
    expect(r.status).toBe(200);
    expect(r.body.verdict).toBe('forwarded');
    expect(r.body.source).toMatchObject({ resolvedFrom: 'pod-history', pod: 'shop/api-1', observedAt: minutesAgo(10) });
    expect(r.body.source.labels).toContain('k8s:app=api');
    expect(r.body.destination).toMatchObject({ resolvedFrom: 'pod-history', pod: 'shop/db-0', observedAt: minutesAgo(10) });
    expect(r.body.assumptions.some((a: string) => a.includes('shop/api-1') && a.includes(minutesAgo(10)))).toBe(true);
  });

  it('a pod not in the last 24 h of history: 422 PodNotFound pointing at the side, asking for workload labels', async () => {
    const r = await explain({ source: workload('api'), destination: { pod: 'shop/ghost' }, port: 5432 });
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('PodNotFound');
    expect(r.body.errors).toEqual([expect.objectContaining({ pointer: '/destination/pod' })]);
    expect(r.body.detail).toMatch(/workload/);
  });

  it.each([
    { name: 'two kinds in one side', body: { source: { pod: 'shop/api-1', ip: '10.0.0.1' }, destination: workload('db'), port: 5432 }, pointer: '/source' },
    { name: 'an empty side', body: { source: workload('api'), destination: {}, port: 5432 }, pointer: '/destination' },
    { name: 'an ICMP type above 255', body: { source: workload('api'), destination: workload('db'), protocol: 'ICMP', port: 300 }, pointer: '/port' },
    { name: 'an unknown entity', body: { source: workload('api'), destination: { entity: 'cluster-mesh' }, port: 80 }, pointer: '/destination/entity' },
    { name: 'an ip that is not an address', body: { source: { ip: '10.0.0.300' }, destination: workload('db'), port: 80 }, pointer: '/source/ip' },
    { name: 'ip sides of two families', body: { source: { ip: '10.0.0.1' }, destination: { ip: '2001:db8::1' }, port: 80 }, pointer: '/destination/ip' },
    { name: 'ICMPv6 to an IPv4 address', body: { source: workload('api'), destination: { ip: '10.0.0.1' }, protocol: 'ICMPv6', port: 128 }, pointer: '/protocol' },
    { name: 'an unknown field', body: { source: workload('api'), destination: workload('db'), port: 80, direction: 'egress' }, pointer: '/direction' },
    { name: 'a port out of range', body: { source: workload('api'), destination: workload('db'), port: 70000 }, pointer: '/port' },
  ])('bad input: $name → 400 problem+json pointing at $pointer, nothing changed', async ({ body, pointer }) => {
    const before = (await explain({ source: workload('api'), destination: workload('db'), port: 5432 })).body.revision;
    const r = await explain(body);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('ValidationFailed');
    expect(r.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    expect((await explain({ source: workload('api'), destination: workload('db'), port: 5432 })).body.revision).toBe(before);
  });

  it('degradedNodes: nodes whose Degraded condition names a selecting policy', async () => {
    const r = await explain({ source: workload('api'), destination: workload('db'), port: 5432 });
    expect(r.body.degradedNodes).toEqual([{ node: 'n-degraded', message: expect.stringContaining('policy api-egress /egress/2/toEntities/0') }]);
    const unrelated = await explain({ source: workload('web'), destination: workload('cache'), port: 6379 });
    expect(unrelated.body.degradedNodes).toEqual([]);
  });

  it('auth: 401 without a token, 403 for an agent, 404 for an unknown cluster', async () => {
    const body = { source: workload('api'), destination: workload('db'), port: 5432 };
    const anonymous = await client.call('POST', `/clusters/${CLUSTER}/explain`, { body });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await explain(body, await api.agentToken(AGENT))).status).toBe(403);
    const unknown = await explain(body, api.tokens.reader, 'no-such-cluster');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('NotFound');
    expect((await explain(body, api.tokens.admin)).status).toBe(200);
  });
});

describe('fleetnet explain', () => {
  it('prints the verdict line and a line per hook, exit 0 even when dropped', async () => {
    let out = '';
    let err = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t), env: {} };
    const args = ['--api-url', api.baseUrl, '--token', api.tokens.reader, '--cluster', CLUSTER];
    const code = await runCli(['explain', ...args, '--from', 'shop/api-1', '--to', 'shop:app=db', '--port', '5432'], io);
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toBe('FORWARDED  shop/api-1 → shop:app=db TCP/5432');
    expect(lines[1]).toBe('  egress at shop/api-1: allowed by policy api-egress gen 1 /egress/0 (enforce)');
    expect(lines[2]).toBe('  ingress at shop:app=db: allowed by policy db-ingress gen 2 /ingress/0 (enforce)');

    out = '';
    const dropped = await runCli(['explain', ...args, '--from', 'shop:app=web', '--to', 'shop:app=db', '--port', '5432'], io);
    expect(dropped).toBe(0);
    expect(out.split('\n').slice(0, 3)).toEqual([
      'DROPPED  shop:app=web → shop:app=db TCP/5432',
      '  egress at shop:app=web: allowed: no policy selects it in this direction',
      '  ingress at shop:app=db: dropped by default deny (selected by policy db-deny, db-ingress)',
    ]);

    out = '';
    expect(await runCli(['explain', ...args, '--from', 'shop:app=api', '--to', '10.20.1.5', '--port', '443', '--json'], io)).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ verdict: 'forwarded', destination: { kind: 'cidr' } });
  });

  it('errors: a pod without history exits 4 naming --to; a side it cannot parse is a usage error (2)', async () => {
    let out = '';
    let err = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t), env: {} };
    const args = ['--api-url', api.baseUrl, '--token', api.tokens.reader, '--cluster', CLUSTER, '--port', '80'];
    expect(await runCli(['explain', ...args, '--from', 'shop:app=api', '--to', 'shop/ghost'], io)).toBe(4);
    expect(err).toMatch(/422 PodNotFound/);
    expect(err).toMatch(/--to: .*workload/);
    err = '';
    expect(await runCli(['explain', ...args, '--from', 'not a side', '--to', 'shop/db-0'], io)).toBe(2);
    expect(err).toMatch(/--from/);
    expect(out).toBe('');
  });
});
