/**
 * AgentRuntime with the Kubernetes source (no root): a local list/watch server with real Pod,
 * Namespace and Node JSON, the real API and compiler, an apply double. Proves the wiring
 * Kubernetes → compile: local endpoints with resolved ifindexes, peers of both families in the
 * ipcache, node addresses as host/remote-node, the apiserver's EndpointSlice addresses as
 * kube-apiserver, and a relabelled pod re-programmed with a new identity.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRuntime } from '../../agent/src/agent-runtime.js';
import { compileBundle, type CompiledState } from '../../agent/src/compile/index.js';
import { KubeEndpointSource } from '../../agent/src/identity/kube-source.js';
import { ReservedIdentity } from '../../agent/src/kernel/identities.js';
import { createApiClient } from '../../agent/src/sync/api-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { createContractClient } from '../helpers/contract-client.js';
import { clusterBody, policyBody } from '../helpers/fixtures.js';
import { realEndpointSlice, realNamespace, realNode, realPod, startFakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.js';

const CLUSTER = 'kube-rt';
let api: TestApi;
let kube: FakeKubeApi;
let dir: string;
let runtime: AgentRuntime<typeof datapath>;
const applied: CompiledState[] = [];
const datapath = { readAndResetFlowRecords: () => [], readCounters: () => ({ lostPackets: 0, lostBytes: 0, lostFlows: 0 }), close: () => undefined };

async function until(cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
  const client = createContractClient(api.baseUrl);
  await client.call('PUT', `/clusters/${CLUSTER}`, { token: api.tokens.admin, body: clusterBody(CLUSTER, { env: 'kube' }, ['agent-kube']) });
  await client.call('PUT', '/networkpolicies/kube-web', { token: api.tokens.admin, body: policyBody('kube-web', { targets: { clusterIds: [CLUSTER] } }) });
  kube = await startFakeKubeApi();
  kube.upsert('namespaces', realNamespace('shop'));
  kube.upsert('nodes', realNode('node-1', ['10.224.0.4', 'fd00:224::4']));
  kube.upsert('nodes', realNode('node-2', '10.224.0.5'));
  kube.upsert('pods', realPod({ name: 'web-1', namespace: 'shop', node: 'node-1', ip: '10.244.1.10', ips: ['10.244.1.10', 'fd00:244:1::10'], labels: { app: 'web' } }));
  kube.upsert('pods', realPod({ name: 'api-1', namespace: 'shop', node: 'node-2', ip: '10.244.2.10', labels: { app: 'api' } }));
  kube.upsert('pods', realPod({ name: 'v6-1', namespace: 'shop', node: 'node-2', ip: 'fd00:244:2::11', labels: { app: 'v6' } }));
  kube.upsert('endpointslices', realEndpointSlice({ addressType: 'IPv4', endpoints: [{ addresses: ['10.224.0.5'] }, { addresses: ['172.16.0.1'] }] }));
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'f', server: kube.url, skipTLSVerify: true }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'f', cluster: 'f', user: 'u' }], currentContext: 'f' });
  dir = await mkdtemp(join(tmpdir(), 'fleetnet-kube-rt-'));
  const token = await api.agentToken('agent-kube');
  const source: KubeEndpointSource = new KubeEndpointSource({ kubeConfig: kc, nodeName: 'node-1', resolveIfindex: async (ip) => (ip === '10.244.1.10' ? 31 : 32), debounceMs: 20, onChange: () => runtime.endpointsChanged() });
  runtime = new AgentRuntime({
    client: createApiClient({ baseUrl: api.baseUrl, clusterId: CLUSTER, nodeName: 'node-1', token: async () => token }),
    datapath,
    source,
    compile: compileBundle,
    apply: (_dp, compiled) => void applied.push(compiled),
    clusterId: CLUSTER,
    nodeSpec: { agentVersion: 'test' },
    stateDir: join(dir, 'state'),
    pollIntervalMs: 100,
    flowIntervalMs: 60_000,
  });
  await runtime.start();
});
afterAll(async () => {
  await runtime?.stop();
  await kube?.close();
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('AgentRuntime with the Kubernetes source', () => {
  it('compiles the pods of this node as endpoints, every pod address into the ipcache, node and apiserver addresses', async () => {
    // desired state is compiled after the policy write: wait until the agent has kube-web
    await until(() => applied.at(-1)?.rules.some((r) => r.policy === 'kube-web') ?? false);
    const c = applied.at(-1)!;
    expect(c.endpoints.map((e) => e.ifindex)).toEqual([31]);
    expect(c.endpoints[0]!.defaultDenyIngress).toBe(true); // app=web is selected by kube-web
    const ipc = new Map(c.ipcache.map((e) => [e.cidr, e.identity]));
    expect(ipc.get('10.224.0.4/32')).toBe(ReservedIdentity.host);
    expect(ipc.get('fd00:224::4/128')).toBe(ReservedIdentity.host);
    expect(ipc.get('10.224.0.5/32')).toBe(ReservedIdentity.kubeApiserver); // a remote node serving the apiserver
    expect(ipc.get('172.16.0.1/32')).toBe(ReservedIdentity.kubeApiserver);
    expect(ipc.get('10.244.1.10/32')).toBe(c.endpoints[0]!.identity);
    expect(ipc.get('fd00:244:1::10/128')).toBe(c.endpoints[0]!.identity);
    expect(ipc.get('10.244.2.10/32')).toBeGreaterThanOrEqual(256);
    expect(ipc.get('fd00:244:2::11/128')).toBeGreaterThanOrEqual(256);
    expect(c.identities.find((i) => i.id === c.endpoints[0]!.identity)?.ips).toEqual(['10.244.1.10', 'fd00:244:1::10']);
  });

  it('a relabelled local pod is re-programmed with a new identity', async () => {
    const before = applied.at(-1)!.endpoints[0]!.identity;
    kube.upsert('pods', realPod({ name: 'web-1', namespace: 'shop', node: 'node-1', ip: '10.244.1.10', labels: { app: 'web', tier: 'gold' } }));
    await until(() => applied.at(-1)!.endpoints[0]!.identity !== before);
    const c = applied.at(-1)!;
    expect(c.identities.find((i) => i.id === c.endpoints[0]!.identity)?.labels).toContain('k8s:tier=gold');
  });
});
