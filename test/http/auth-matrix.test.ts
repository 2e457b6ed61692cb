import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESIRED_STATE_MEDIA_TYPE } from '../../core/bundle/desired-state-format.js';
import { loadOrCreateDevIssuer } from '../../functions/src/auth/dev-issuer.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import { clusterBody, nodeBody, policyBody } from '../helpers/fixtures.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;
const tokens: Record<string, string | undefined> = {};
let otherKeyDir: string;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
  otherKeyDir = await mkdtemp(join(tmpdir(), 'fleetnet-other-key-'));
  const stranger = await loadOrCreateDevIssuer(otherKeyDir);
  Object.assign(tokens, {
    none: undefined,
    admin: api.tokens.admin,
    reader: api.tokens.reader,
    agentA: await api.agentToken('agent-a'),
    agentB: await api.agentToken('agent-b'),
    expired: await api.issuer.mintToken({ role: 'Fleet.Admin', objectId: 'admin-1', expiresInSeconds: -3600 }),
    wrongAudience: await api.issuer.mintToken({ role: 'Fleet.Admin', objectId: 'admin-1', audience: 'api://someone-else' }),
    otherKey: await stranger.mintToken({ role: 'Fleet.Admin', objectId: 'admin-1' }),
    noRoles: await api.issuer.mintToken({ roles: [], objectId: 'nobody' }),
  });
  await client.call('PUT', '/clusters/cluster-a', { token: api.tokens.admin, body: clusterBody('cluster-a', { env: 'prod' }, ['agent-a']) });
  await client.call('PUT', '/clusters/cluster-b', { token: api.tokens.admin, body: clusterBody('cluster-b', { env: 'prod' }, ['agent-b']) });
  await client.call('PUT', '/networkpolicies/existing', { token: api.tokens.admin, body: policyBody('existing') });
  await api.services.desiredState.settled();
});
afterAll(async () => {
  await api?.close();
  await rm(otherKeyDir, { recursive: true, force: true });
});

type Case = { who: string; method: string; path: string; body?: unknown; want: number };

const cases: Case[] = [
  { who: 'none', method: 'GET', path: '/healthz', want: 200 },
  { who: 'none', method: 'GET', path: '/openapi.yaml', want: 200 },
  { who: 'none', method: 'GET', path: '/openapi.json', want: 200 },
  { who: 'none', method: 'GET', path: '/networkpolicies', want: 401 },
  { who: 'expired', method: 'GET', path: '/networkpolicies', want: 401 },
  { who: 'wrongAudience', method: 'GET', path: '/networkpolicies', want: 401 },
  { who: 'otherKey', method: 'GET', path: '/networkpolicies', want: 401 },
  { who: 'none', method: 'GET', path: '/clusters/cluster-a/nodes/n1/desiredstate', want: 401 },
  { who: 'noRoles', method: 'GET', path: '/networkpolicies', want: 403 },
  { who: 'reader', method: 'GET', path: '/networkpolicies', want: 200 },
  { who: 'reader', method: 'PUT', path: '/networkpolicies/by-reader', body: policyBody('by-reader'), want: 403 },
  { who: 'reader', method: 'DELETE', path: '/networkpolicies/existing', want: 403 },
  { who: 'reader', method: 'PUT', path: '/clusters/cluster-c', body: clusterBody('cluster-c', {}), want: 403 },
  { who: 'agentA', method: 'GET', path: '/networkpolicies', want: 403 },
  { who: 'agentA', method: 'PUT', path: '/networkpolicies/by-agent', body: policyBody('by-agent'), want: 403 },
  { who: 'agentA', method: 'GET', path: '/clusters/cluster-a/nodes/n1/desiredstate', want: 200 },
  { who: 'agentA', method: 'GET', path: '/clusters/cluster-b/nodes/n1/desiredstate', want: 403 },
  { who: 'agentA', method: 'GET', path: '/clusters/no-such-cluster/nodes/n1/desiredstate', want: 403 },
  { who: 'agentA', method: 'PUT', path: '/clusters/cluster-a/nodes/n1', body: nodeBody('n1'), want: 201 },
  { who: 'agentA', method: 'PUT', path: '/clusters/cluster-b/nodes/n1', body: nodeBody('n1'), want: 403 },
  { who: 'agentB', method: 'PUT', path: '/clusters/cluster-a/nodes/n1/status', body: { observedRevision: 1 }, want: 403 },
  { who: 'agentA', method: 'PUT', path: '/clusters/cluster-a/nodes/n1/status', body: { observedRevision: 1 }, want: 200 },
  { who: 'reader', method: 'GET', path: '/clusters/cluster-b/nodes/n1/desiredstate', want: 200 },
  { who: 'reader', method: 'PUT', path: '/clusters/cluster-a/nodes/n2', body: nodeBody('n2'), want: 403 },
  { who: 'admin', method: 'GET', path: '/clusters/no-such-cluster/nodes/n1/desiredstate', want: 404 },
  { who: 'admin', method: 'PUT', path: '/networkpolicies/by-admin', body: policyBody('by-admin'), want: 201 },
];

describe('auth matrix', () => {
  it.each(cases)('$who $method $path → $want', async ({ who, method, path, body, want }) => {
    // The desired-state poll answers only clients that ask for its format.
    const headers: Record<string, string> = path.endsWith('/desiredstate') ? { accept: DESIRED_STATE_MEDIA_TYPE } : {};
    const response = await client.call(method, path, { token: tokens[who], body, headers });
    expect(response.status).toBe(want);
    if (want === 401) {
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(response.body.code).toBe('Unauthorized');
    }
    if (want === 403) expect(response.body.code).toBe('Forbidden');
  });

  it('a rejected write changes nothing', async () => {
    expect((await client.call('GET', '/networkpolicies/by-reader', { token: api.tokens.admin })).status).toBe(404);
    expect((await client.call('GET', '/networkpolicies/existing', { token: api.tokens.admin })).status).toBe(200);
  });

  it('never echoes the token in an error', async () => {
    const response = await client.call('GET', '/networkpolicies', { token: tokens.expired });
    expect(response.text).not.toContain(tokens.expired!.slice(20, 60));
  });
});
