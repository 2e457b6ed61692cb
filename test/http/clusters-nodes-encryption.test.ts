import { DESIRED_STATE_MEDIA_TYPE } from '../../core/bundle/desired-state-format.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, encryptionBody, nodeBody } from '../helpers/fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
let agent: string;

beforeAll(async () => {
  api = await startTestApi({ FLEETNET_DESIRED_STATE_CACHE_MS: '0' });
  client = createContractClient(api.baseUrl);
  agent = await api.agentToken('agent-east');
});
afterAll(async () => api?.close());

describe('clusters', () => {
  it('create, read, list by selector, replace keeps generation on label change, delete removes nodes and desired state', async () => {
    const admin = api.tokens.admin;
    const body = { ...clusterBody('east-1', { env: 'prod', region: 'east' }, ['agent-east']), spec: { agentIdentities: ['agent-east'], armResourceId: '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/east-1' } };
    expect((await client.call('PUT', '/clusters/east-1', { token: admin, body })).status).toBe(201);
    await client.call('PUT', '/clusters/west-1', { token: admin, body: clusterBody('west-1', { env: 'dev', region: 'west' }) });
    const prod = await client.call('GET', '/clusters?labelSelector=env%3Dprod', { token: api.tokens.reader });
    expect(prod.body.items.map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual(['east-1']);
    const read = await client.call('GET', '/clusters/east-1', { token: api.tokens.reader });
    expect(read.body.spec).toEqual(body.spec);

    expect((await client.call('PUT', '/clusters/east-1/nodes/node-a', { token: agent, body: nodeBody('node-a') })).status).toBe(201);
    await api.services.desiredState.settled();
    const manifest = { accept: DESIRED_STATE_MEDIA_TYPE };
    expect((await client.call('GET', '/clusters/east-1/nodes/node-a/desiredstate', { token: agent, headers: manifest })).status).toBe(200);

    expect((await client.call('DELETE', '/clusters/east-1', { token: admin })).status).toBe(204);
    expect((await client.call('GET', '/clusters/east-1', { token: admin })).status).toBe(404);
    expect((await client.call('GET', '/clusters/east-1/nodes/node-a/desiredstate', { token: admin, headers: manifest })).status).toBe(404);
    expect((await api.services.store.nodes.all('east-1')).length).toBe(0);
  });
});

describe('nodes', () => {
  beforeAll(async () => {
    await client.call('PUT', '/clusters/east-2', { token: api.tokens.admin, body: clusterBody('east-2', { env: 'prod' }, ['agent-east']) });
  });

  it('registration keeps reported status; status stamps lastSeen; readers and the agent can read', async () => {
    const registered = await client.call('PUT', '/clusters/east-2/nodes/node-b', { token: agent, body: nodeBody('node-b') });
    expect(registered.status).toBe(201);
    expect(registered.body.metadata.createdBy).toBe('oid:agent-east');
    const status = {
      observedRevision: 3,
      conditions: [
        { type: 'Programmed', status: 'True', reason: 'Applied', lastTransitionTime: '2026-11-24T10:00:00Z' },
        { type: 'Degraded', status: 'True', reason: 'UnsupportedRule', message: 'policy default.fqdn: toFQDNs is not enforced yet' },
      ],
    };
    const reported = await client.call('PUT', '/clusters/east-2/nodes/node-b/status', { token: agent, body: status });
    expect(reported.status).toBe(200);
    expect(reported.body.status).toMatchObject(status);
    expect(Date.parse(reported.body.status.lastSeen)).toBeGreaterThan(Date.now() - 60_000);

    const reRegistered = await client.call('PUT', '/clusters/east-2/nodes/node-b', { token: agent, body: { ...nodeBody('node-b'), spec: { agentVersion: '0.2.0' } } });
    expect(reRegistered.body.status.observedRevision).toBe(3);
    expect(reRegistered.body.metadata.generation).toBe(2);

    const listed = await client.call('GET', '/clusters/east-2/nodes', { token: agent });
    expect(listed.body.items.map((n: { metadata: { name: string } }) => n.metadata.name)).toEqual(['node-b']);
    expect((await client.call('GET', '/clusters/east-2/nodes/node-b', { token: api.tokens.reader })).status).toBe(200);
  });

  it('status for an unregistered node is 404; a node in a missing cluster is 404 for admins', async () => {
    expect((await client.call('PUT', '/clusters/east-2/nodes/ghost/status', { token: agent, body: { observedRevision: 1 } })).status).toBe(404);
    expect((await client.call('PUT', '/clusters/nowhere/nodes/n', { token: api.tokens.admin, body: nodeBody('n') })).status).toBe(404);
  });

  it('rejects an invalid status with a pointer', async () => {
    const response = await client.call('PUT', '/clusters/east-2/nodes/node-b/status', { token: agent, body: { conditions: [{ type: 'Ready', status: 'True' }] } });
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/conditions/0/type');
  });

  it('deregisters', async () => {
    expect((await client.call('DELETE', '/clusters/east-2/nodes/node-b', { token: agent })).status).toBe(204);
    expect((await client.call('GET', '/clusters/east-2/nodes/node-b', { token: agent })).status).toBe(404);
  });
});

describe('encryption settings', () => {
  beforeAll(async () => {
    await client.call('PUT', '/clusters/enc-prod', { token: api.tokens.admin, body: clusterBody('enc-prod', { env: 'prod', compliance: 'pci' }) });
    await client.call('PUT', '/clusters/enc-dev', { token: api.tokens.admin, body: clusterBody('enc-dev', { env: 'dev' }) });
  });

  it('effective settings apply matching overrides in order over the default', async () => {
    const spec = {
      default: { enabled: true, type: 'wireguard', nodeEncryption: false },
      overrides: [
        { name: 'prod-strict', clusterSelector: { matchLabels: { env: 'prod' } }, settings: { strictMode: { egress: { enabled: true, cidr: '10.0.0.0/8', allowRemoteNodeIdentities: true } } } },
        { name: 'pci-nodes', clusterSelector: { matchLabels: { compliance: 'pci' } }, settings: { nodeEncryption: true } },
        { name: 'dev-off', clusterSelector: { matchLabels: { env: 'dev' } }, settings: { enabled: false } },
      ],
    };
    expect((await client.call('PUT', '/encryptionsettings', { token: api.tokens.admin, body: encryptionBody(spec) })).status).toBe(201);
    const prod = await client.call('GET', '/clusters/enc-prod/encryption', { token: api.tokens.reader });
    expect(prod.body).toEqual({
      clusterId: 'enc-prod',
      settings: { enabled: true, type: 'wireguard', nodeEncryption: true, strictMode: { egress: { enabled: true, cidr: '10.0.0.0/8', allowRemoteNodeIdentities: true } } },
      appliedOverrides: ['prod-strict', 'pci-nodes'],
      settingsGeneration: 1,
      // no armResourceId: nothing to compare with (test/http/fleet-inventory.test.ts reads ARM)
      actual: null,
      compliance: { state: 'Unknown', differences: [], reasons: ['the cluster has no spec.armResourceId: fleetnet cannot read its managed cluster'] },
      nodeEvidence: { nodesReporting: 0, nodesWithTunnel: 0, nodesWithoutTunnel: 0, nodesUnreadable: 0, mismatch: 'NoEvidence' },
    });
    const dev = await client.call('GET', '/clusters/enc-dev/encryption', { token: api.tokens.reader });
    expect(dev.body.settings.enabled).toBe(false);
    expect(dev.body.appliedOverrides).toEqual(['dev-off']);
  });

  it('keeps revisions, honours If-Match, and deleting falls back to disabled', async () => {
    const current = await client.call('GET', '/encryptionsettings', { token: api.tokens.reader });
    const ipsec = encryptionBody({ default: { enabled: true, type: 'ipsec', ipsec: { keyRotationDuration: '24h' } } });
    const stale = await client.call('PUT', '/encryptionsettings', { token: api.tokens.admin, body: ipsec, headers: { 'if-match': '"stale"' } });
    expect(stale.status).toBe(412);
    const replaced = await client.call('PUT', '/encryptionsettings', { token: api.tokens.admin, body: ipsec, headers: { 'if-match': current.headers.get('etag')! } });
    expect(replaced.status).toBe(200);
    expect(replaced.body.metadata.generation).toBe(2);
    const wrongName = await client.call('PUT', '/encryptionsettings', { token: api.tokens.admin, body: { ...ipsec, metadata: { name: 'other' } } });
    expect(wrongName.status).toBe(400);
    expect(wrongName.body.code).toBe('NameMismatch');

    expect((await client.call('DELETE', '/encryptionsettings', { token: api.tokens.admin })).status).toBe(204);
    const history = await client.call('GET', '/encryptionsettings/revisions', { token: api.tokens.reader });
    expect(history.body.items.map((r: { generation: number; operation: string }) => `${r.generation}:${r.operation}`)).toEqual(['3:delete', '2:replace', '1:create']);
    const fallback = await client.call('GET', '/clusters/enc-prod/encryption', { token: api.tokens.reader });
    expect(fallback.body.settings).toEqual({ enabled: false });
    expect(fallback.body.settingsGeneration).toBeNull();
    expect((await client.call('GET', '/encryptionsettings', { token: api.tokens.reader })).status).toBe(404);
  });

  it('rejects strict mode with IPsec at the right pointer', async () => {
    const response = await client.call('PUT', '/encryptionsettings', {
      token: api.tokens.admin,
      body: encryptionBody({ default: { enabled: true, type: 'ipsec', strictMode: { egress: { enabled: true, cidr: '10.0.0.0/8' } } } }),
    });
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/spec/default/strictMode');
  });

  it('a dry run validates as the write would and stores nothing', async () => {
    const before = await client.call('GET', '/encryptionsettings', { token: api.tokens.admin });
    const wireguard = encryptionBody({ default: { enabled: true, type: 'wireguard', nodeEncryption: true } });
    const dry = await client.call('PUT', '/encryptionsettings?dryRun=true', { token: api.tokens.admin, body: wireguard });
    expect(dry.status).toBe(200);
    expect(dry.headers.get('etag')).toBeNull();
    expect(dry.body.spec).toEqual(wireguard.spec);
    const after = await client.call('GET', '/encryptionsettings', { token: api.tokens.admin });
    expect(after.status).toBe(before.status);
    expect(after.body?.metadata?.resourceVersion).toBe(before.body?.metadata?.resourceVersion);
    const invalid = encryptionBody({ default: { enabled: true, type: 'ipsec', strictMode: { egress: { enabled: true, cidr: '10.0.0.0/8' } } } });
    const rejected = await client.call('PUT', '/encryptionsettings?dryRun=true', { token: api.tokens.admin, body: invalid });
    expect(rejected.status).toBe(400);
    expect(rejected.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/spec/default/strictMode');
    expect((await client.call('PUT', '/encryptionsettings?dryRun=true', { token: api.tokens.reader, body: wireguard })).status).toBe(403);
  });
});
