import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';
import * as upstream from '../helpers/upstream-fixtures.js';

// Tests that import upstream Cilium examples skip, saying why, where ../shared/fixtures is absent.
const fixture = (path: string) => readFileSync(join(upstream.CILIUM_POLICIES, path), 'utf8');
const withFixtures = it.skipIf(!upstream.present);
upstream.announceSkip('the POST /networkpolicyimports tests that import upstream Cilium examples (test/http/import.test.ts)');

let api: TestApi;
let client: ReturnType<typeof createContractClient>;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
});
afterAll(async () => api?.close());

const importYaml = (yaml: string, query = '') =>
  client.call('POST', `/networkpolicyimports${query}`, { token: api.tokens.admin, rawBody: yaml, contentType: 'application/yaml' });

const K8S_POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-allow-web
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: api
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app: web
      ports:
        - protocol: TCP
          port: 8080
`;

describe('POST /networkpolicyimports', () => {
  withFixtures(upstream.titled('imports upstream CNP, CCNP and Kubernetes policies from one multi-document YAML body'), async () => {
    const body = [fixture('l3/simple/l3.yaml'), fixture('kubernetes/clusterwide/clusterscope-policy.yaml'), K8S_POLICY].join('\n---\n');
    const response = await importYaml(body, '?clusterSelector=env%3Dprod&mode=audit');
    expect(response.status).toBe(200);
    expect(response.body.dryRun).toBe(false);
    expect(response.body.documents.map((d: { outcome: string; policy: { metadata: { name: string } } }) => [d.outcome, d.policy.metadata.name])).toEqual([
      ['imported', 'default.l3-rule'],
      ['imported', 'clusterwide-policy-example'],
      ['imported', 'shop.api-allow-web'],
    ]);
    const stored = await client.call('GET', '/networkpolicies/shop.api-allow-web', { token: api.tokens.reader });
    expect(stored.status).toBe(200);
    expect(stored.body.spec).toMatchObject({ namespace: 'shop', mode: 'audit', targets: { clusterSelector: { matchLabels: { env: 'prod' } } } });
    // Kubernetes policies convert with Cilium's source-prefixed label keys, as Cilium's own converter does.
    expect(stored.body.spec.endpointSelector).toEqual({ matchLabels: { 'k8s:app': 'api' } });
    const l3 = await client.call('GET', '/networkpolicies/default.l3-rule', { token: api.tokens.reader });
    expect(l3.body.spec.ingress).toEqual([{ fromEndpoints: [{ matchLabels: { role: 'frontend' } }] }]);
  });

  withFixtures(upstream.titled('is idempotent: the same body again reports every document unchanged and writes no new generation'), async () => {
    const response = await importYaml(fixture('l3/simple/l3.yaml'), '?clusterSelector=env%3Dprod&mode=audit');
    expect(response.body.documents[0].outcome).toBe('unchanged');
    expect(response.body.documents[0].policy.metadata.generation).toBe(1);
  });

  withFixtures(upstream.titled('is all-or-nothing: one rejected document stores nothing and points into that document'), async () => {
    const body = [fixture('l4/l4.yaml'), fixture('auth/auth.yaml')].join('\n---\n');
    const response = await importYaml(body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('ImportRejected');
    expect(response.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/1/spec/egress/0/auth');
    expect(response.body.documents.map((d: { outcome: string }) => d.outcome)).toEqual(['imported', 'rejected']);
    expect((await client.call('GET', '/networkpolicies/default.l4-rule', { token: api.tokens.admin })).status).toBe(404);
  });

  withFixtures(upstream.titled('dry run reports every outcome and stores nothing'), async () => {
    const response = await importYaml(fixture('kubernetes/namespace/demo-pods.yaml') + '\n---\n' + fixture('l4/l4.yaml'), '?dryRun=true');
    expect(response.status).toBe(200);
    const outcomes = response.body.documents.map((d: { outcome: string; reason?: string }) => d.outcome);
    expect(outcomes.filter((o: string) => o === 'rejected')).toHaveLength(6);
    expect(response.body.documents[0].reason).toBe('kind Namespace is not a network policy');
    expect(outcomes.at(-1)).toBe('imported');
    expect((await client.call('GET', '/networkpolicies/default.l4-rule', { token: api.tokens.admin })).status).toBe(404);
  });

  it('takes JSON, including a Kubernetes List', async () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'from-json', namespace: 'ops' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['world'] }] } }] };
    const response = await client.call('POST', '/networkpolicyimports', { token: api.tokens.admin, body: list });
    expect(response.status).toBe(200);
    expect(response.body.documents[0].policy.metadata.name).toBe('ops.from-json');
  });

  it('takes what `cilium policy import` reads: a JSON array of rules with Go-style field names, stored under canonical names', async () => {
    const rules = [
      {
        EndpointSelector: { MatchLabels: { app: 'Catalog' } },
        Ingress: [{ FromEndpoints: [{ MatchLabels: { Role: 'Frontend' } }], ToPorts: [{ Ports: [{ Port: '8080', Protocol: 'TCP' }], Rules: { HTTP: [{ Method: 'GET', Path: '/items/.*', Headers: ['X-Tenant: Acme'] }] } }] }],
        Labels: [{ Key: 'io.cilium.k8s.policy.name', Value: 'catalog-read', Source: 'k8s' }, { Key: 'io.cilium.k8s.policy.namespace', Value: 'shop', Source: 'k8s' }],
      },
      { nodeSelector: {}, ingress: [{ fromEntities: ['cluster'] }] },
    ];
    const body = JSON.stringify(rules);
    const response = await client.call('POST', '/networkpolicyimports?clusterIds=c1', { token: api.tokens.admin, rawBody: body, contentType: 'application/json' });
    expect(response.status).toBe(200);
    const names = response.body.documents.map((d: { outcome: string; policy: { metadata: { name: string } } }) => [d.outcome, d.policy.metadata.name]);
    expect(names).toEqual([['imported', 'shop.catalog-read'], ['imported', expect.stringMatching(/^rule-[0-9a-f]{12}$/)]]);
    const stored = await client.call('GET', '/networkpolicies/shop.catalog-read', { token: api.tokens.reader });
    expect(stored.status).toBe(200);
    expect(stored.body.spec).toEqual({
      endpointSelector: { matchLabels: { app: 'Catalog' } },
      ingress: [{ fromEndpoints: [{ matchLabels: { Role: 'Frontend' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/items/.*', headers: ['X-Tenant: Acme'] }] } }] }],
      labels: [{ key: 'io.cilium.k8s.policy.name', value: 'catalog-read', source: 'k8s' }, { key: 'io.cilium.k8s.policy.namespace', value: 'shop', source: 'k8s' }],
      targets: { clusterIds: ['c1'] },
    });
    // The names are deterministic: the same file again changes nothing.
    const again = await client.call('POST', '/networkpolicyimports?clusterIds=c1', { token: api.tokens.admin, rawBody: body, contentType: 'application/json' });
    expect(again.body.documents.map((d: { outcome: string; policy: { metadata: { name: string } } }) => [d.outcome, d.policy.metadata.name])).toEqual(names.map(([, name]: [string, string]) => ['unchanged', name]));
  });

  withFixtures(upstream.titled('rejects bad query parameters, other media types and non-admins'), async () => {
    const badQuery = await importYaml(fixture('l4/l4.yaml'), '?clusterIds=Not_Valid&mode=block');
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/query/clusterIds/0', '/query/mode']);
    const text = await client.call('POST', '/networkpolicyimports', { token: api.tokens.admin, rawBody: 'x', contentType: 'text/plain' });
    expect(text.status).toBe(415);
    const reader = await client.call('POST', '/networkpolicyimports', { token: api.tokens.reader, rawBody: fixture('l4/l4.yaml'), contentType: 'application/yaml' });
    expect(reader.status).toBe(403);
  });
});
