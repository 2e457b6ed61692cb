/**
 * AgentRuntime wiring (no root): real local API (register, desired-state manifest + policy bodies,
 * status), real compileBundle, static endpoints file, a fake datapath (queued flow records) and an apply
 * double. Flow batches go to the proxy's flow sink until the API's ingest handler exists. The API compiles
 * desired state after the write returns: tests wait for the agent to show the policy, with a deadline.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRuntime } from '../../agent/src/agent-runtime.js';
import { compileBundle, type CompiledState } from '../../agent/src/compile/index.js';
import { StaticEndpointSource } from '../../agent/src/identity/static-source.js';
import type { FlowRecord } from '../../agent/src/kernel/codecs.js';
import { Direction, FlowDropReason, FlowVerdict, IpProto } from '../../agent/src/kernel/identities.js';
import { createApiClient } from '../../agent/src/sync/api-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { clusterBody, policyBody } from '../helpers/fixtures.js';

const CLUSTER = 'rt-east';
let api: TestApi;
let proxy: FaultProxy;
let client: ReturnType<typeof createContractClient>;
let dir: string;
let runtime: AgentRuntime<typeof datapath>;
const applied: CompiledState[] = [];
const datapath = {
  queue: [] as FlowRecord[],
  /** cumulative, like fn_counters */
  counters: { lostPackets: 0, lostBytes: 0, lostFlows: 0 },
  closed: false,
  readAndResetFlowRecords() {
    return this.queue.splice(0);
  },
  readCounters() {
    return { ...this.counters };
  },
  close() {
    this.closed = true;
  },
};

async function until(cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const endpointsYaml = (extra = '') => `endpoints:
  - {podName: web-1, namespace: shop, ip: 10.210.1.2, labels: {app: web}, ifindex: 101, workload: {name: web, kind: Deployment}}
  - {podName: api-1, namespace: shop, ip: 10.210.2.2, labels: {app: api}, ifindex: 102}
${extra}`;

beforeAll(async () => {
  api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
  proxy = await startFaultProxy(api.baseUrl, { flowSink: true });
  client = createContractClient(api.baseUrl);
  await client.call('PUT', `/clusters/${CLUSTER}`, { token: api.tokens.admin, body: clusterBody(CLUSTER, { env: 'rt' }, ['agent-rt']) });
  await client.call('PUT', '/networkpolicies/rt-web', {
    token: api.tokens.admin,
    body: policyBody('rt-web', { targets: { clusterIds: [CLUSTER] }, egress: [{ toFQDNs: [{ matchName: 'example.com' }] }] }),
  });
  dir = await mkdtemp(join(tmpdir(), 'fleetnet-rt-'));
  await writeFile(join(dir, 'endpoints.yaml'), endpointsYaml());
  const token = await api.agentToken('agent-rt');
  const source: StaticEndpointSource = new StaticEndpointSource({ path: join(dir, 'endpoints.yaml'), pollMs: 50, onChange: () => runtime.endpointsChanged() });
  runtime = new AgentRuntime({
    client: createApiClient({ baseUrl: proxy.baseUrl, clusterId: CLUSTER, nodeName: 'rt-node', token: async () => token }),
    datapath,
    source,
    compile: compileBundle,
    apply: (_dp, compiled) => void applied.push(compiled),
    clusterId: CLUSTER,
    nodeSpec: { agentVersion: 'test' },
    stateDir: join(dir, 'state'),
    pollIntervalMs: 100,
    flowIntervalMs: 200,
  });
  await runtime.start();
});
afterAll(async () => {
  await runtime?.stop();
  await proxy?.close();
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('AgentRuntime', () => {
  it('programs the bundle for the file endpoints and reports Programmed + Degraded (FQDN) to the API', async () => {
    await until(() => applied.some((c) => c.rules.some((r) => r.policy === 'rt-web')) && runtime.sync.state.lastOutcome?.programmed === true);
    const c = applied.at(-1)!;
    expect(c.endpoints.map((e) => e.ifindex)).toEqual([101, 102]);
    expect(c.policy.length).toBeGreaterThan(0);
    // the policy body came from the API's bundled-policy endpoint, once
    expect(proxy.requests.filter((r) => r.path.endsWith('/rt-node/desiredstate/policies/rt-web/1')).map((r) => r.status)).toEqual([200]);
    const statusOf = async () => (await client.call('GET', `/clusters/${CLUSTER}/nodes/rt-node`, { token: api.tokens.reader })).body;
    const deadline = Date.now() + 8000;
    let node = await statusOf();
    while (!node?.status?.conditions?.some((x: { type: string; message?: string }) => x.type === 'Degraded' && x.message?.includes('policy rt-web'))) {
      if (Date.now() > deadline) throw new Error('the Degraded status naming rt-web did not reach the API in time');
      await new Promise((r) => setTimeout(r, 50));
      node = await statusOf();
    }
    const degraded = node.status.conditions.find((x: { type: string }) => x.type === 'Degraded');
    expect(degraded.status).toBe('True');
    expect(degraded.message).toContain('policy rt-web');
    expect(node.status.conditions.find((x: { type: string }) => x.type === 'Programmed').status).toBe('True');
  });

  it('re-programs when the endpoints file changes', async () => {
    const before = applied.length;
    await writeFile(join(dir, 'endpoints.yaml'), endpointsYaml('  - {podName: web-2, namespace: shop, ip: 10.210.3.2, labels: {app: web}, ifindex: 103}\n'));
    await until(() => applied.length > before && applied.at(-1)!.endpoints.some((e) => e.ifindex === 103));
  });

  it('pushes flow summaries attributed through the compiled rules and identities; sums exact', async () => {
    const c = applied.at(-1)!;
    const webId = c.endpoints.find((e) => e.ifindex === 101)!.identity;
    const apiId = c.endpoints.find((e) => e.ifindex === 102)!.identity;
    const rule = c.policy.find((p) => p.localId === webId && p.direction === Direction.ingress && p.ruleId !== 0)!;
    const base = { dport: 80, proto: IpProto.tcp, ipVersion: 4 as const, dropReason: FlowDropReason.policy, firstSeenNs: Number(process.hrtime.bigint()), lastSeenNs: Number(process.hrtime.bigint()) };
    datapath.queue.push(
      { ...base, localId: webId, peerId: apiId, ruleId: rule.ruleId, direction: Direction.ingress, verdict: FlowVerdict.forwarded, packets: 7, bytes: 700, flows: 1 },
      { ...base, localId: webId, peerId: apiId, ruleId: 0, direction: Direction.egress, verdict: FlowVerdict.reply, packets: 5, bytes: 5000, flows: 0 },
      { ...base, localId: webId, peerId: 2, ruleId: 0, direction: Direction.ingress, verdict: FlowVerdict.dropped, packets: 3, bytes: 180, flows: 3 },
    );
    await until(() => [...proxy.flowBatches.values()].some((b) => b.summaries.length > 0));
    const summaries = [...proxy.flowBatches.values()].flatMap((b) => b.summaries);
    expect(summaries.reduce((a, s) => a + s.packets, 0)).toBe(15);
    expect(summaries.reduce((a, s) => a + s.bytes, 0)).toBe(5880);
    const fwd = summaries.find((s) => s.verdict === 'FORWARDED')!;
    expect(fwd).toMatchObject({ traffic_direction: 'INGRESS', policy: { name: 'rt-web', revision: 1 }, packets: 12, bytes: 5700, flows: 1 });
    expect(fwd.destination).toMatchObject({ identity: webId, namespace: 'shop', cluster_name: CLUSTER, workloads: [{ name: 'web', kind: 'Deployment' }] });
    expect(fwd.destination.labels).toContain('k8s:app=web');
    expect(fwd.source.identity).toBe(apiId);
    expect(summaries.find((s) => s.verdict === 'DROPPED')).toMatchObject({ drop_reason_desc: 'POLICY_DENIED', source: { identity: 2, labels: ['reserved:world'] } });
  });

  it('with the API down, batches are spooled, then delivered in order: none lost, none counted twice', async () => {
    const mark = proxy.flowBatches.size;
    proxy.down();
    let total = 0;
    for (let i = 1; i <= 5; i++) {
      datapath.queue.push({ localId: 300, peerId: 2, ruleId: 0, dport: 443, proto: IpProto.tcp, ipVersion: 4, dropReason: FlowDropReason.policy, direction: Direction.egress, verdict: FlowVerdict.forwarded, packets: i, bytes: i * 100, flows: 1, firstSeenNs: 1, lastSeenNs: 2 });
      total += i;
      await new Promise((r) => setTimeout(r, 250));
    }
    await until(() => runtime.spool.pending >= 3);
    proxy.up();
    await until(() => runtime.spool.pending === 0 && datapath.queue.length === 0, 10_000);
    const batches = [...proxy.flowBatches.values()].slice(mark);
    const seqs = batches.map((b) => b.sequence);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(batches.flatMap((b) => b.summaries).reduce((a, s) => a + s.packets, 0)).toBe(total);
    expect(batches.every((b) => b.lost === undefined)).toBe(true);
  });

  it('kernel losses (flow map full) reach the API as the batch\'s lost packets and make query coverage incomplete', async () => {
    const mark = proxy.flowBatches.size;
    datapath.counters = { lostPackets: 40, lostBytes: 4000, lostFlows: 6 };
    await until(() => [...proxy.flowBatches.values()].slice(mark).some((b) => (b.lost?.packets ?? 0) > 0));
    datapath.counters = { lostPackets: 45, lostBytes: 4500, lostFlows: 6 };
    await until(() => [...proxy.flowBatches.values()].slice(mark).reduce((n, b) => n + (b.lost?.packets ?? 0), 0) >= 45);
    const batches = [...proxy.flowBatches.values()].slice(mark);
    // Deltas of the cumulative counters, each loss reported once.
    expect(batches.reduce((n, b) => n + (b.lost?.packets ?? 0), 0)).toBe(45);
    expect(batches.reduce((n, b) => n + (b.lost?.bytes ?? 0), 0)).toBe(4500);
    expect(batches.reduce((n, b) => n + (b.lost?.flows ?? 0), 0)).toBe(6);
    // The proxy is the agent's flow sink: hand the batches it received to the API as the agent sent them.
    const agentToken = await api.agentToken('agent-rt');
    for (const b of [...proxy.flowBatches.values()]) {
      const posted = await client.call('POST', `/clusters/${CLUSTER}/nodes/rt-node/flows`, { token: agentToken, body: b });
      expect(posted.status).toBe(200);
    }
    type NodeCoverage = { node_name: string; lost: Record<string, number> };
    let coverage: { complete: boolean; clusters: { cluster: string; nodes: NodeCoverage[] }[] } | undefined;
    const nodeOf = () => coverage?.clusters.find((c) => c.cluster === CLUSTER)?.nodes.find((n) => n.node_name === 'rt-node');
    const deadline = Date.now() + 8000;
    // Coverage is folded per node-hour after ingest: poll until this node's loss shows.
    while ((nodeOf()?.lost.packets ?? 0) < 45 && Date.now() < deadline) {
      const res = await client.call('POST', '/flows/query', { token: api.tokens.reader, body: { since: '1h', maxPageSize: 1 } });
      expect(res.status).toBe(200);
      coverage = res.body.coverage;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(coverage?.complete).toBe(false);
    const node = nodeOf();
    expect(node?.lost).toMatchObject({ packets: 45, bytes: 4500, flows: 6 });
  });

  it('stop() ends the loops and closes the datapath fds (kernel state is not touched)', async () => {
    await runtime.stop();
    expect(datapath.closed).toBe(true);
  });
});
