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
    { name: 'not an object', given: 'just text\n', want: [{ document: 0, outcome: 'rejected', reason: 'the document is not an object' }] },
    {
      name: 'an array is split into documents; items that are not objects are rejected each',
      given: '- 1\n- 2\n',
      want: [{ document: 0, outcome: 'rejected', reason: 'the document is not an object' }, { document: 1, outcome: 'rejected', reason: 'the document is not an object' }],
    },
    { name: 'an empty array is rejected', given: '[]\n', want: [{ document: 0, outcome: 'rejected', reason: 'the array holds no rules' }] },
    { name: 'no kind', given: 'apiVersion: v1\n', want: [{ document: 0, outcome: 'rejected', reason: 'kind is missing (a bare Cilium rule needs endpointSelector or nodeSelector)' }] },
    { name: 'no kind and no selector', given: 'ingress: []\n', want: [{ document: 0, outcome: 'rejected', reason: 'kind is missing (a bare Cilium rule needs endpointSelector or nodeSelector)' }] },
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

describe('importPolicyDocuments: bare Cilium rules (what `cilium policy import` reads)', () => {
  const json = (value: unknown) => importPolicyDocuments(JSON.stringify(value), 'json');
  const named = (name: string, namespace?: string) => [
    { key: 'io.cilium.k8s.policy.name', value: name, source: 'k8s' },
    ...(namespace ? [{ key: 'io.cilium.k8s.policy.namespace', value: namespace, source: 'k8s' }] : []),
  ];
  const l7Rule = {
    endpointSelector: { matchLabels: { app: 'api' } },
    ingress: [{ fromEndpoints: [{ matchLabels: { role: 'frontend' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/public' }] } }] }],
  };

  it('imports a JSON array of rules, one document per rule, in order', () => {
    const outcomes = json([
      { ...l7Rule, labels: named('l7-rule', 'shop') },
      { nodeSelector: { matchLabels: { role: 'worker' } }, ingress: [{ fromEntities: ['cluster'] }], labels: named('host-fw') },
    ]);
    expect(outcomes.map((o) => [o.document, o.outcome, o.policy?.metadata.name, o.sourceName, o.sourceNamespace])).toEqual([
      [0, 'imported', 'shop.l7-rule', 'l7-rule', 'shop'],
      [1, 'imported', 'host-fw', 'host-fw', undefined],
    ]);
    expect(outcomes[0]?.policy).toEqual({
      apiVersion: 'fleetnet.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'shop.l7-rule' },
      spec: { ...l7Rule, labels: named('l7-rule', 'shop') },
    });
  });

  it('imports a single rule object, without spec.namespace (Cilium applies it as written), with mode and targets', () => {
    const outcomes = importPolicyDocuments(JSON.stringify(l7Rule), 'json', { mode: 'audit', targets: { clusterIds: ['c1'] } });
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ document: 0, outcome: 'imported' });
    expect(outcomes[0]?.policy?.spec).toEqual({ ...l7Rule, mode: 'audit', targets: { clusterIds: ['c1'] } });
  });

  it('reads a YAML sequence of rules (what `policy apply -f` sends for a JSON array file)', () => {
    const yaml = '- endpointSelector: {}\n  ingress: [{fromEntities: [world]}]\n- EndpointSelector: {}\n  Egress: [{ToEntities: [world]}]\n';
    const outcomes = importPolicyDocuments(yaml, 'yaml');
    expect(outcomes.map((o) => o.outcome)).toEqual(['imported', 'imported']);
    expect(outcomes[1]?.policy?.spec).toEqual({ endpointSelector: {}, egress: [{ toEntities: ['world'] }] });
  });

  it('matches field names case-insensitively and stores the canonical names', () => {
    const outcomes = json({
      EndpointSelector: { MatchLabels: { app: 'api' } },
      Ingress: [{ FromEndpoints: [{ MatchLabels: { role: 'frontend' } }], ToPorts: [{ Ports: [{ Port: '80', Protocol: 'TCP' }], Rules: { HTTP: [{ Method: 'GET', Path: '/public' }] } }] }],
      Egress: [{ ToPorts: [{ Ports: [{ Port: '9092', Protocol: 'TCP' }], Rules: { Kafka: [{ Role: 'produce', Topic: 'orders' }] } }] }],
    });
    expect(outcomes[0]).toMatchObject({ outcome: 'imported' });
    expect(outcomes[0]?.policy?.spec).toEqual({
      ...l7Rule,
      egress: [{ toPorts: [{ ports: [{ port: '9092', protocol: 'TCP' }], rules: { kafka: [{ role: 'produce', topic: 'orders' }] } }] }],
    });
  });

  it('keeps user data as written: selector label keys and values, label keys and values, header strings', () => {
    const rule = {
      endpointSelector: { matchLabels: { Role: 'Frontend', 'k8s:App': 'Web' } },
      egress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { HTTP: [{ Headers: ['X-Tenant: Acme'] }] } }] }],
      labels: [{ Key: 'Team', Value: 'Payments', Source: 'K8S' }],
    };
    expect(json(rule)[0]?.policy?.spec).toEqual({
      endpointSelector: { matchLabels: { Role: 'Frontend', 'k8s:App': 'Web' } },
      egress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ headers: ['X-Tenant: Acme'] }] } }] }],
      labels: [{ key: 'Team', value: 'Payments', source: 'K8S' }],
    });
  });

  it('reads labels in Cilium\'s short form [source:]key[=value], noted', () => {
    const outcomes = json({ endpointSelector: {}, ingress: [{ fromEntities: ['world'] }], labels: ['k8s:io.cilium.k8s.policy.name=web', 'io.cilium.k8s.policy.namespace=shop', 'plain'] });
    expect(outcomes[0]?.policy?.metadata.name).toBe('shop.web');
    expect(outcomes[0]?.policy?.spec.labels).toEqual([
      { key: 'io.cilium.k8s.policy.name', value: 'web', source: 'k8s' },
      { key: 'io.cilium.k8s.policy.namespace', value: 'shop', source: 'unspec' },
      { key: 'plain', source: 'unspec' },
    ]);
    expect(outcomes[0]?.reason).toMatch(/read \/labels\/0 "k8s:io.cilium.k8s.policy.name=web" as \{key, value, source\}/);
  });

  describe('naming', () => {
    const nameOf = (rule: unknown) => json(rule)[0]?.policy?.metadata.name;
    it('is rule-<12 hex of SHA-256 of the canonical rule> without a name label', () => {
      expect(nameOf(l7Rule)).toMatch(/^rule-[0-9a-f]{12}$/);
    });
    it('is the same for the same rule however its keys are spelled or ordered, and wherever it sits in the body', () => {
      const reordered = { Ingress: l7Rule.ingress, ENDPOINTSELECTOR: l7Rule.endpointSelector };
      const name = nameOf(l7Rule);
      expect(nameOf(reordered)).toBe(name);
      const other = { endpointSelector: {}, ingress: [{ fromEntities: ['world'] }] };
      expect(json([other, reordered]).map((o) => o.policy?.metadata.name)).toEqual([nameOf(other), name]);
    });
    it('differs for a different rule (user data included)', () => {
      expect(nameOf({ ...l7Rule, endpointSelector: { matchLabels: { app: 'API' } } })).not.toBe(nameOf(l7Rule));
    });
    it('rejects the later of two identical rules as a duplicate name', () => {
      const outcomes = json([l7Rule, l7Rule]);
      expect(outcomes.map((o) => o.outcome)).toEqual(['imported', 'rejected']);
      expect(outcomes[1]?.reason).toMatch(/^document 0 already imports a policy named "rule-[0-9a-f]{12}"$/);
    });
    it('reports a name label that is no fleet name at the label as written', () => {
      const outcomes = json({ endpointSelector: {}, Labels: [{ key: 'team', value: 'x' }, { Key: 'io.cilium.k8s.policy.name', Value: 'Bad_Name' }] });
      expect(outcomes[0]).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/^fleet policy name "Bad_Name" \(from label io.cilium.k8s.policy.name\)/) });
      expect(outcomes[0]?.errors).toEqual([expect.objectContaining({ pointer: '/Labels/1/Value', rule: 'resource-name' })]);
    });
  });

  const bad: Array<{ name: string; given: unknown; want: { pointer: string; rule: string } }> = [
    { name: 'errors point at the keys as written', given: { EndpointSelector: {}, Egress: [{ ToEntities: ['moon'] }] }, want: { pointer: '/Egress/0/ToEntities/0', rule: 'entity' } },
    { name: 'unknown fields stay unknown after matching', given: { endpointSelector: {}, Egress: [{ Auth: 'x' }] }, want: { pointer: '/Egress/0/Auth', rule: 'unevaluatedProperties' } },
    { name: 'fleet-only keys are not rule fields', given: { endpointSelector: {}, mode: 'audit' }, want: { pointer: '/mode', rule: 'unevaluatedProperties' } },
    { name: 'fleet-only keys in another case are not rule fields either', given: { endpointSelector: {}, Namespace: 'shop' }, want: { pointer: '/Namespace', rule: 'unevaluatedProperties' } },
    { name: 'two spellings of one field', given: { endpointSelector: {}, egress: [], Egress: [] }, want: { pointer: '/Egress', rule: 'duplicate-field' } },
    { name: 'values keep their case (operator "in")', given: { endpointSelector: { MatchExpressions: [{ Key: 'a', Operator: 'in' }] } }, want: { pointer: '/endpointSelector/MatchExpressions/0/Operator', rule: 'enum' } },
  ];
  it.each(bad)('rejects: $name', ({ given, want }) => {
    const outcomes = json(given);
    expect(outcomes[0]?.outcome).toBe('rejected');
    expect(outcomes[0]?.errors).toEqual(expect.arrayContaining([expect.objectContaining(want)]));
  });

  it('fills port "0" of portless protocols, noting the pointer as written', () => {
    const outcomes = json({ nodeSelector: {}, Egress: [{ ToPorts: [{ Ports: [{ Protocol: 'VRRP' }] }] }] });
    expect(outcomes[0]?.policy?.spec.egress).toEqual([{ toPorts: [{ ports: [{ protocol: 'VRRP', port: '0' }] }] }]);
    expect(outcomes[0]?.reason).toBe('set /Egress/0/ToPorts/0/Ports/0/port to "0" (VRRP has no ports)');
  });

  it('keeps Kubernetes documents case-sensitive (the API server decodes them so)', () => {
    const cnp = { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'a' }, spec: { endpointSelector: {}, Egress: [{ toEntities: ['world'] }] } };
    expect(json(cnp)[0]?.errors).toEqual([expect.objectContaining({ pointer: '/spec/Egress', rule: 'unevaluatedProperties' })]);
  });
});
