/**
 * Honest writes: what the datapath will not enforce comes back on the write (PUT, import, dry run) and on
 * every read, and it is exactly what an agent reports in its node's Degraded condition for the same
 * policy — the agent's compiler runs here on the policy the API stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkPolicy, PolicyWarning } from '../../openapi/types.js';
import { toBundledPolicy } from '../../core/bundle/bundled-policy.js';
import { compileBundle } from '../../agent/src/compile/index.js';
import { input } from '../../agent/src/compile/test-cluster.js';
import { createContractClient } from '../helpers/contract-client.js';
import { startTestApi, type TestApi } from '../helpers/api-harness.js';

let api: TestApi;
let client: ReturnType<typeof createContractClient>;

beforeAll(async () => {
  api = await startTestApi();
  client = createContractClient(api.baseUrl);
});
afterAll(async () => api?.close());

/** The realistic policy of the issue: SaaS by name (enforced through the nodes' DNS proxy: no warning),
 *  an HTTP rule on the backend port (egress: enforced through the nodes' HTTP proxy, no warning), the
 *  API server. */
const REALISTIC_CILIUM = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: checkout-egress
  namespace: shop
spec:
  endpointSelector:
    matchLabels: {app: checkout}
  egress:
    - toFQDNs:
        - matchName: api.stripe.com
      toPorts:
        - ports: [{port: "443", protocol: TCP}]
    - toEndpoints:
        - matchLabels: {app: backend}
      toPorts:
        - ports: [{port: "8080", protocol: TCP}]
          rules:
            http:
              - method: GET
                path: /api/.*
    - toEntities: [kube-apiserver]
    - toEndpoints:
        - matchLabels: {app: cache}
      toPorts:
        - ports: [{port: "6379", protocol: TCP}]
`;

const EXPECTED_REALISTIC: PolicyWarning[] = [
  {
    pointer: '/spec/egress/2/toEntities/0',
    message: 'no addresses of the kube-apiserver entity are known to the agent; contributes no allow (fail closed)',
    consequence: 'failsClosed',
  },
];

/** A fleetnet policy with one of each other kind of unenforced part (deny sides included). */
const MIXED: NetworkPolicy = {
  apiVersion: 'fleetnet.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'mixed-parts' },
  spec: {
    mode: 'audit',
    targets: { clusterSelector: { matchLabels: { env: 'prod' } } },
    specs: [
      {
        endpointSelector: { matchLabels: { app: 'web' } },
        ingress: [
          { fromEndpoints: [{ matchLabels: { app: 'api' } }], fromRequires: [{ matchLabels: { env: 'prod' } }] },
          { fromEndpoints: [{ matchLabels: { app: 'lb' } }], toPorts: [{ ports: [{ port: 'http-alt', protocol: 'TCP' }] }] },
        ],
        ingressDeny: [{ fromEntities: ['health'] }, { fromEndpoints: [{ matchLabels: { app: 'x' } }], icmps: [{ fields: [{ family: 'IPv6', type: 135 }] }] }],
        egressDeny: [{ toCIDRSet: [{ cidrGroupRef: 'blocked' }] }],
      },
      { nodeSelector: { matchLabels: { role: 'worker' } }, ingress: [{ fromEntities: ['cluster'] }] },
    ],
  },
};

const CLEAN: NetworkPolicy = {
  apiVersion: 'fleetnet.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'clean' },
  spec: { endpointSelector: { matchLabels: { app: 'db' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }] }] },
};

/** What the agent's compiler reports as Degraded for this stored policy (a node with a static endpoints
 *  file: no API server addresses; running the DNS proxy, as agents do by default), in the warnings' shape. */
function agentDegraded(policy: NetworkPolicy): Array<{ pointer: string; message: string }> {
  const state = compileBundle(input([toBundledPolicy(policy)], { dnsProxy: true, httpProxy: true }));
  return state.degraded.filter((d) => d.policy === policy.metadata.name).map((d) => ({ pointer: `/spec${d.pointer}`, message: d.reason }));
}
const withoutConsequence = (warnings: readonly PolicyWarning[] | undefined) => (warnings ?? []).map(({ pointer, message }) => ({ pointer, message }));

describe('write-time warnings', () => {
  it('an import of a realistic Cilium policy warns about each part the datapath fails closed — in the dry run, the import and every read', async () => {
    const dryRun = await client.call('POST', '/networkpolicyimports?dryRun=true', { token: api.tokens.admin, rawBody: REALISTIC_CILIUM, contentType: 'application/yaml' });
    expect(dryRun.status).toBe(200);
    expect(dryRun.body.documents[0].warnings).toEqual(EXPECTED_REALISTIC);
    const name = dryRun.body.documents[0].policy.metadata.name as string;
    expect((await client.call('GET', `/networkpolicies/${name}`, { token: api.tokens.reader })).status).toBe(404); // a dry run stores nothing

    const imported = await client.call('POST', '/networkpolicyimports', { token: api.tokens.admin, rawBody: REALISTIC_CILIUM, contentType: 'application/yaml' });
    expect(imported.status).toBe(200);
    expect(imported.body.documents[0]).toMatchObject({ outcome: 'imported', warnings: EXPECTED_REALISTIC });
    expect(imported.body.documents[0].policy.status.warnings).toEqual(EXPECTED_REALISTIC);

    const read = await client.call('GET', `/networkpolicies/${name}`, { token: api.tokens.reader });
    expect(read.status).toBe(200);
    expect(read.body.status.warnings).toEqual(EXPECTED_REALISTIC);
    const listed = await client.call('GET', '/networkpolicies', { token: api.tokens.reader });
    expect(listed.body.items.find((p: NetworkPolicy) => p.metadata.name === name).status.warnings).toEqual(EXPECTED_REALISTIC);

    expect(withoutConsequence(read.body.status.warnings)).toEqual(agentDegraded(read.body));
  });

  it('PUT returns every unenforced part with its consequence, the same list the agent reports as Degraded', async () => {
    const put = await client.call('PUT', '/networkpolicies/mixed-parts', { token: api.tokens.admin, body: MIXED });
    expect(put.status).toBe(201);
    const warnings = put.body.status.warnings as PolicyWarning[];
    expect(warnings.map((w) => [w.pointer, w.consequence])).toEqual([
      ['/spec/specs/0/egressDeny/0/toCIDRSet/0/cidrGroupRef', 'failsClosed'],
      ['/spec/specs/0/ingress/0/fromRequires', 'noEffect'],
      ['/spec/specs/0/ingress/1/toPorts/0/ports/0', 'failsClosed'],
      ['/spec/specs/0/ingressDeny/0/fromEntities/0', 'noEffect'],
      ['/spec/specs/0/ingressDeny/1/icmps/0/fields/0', 'noEffect'],
      ['/spec/specs/1/nodeSelector', 'noEffect'],
    ]);
    expect(warnings.find((w) => w.pointer.endsWith('/cidrGroupRef'))!.message).toBe('CIDR groups are not resolved by the agent; the deny applies to every peer (fail closed)');
    expect(warnings.find((w) => w.pointer.endsWith('/ports/0'))!.message).toBe('named port "http-alt" cannot be resolved by the agent; no allow (fail closed)');
    expect(withoutConsequence(warnings)).toEqual(agentDegraded(put.body));
  });

  it('a policy the datapath enforces whole carries no warnings, and a read-back with warnings PUT again is not a change', async () => {
    const clean = await client.call('PUT', '/networkpolicies/clean', { token: api.tokens.admin, body: CLEAN });
    expect(clean.status).toBe(201);
    expect(clean.body.status?.warnings).toBeUndefined();
    expect(agentDegraded(clean.body)).toEqual([]);

    const read = await client.call('GET', '/networkpolicies/mixed-parts', { token: api.tokens.admin });
    const again = await client.call('PUT', '/networkpolicies/mixed-parts', { token: api.tokens.admin, body: read.body });
    expect(again.status).toBe(200);
    expect(again.body.metadata.generation).toBe(read.body.metadata.generation);
    expect(again.body.status.warnings).toEqual(read.body.status.warnings);
  });
});

describe('PUT ?dryRun=true', () => {
  it('validates as the write would, answers the policy with its warnings, and stores nothing', async () => {
    const body = { ...MIXED, metadata: { name: 'dry-mixed' } };
    const dry = await client.call('PUT', '/networkpolicies/dry-mixed?dryRun=true', { token: api.tokens.admin, body });
    expect(dry.status).toBe(200);
    expect(dry.headers.get('etag')).toBeNull();
    expect(dry.body.metadata).toEqual({ name: 'dry-mixed' });
    expect(dry.body.spec).toEqual(MIXED.spec);
    const stored = await client.call('PUT', '/networkpolicies/dry-mixed', { token: api.tokens.admin, body });
    expect(dry.body.status.warnings).toEqual(stored.body.status.warnings);
    await client.call('DELETE', '/networkpolicies/dry-mixed', { token: api.tokens.admin });

    expect((await client.call('PUT', '/networkpolicies/dry-only?dryRun=true', { token: api.tokens.admin, body: { ...CLEAN, metadata: { name: 'dry-only' } } })).status).toBe(200);
    expect((await client.call('GET', '/networkpolicies/dry-only', { token: api.tokens.admin })).status).toBe(404);
  });

  it('a dry run over a stored policy changes nothing; invalid bodies, names and flags are the same 400s as a write', async () => {
    const first = await client.call('PUT', '/networkpolicies/dry-existing', { token: api.tokens.admin, body: { ...CLEAN, metadata: { name: 'dry-existing' } } });
    const changed = { ...CLEAN, metadata: { name: 'dry-existing' }, spec: { ...CLEAN.spec, mode: 'audit' as const } };
    expect((await client.call('PUT', '/networkpolicies/dry-existing?dryRun=true', { token: api.tokens.admin, body: changed })).status).toBe(200);
    const after = await client.call('GET', '/networkpolicies/dry-existing', { token: api.tokens.admin });
    expect(after.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    expect(after.body.spec.mode).toBeUndefined();

    const badPort = { ...CLEAN, metadata: { name: 'dry-bad' }, spec: { ...CLEAN.spec, ingress: [{ toPorts: [{ ports: [{ port: '70000', protocol: 'TCP' }] }] }] } };
    const rejected = await client.call('PUT', '/networkpolicies/dry-bad?dryRun=true', { token: api.tokens.admin, body: badPort });
    expect(rejected.status).toBe(400);
    expect(rejected.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/spec/ingress/0/toPorts/0/ports/0/port');
    const misnamed = await client.call('PUT', '/networkpolicies/other-name?dryRun=true', { token: api.tokens.admin, body: { ...CLEAN, metadata: { name: 'dry-bad' } } });
    expect(misnamed.status).toBe(400);
    const badFlag = await client.call('PUT', '/networkpolicies/dry-bad?dryRun=yes', { token: api.tokens.admin, body: CLEAN });
    expect(badFlag.status).toBe(400);
    expect(badFlag.body.errors).toEqual([{ pointer: '/query/dryRun', message: 'must be true or false', rule: 'type' }]);
    expect((await client.call('PUT', '/networkpolicies/dry-reader?dryRun=true', { token: api.tokens.reader, body: { ...CLEAN, metadata: { name: 'dry-reader' } } })).status).toBe(403);
  });
});
