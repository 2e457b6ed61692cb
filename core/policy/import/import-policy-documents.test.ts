import { describe, expect, it } from 'vitest';
import { collectImportedPolicies, importPolicyDocuments } from './import-policy-documents.js';

const cnp = (name: string, extra = '') => `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: ${name}
${extra}spec:
  endpointSelector: {}
  ingress:
  - fromEntities: [world]
`;

describe('importPolicyDocuments: envelope and dispatch', () => {
  const cases: Array<{ name: string; given: string; want: Array<Record<string, unknown>> }> = [
    { name: 'empty documents are skipped but counted', given: `---\n---\n${cnp('a')}---\n`, want: [{ document: 1, outcome: 'imported' }] },
    { name: 'YAML syntax error', given: 'a: [1,\n', want: [{ document: 0, outcome: 'rejected', reason: expect.stringMatching(/^invalid YAML/) }] },
    { name: 'not an object', given: '- 1\n- 2\n', want: [{ document: 0, outcome: 'rejected', reason: 'the document is not an object' }] },
    { name: 'no kind', given: 'apiVersion: v1\n', want: [{ document: 0, outcome: 'rejected', reason: 'kind is missing' }] },
    { name: 'wrong apiVersion', given: cnp('a').replace('cilium.io/v2', 'cilium.io/v1'), want: [{ document: 0, outcome: 'rejected', reason: expect.stringMatching(/unsupported apiVersion "cilium.io\/v1"/) }] },
    { name: 'namespace from metadata', given: cnp('a', ''), want: [{ document: 0, outcome: 'imported', policy: expect.objectContaining({ metadata: { name: 'default.a' } }) }] },
    {
      name: 'bad fleet name',
      given: cnp('Upper_Case'),
      want: [{ document: 0, outcome: 'rejected', reason: expect.stringMatching(/fleet policy name "default.Upper_Case"/), errors: [expect.objectContaining({ pointer: '/metadata/name' })] }],
    },
    {
      name: 'duplicate fleet names reject the later document',
      given: `${cnp('a')}---\n${cnp('a')}`,
      want: [{ document: 0, outcome: 'imported' }, { document: 1, outcome: 'rejected', reason: 'document 0 already imports a policy named "default.a"' }],
    },
    {
      name: 'fleet-only keys inside a Cilium rule are unknown fields',
      given: cnp('a').replace('  endpointSelector: {}', '  endpointSelector: {}\n  mode: audit'),
      want: [{ document: 0, outcome: 'rejected', errors: [{ pointer: '/spec/mode', message: 'unknown field', rule: 'unevaluatedProperties' }] }],
    },
    {
      name: 'specs errors point into /specs',
      given: 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a}\nspecs:\n- endpointSelector: {}\n  egress: [{toEntities: [moon]}]\n',
      want: [{ document: 0, outcome: 'rejected', errors: [{ pointer: '/specs/0/egress/0/toEntities/0', message: expect.any(String), rule: 'entity' }] }],
    },
    {
      name: 'namespace pointer maps to metadata.namespace',
      given: cnp('a', '  namespace: Bad\n'),
      want: [{ document: 0, outcome: 'rejected', reason: expect.stringMatching(/fleet policy name "Bad.a"/) }],
    },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    expect(importPolicyDocuments(given, 'yaml')).toEqual(want.map((w) => expect.objectContaining(w)));
  });

  it('reads JSON Lists and applies mode and targets', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'cw', labels: { team: 'net' } }, spec: { nodeSelector: {}, ingress: [{ fromEntities: ['cluster'] }] } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
      ],
    };
    const outcomes = importPolicyDocuments(JSON.stringify(list), 'json', { mode: 'audit', targets: { clusterIds: ['c1'] } });
    const policies = collectImportedPolicies(outcomes);
    expect(outcomes.map((o) => [o.document, o.outcome, o.sourceKind])).toEqual([
      [0, 'imported', 'CiliumClusterwideNetworkPolicy'],
      [1, 'rejected', 'ConfigMap'],
    ]);
    expect(policies).toEqual([
      {
        apiVersion: 'fleetnet.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'cw', labels: { team: 'net' } },
        spec: { nodeSelector: {}, ingress: [{ fromEntities: ['cluster'] }], mode: 'audit', targets: { clusterIds: ['c1'] } },
      },
    ]);
  });

  it('reports invalid JSON', () => {
    expect(importPolicyDocuments('{', 'json')[0]).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/^invalid JSON/) });
  });
});

describe('importPolicyDocuments: Kubernetes NetworkPolicy', () => {
  const np = (spec: Record<string, unknown>, namespace = 'shop') => JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np', namespace }, spec });
  const cases: Array<{ name: string; given: Record<string, unknown>; want: Record<string, unknown> }> = [
    {
      name: 'default deny ingress (empty podSelector, no rules)',
      given: { podSelector: {}, policyTypes: ['Ingress'] },
      want: { namespace: 'shop', endpointSelector: {}, ingress: [{}] },
    },
    {
      name: 'default deny both',
      given: { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress', 'Egress'] },
      want: { namespace: 'shop', endpointSelector: { matchLabels: { 'k8s:app': 'db' } }, ingress: [{}], egress: [{}] },
    },
    {
      name: 'allow all ingress',
      given: { podSelector: {}, ingress: [{}] },
      want: { namespace: 'shop', endpointSelector: {}, ingress: [{ fromEntities: ['all'] }] },
    },
    {
      name: 'peers and ports',
      given: {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: { app: 'api' } } },
              { namespaceSelector: { matchLabels: { team: 'ops' } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['x'] }] } },
              { namespaceSelector: {} },
              { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
            ],
            ports: [{ port: 5432 }, { port: 'metrics', protocol: 'TCP' }, { port: 30000, endPort: 30100, protocol: 'UDP' }],
          },
        ],
      },
      want: (() => {
        const toPorts = [
          { ports: [{ port: '5432', protocol: 'TCP' }] },
          { ports: [{ port: 'metrics', protocol: 'TCP' }] },
          { ports: [{ port: '30000', endPort: 30100, protocol: 'UDP' }] },
        ];
        return {
          namespace: 'shop',
          endpointSelector: { matchLabels: { 'k8s:app': 'db' } },
          ingress: [
            { fromEndpoints: [{ matchLabels: { 'k8s:app': 'api', 'k8s:io.kubernetes.pod.namespace': 'shop' } }], toPorts },
            {
              fromEndpoints: [{ matchLabels: { 'k8s:io.cilium.k8s.namespace.labels.team': 'ops' }, matchExpressions: [{ key: 'k8s:tier', operator: 'In', values: ['x'] }] }],
              toPorts,
            },
            { fromEndpoints: [{ matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'Exists' }] }], toPorts },
            { fromCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }], toPorts },
          ],
        };
      })(),
    },
    {
      name: 'egress only via defaulting; any port',
      given: { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'UDP' }] }] },
      want: { namespace: 'shop', endpointSelector: {}, ingress: [{}], egress: [{ toCIDRSet: [{ cidr: '0.0.0.0/0' }], toPorts: [{ ports: [{ port: '0', protocol: 'UDP' }] }] }] },
    },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    const outcomes = importPolicyDocuments(np(given), 'json');
    expect(outcomes[0]).toMatchObject({ outcome: 'imported', sourceKind: 'NetworkPolicy', sourceNamespace: 'shop' });
    expect(outcomes[0]?.policy?.metadata.name).toBe('shop.np');
    expect(outcomes[0]?.policy?.spec).toEqual(want);
  });

  it('ignores rules of a direction policyTypes leaves out, with a note', () => {
    const outcomes = importPolicyDocuments(np({ podSelector: {}, policyTypes: ['Egress'], ingress: [{}] }), 'json');
    expect(outcomes[0]?.policy?.spec).toEqual({ namespace: 'shop', endpointSelector: {}, egress: [{}] });
    expect(outcomes[0]?.reason).toMatch(/ignored \/spec\/ingress/);
  });

  const bad: Array<{ name: string; given: Record<string, unknown>; want: string }> = [
    { name: 'unknown field', given: { podSelector: {}, ingress: [{ form: [] }] }, want: '/spec/ingress/0/form' },
    { name: 'ipBlock mixed with selectors', given: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }, want: '/spec/ingress/0/from/0/ipBlock' },
    { name: 'empty peer', given: { podSelector: {}, ingress: [{ from: [{}] }] }, want: '/spec/ingress/0/from/0' },
    { name: 'bad except maps back to the ipBlock', given: { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/8'] } }] }] }, want: '/spec/egress/0/to/0/ipBlock/except/0' },
    { name: 'bad port maps back to the NetworkPolicy port', given: { podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] }, want: '/spec/ingress/0/ports/0/port' },
    { name: 'bad selector maps back to the peer', given: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } }] }] }, want: '/spec/ingress/0/from/0' },
    { name: 'bad policy type', given: { podSelector: {}, policyTypes: ['ingress'] }, want: '/spec/policyTypes/0' },
  ];
  it.each(bad)('rejects: $name', ({ given, want }) => {
    const outcomes = importPolicyDocuments(np(given), 'json');
    expect(outcomes[0]?.outcome).toBe('rejected');
    expect(outcomes[0]?.errors?.map((e) => e.pointer)).toContain(want);
  });

  it('defaults the namespace to default', () => {
    const doc = JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np' }, spec: { podSelector: {} } });
    expect(importPolicyDocuments(doc, 'json')[0]?.policy?.metadata.name).toBe('default.np');
  });
});
