/**
 * `fleetnet encryption status [CLUSTER]` against the real API and a fake ARM: a fleet of four clusters, one
 * in each compliance state (WireGuard on; ACNS and WireGuard off but opted in; kubenet; no ARM id), one
 * inventory run, nodes reporting evidence. Checks the counts line and rows, `--state`, the one-cluster view,
 * that `-o json` is the API's body, and the exit codes (0 whatever the states; usage, auth, not found).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { runCli } from '../../cli/run-cli.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterFromFixture, managedClusterId, startFakeArm, type FakeArm } from '../helpers/fake-arm.js';
import { encryptionBody, nodeBody } from '../helpers/fixtures.js';

const SUB = '00000000-0000-0000-0000-0000000000c1';
const armId = (name: string) => managedClusterId(SUB, 'rg', name);

let arm: FakeArm;
let api: TestApi;
let client: ReturnType<typeof createContractClient>;

const cliIn = async (io: { stdoutTty?: boolean; env?: Record<string, string>; token?: string | null }, ...args: string[]) => {
  let out = '';
  let err = '';
  const token = io.token === undefined ? api.tokens.reader : io.token;
  const code = await runCli([...args, '--api-url', api.baseUrl, ...(token ? ['--token', token] : [])], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: io.env ?? {},
    stdoutTty: io.stdoutTty ?? false,
  });
  return { code, out, err };
};
const cli = (...args: string[]) => cliIn({}, ...args);

async function putCluster(name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) {
  const r = await client.call('PUT', `/clusters/${name}`, { token: api.tokens.admin, body: { apiVersion: 'fleetnet.io/v1', kind: 'Cluster', metadata: { name, labels }, spec } });
  expect(r.status).toBe(201);
}
async function reportNode(cluster: string, node: string, agent: string, tunnel: boolean) {
  expect((await client.call('PUT', `/clusters/${cluster}/nodes/${node}`, { token: agent, body: nodeBody(node) })).status).toBe(201);
  const encryption = { observedAt: new Date().toISOString(), source: 'ip -j -d link show type wireguard', wireguardInterfaces: tunnel ? [{ name: 'cilium_wg0', up: true }] : [] };
  expect((await client.call('PUT', `/clusters/${cluster}/nodes/${node}/status`, { token: agent, body: { observedRevision: 0, encryption } })).status).toBe(200);
}

beforeAll(async () => {
  arm = await startFakeArm();
  arm.seed(
    clusterFromFixture('AdvancedNetworkingTransitEncryption.json', { subscriptionId: SUB, resourceGroup: 'rg', name: 'aks-wg' }),
    clusterFromFixture('ManagedClustersCreate_NodeAutoProvisioning.json', { subscriptionId: SUB, resourceGroup: 'rg', name: 'aks-plain-cilium' }),
    clusterFromFixture('ManagedClustersCreate_Update.json', { subscriptionId: SUB, resourceGroup: 'rg', name: 'aks-kubenet' }),
  );
  api = await startTestApi({ FLEETNET_ARM_SUBSCRIPTIONS: SUB }, {}, { arm: { endpoint: arm.endpoint, credential: arm.credential, clientOptions: { tlsOptions: arm.tlsOptions } } });
  client = createContractClient(api.baseUrl);
  const settings = { default: { enabled: true, type: 'wireguard' }, overrides: [{ name: 'prod-strict', clusterSelector: { matchLabels: { env: 'prod' } }, settings: { strictMode: { ingress: { enabled: true } } } }] };
  expect((await client.call('PUT', '/encryptionsettings', { token: api.tokens.admin, body: encryptionBody(settings) })).status).toBe(201);
  await putCluster('c-compliant', { armResourceId: armId('aks-wg'), agentIdentities: ['agent-compliant'] }, { env: 'dev' });
  await putCluster('c-drifted', { armResourceId: armId('aks-plain-cilium'), agentIdentities: ['agent-drifted'], encryptionRemediation: { enabled: true, allowEnablingAdvancedNetworking: true } }, { env: 'dev' });
  await putCluster('c-unsupported', { armResourceId: armId('aks-kubenet') }, { env: 'prod' });
  await putCluster('c-unknown', {});
  expect((await client.call('POST', '/inventoryruns', { token: api.tokens.admin })).status).toBe(200);
  const compliant = await api.agentToken('agent-compliant');
  await reportNode('c-compliant', 'node-1', compliant, true);
  const drifted = await api.agentToken('agent-drifted');
  await reportNode('c-drifted', 'node-1', drifted, false);
  await reportNode('c-drifted', 'node-2', drifted, true); // a tunnel ARM does not report
}, 60_000);
afterAll(async () => {
  await api?.close();
  await arm?.close();
});

const rowOf = (out: string, cluster: string) => out.split('\n').find((line) => line.startsWith(`${cluster} `));

describe('fleetnet encryption status', () => {
  it('prints the counts, then one row per cluster: state, when read, nodes (mismatch), detail', async () => {
    const r = await cli('encryption', 'status');
    expect(r.code).toBe(0);
    const [counts, header] = r.out.split('\n');
    expect(counts).toMatch(/^encryption compliance: 4 cluster\(s\): Compliant 1, Drifted 1, Unsupported 1, Unknown 1; node evidence contradicts ARM on 1; ARM facts for 3 of 4, oldest read \d{4}-\d\d-\d\dT[\d:.]+Z; settings generation 1$/);
    expect(header).toMatch(/^CLUSTER\s+STATE\s+OBSERVED\s+NODES\(mismatch\)\s+DETAIL$/);
    expect(rowOf(r.out, 'c-compliant')).toMatch(/^c-compliant\s+Compliant\s+\d{4}-\S+Z\s+1 \(None\)$/);
    expect(rowOf(r.out, 'c-drifted')).toMatch(
      /^c-drifted\s+Drifted\s+\S+Z\s+2 \(NodesTunnelArmWithoutWireGuard\)\s+networkProfile\.advancedNetworking\.enabled: \(absent\) → true; networkProfile\.advancedNetworking\.security\.transitEncryption\.type: \(absent\) → WireGuard$/,
    );
    // kubenet (no dataplane: azure), ACNS off and not opted in, and the prod override's strict mode
    const unsupported = rowOf(r.out, 'c-unsupported')!;
    expect(unsupported).toMatch(/^c-unsupported\s+Unsupported\s+\S+Z\s+0 \(NoEvidence\)\s+/);
    expect(unsupported).toContain('strictMode');
    expect(unsupported).toContain('networkDataplane is azure');
    expect(unsupported).toContain('Advanced Container Networking Services are off');
    expect(rowOf(r.out, 'c-unknown')).toMatch(/^c-unknown\s+Unknown\s+-\s+0 \(NoEvidence\)\s+the cluster has no spec\.armResourceId/);
    expect(r.out.trimEnd().split('\n')).toHaveLength(6);
    expect(r.err).toBe('');
  });

  it('--state lists only that state; the counts line is unchanged', async () => {
    const all = await cli('encryption', 'status');
    const drifted = await cli('encryption', 'status', '--state', 'Drifted');
    expect(drifted.code).toBe(0);
    const lines = drifted.out.trimEnd().split('\n');
    expect(lines[0]).toBe(all.out.split('\n')[0]);
    expect(lines.slice(2).map((l) => l.split(/\s+/)[0])).toEqual(['c-drifted']);
    const compliant = await cli('encryption', 'status', '--state', 'Compliant', '--silent-after', '3600');
    expect(compliant.out.trimEnd().split('\n').slice(2).map((l) => l.split(/\s+/)[0])).toEqual(['c-compliant']);
    const bad = await cli('encryption', 'status', '--state', 'Broken');
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.err).toContain('Compliant, Drifted, Unsupported, Unknown');
  });

  it('one cluster: desired settings, ARM facts and when read, compliance with differences, node evidence', async () => {
    const r = await cli('encryption', 'status', 'c-drifted');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('Cluster:     c-drifted');
    expect(lines[1]).toBe('Desired:     wireguard (fleet default; settings generation 1)');
    expect(lines[2]).toMatch(/^Actual:      networkDataplane cilium, advancedNetworking\.enabled \(absent\), transitEncryption \(absent\) \(read from ARM at \S+Z\)$/);
    expect(lines.slice(3)).toEqual([
      'Compliance:  Drifted',
      '  - networkProfile.advancedNetworking.enabled: (absent) → true',
      '  - networkProfile.advancedNetworking.security.transitEncryption.type: (absent) → WireGuard',
      'Nodes:       2 reporting: 1 with a WireGuard interface, 1 without, 0 unreadable',
      'Mismatch:    NodesTunnelArmWithoutWireGuard (node-2)',
    ]);
    const prod = await cli('encryption', 'status', 'c-unsupported');
    expect(prod.out).toContain('Desired:     wireguard, strict mode (overrides prod-strict; settings generation 1)');
    expect(prod.out).toMatch(/Compliance: {2}Unsupported\n {2}- /);
    const unknown = await cli('encryption', 'status', 'c-unknown');
    expect(unknown.out).toContain('Actual:      not read from ARM');
    expect(unknown.out).toContain('Mismatch:    NoEvidence');
  });

  it('-o json prints the API body', async () => {
    const cluster = await cli('encryption', 'status', 'c-compliant', '-o', 'json');
    expect(JSON.parse(cluster.out)).toEqual((await client.call('GET', '/clusters/c-compliant/encryption', { token: api.tokens.reader })).body);
    const fleet = await cli('encryption', 'status', '--state', 'Unsupported', '-o', 'json');
    const body = (await client.call('GET', '/encryptioncompliance?state=Unsupported', { token: api.tokens.reader })).body;
    expect({ ...JSON.parse(fleet.out), generatedAt: 'x' }).toEqual({ ...body, generatedAt: 'x' });
  });

  it('colours states on a terminal only', async () => {
    const plain = await cliIn({ stdoutTty: true, env: { NO_COLOR: '1' } }, 'encryption', 'status');
    expect(plain.out).not.toContain('\u001b[');
    const coloured = await cliIn({ stdoutTty: true, env: { TERM: 'xterm' } }, 'encryption', 'status');
    expect(coloured.out).toContain('\u001b[31mDrifted\u001b[0m');
    expect(coloured.out).toContain('\u001b[32mCompliant\u001b[0m');
  });

  it('exit codes: an unknown cluster 5, no token 3, --state with CLUSTER 2', async () => {
    const missing = await cli('encryption', 'status', 'nobody');
    expect(missing.code).toBe(EXIT.NOT_FOUND);
    expect(missing.err).toMatch(/^fleetnet: /);
    expect((await cliIn({ token: null, env: { FLEETNET_AUTH_DEV_ISSUER_DIR: '/nonexistent/fleetnet-dev-issuer' } }, 'encryption', 'status')).code).toBe(EXIT.AUTH);
    const both = await cli('encryption', 'status', 'c-drifted', '--state', 'Drifted');
    expect(both.code).toBe(EXIT.USAGE);
    expect(both.err).toContain('--state');
  });
});
