import { describe, expect, it } from 'vitest';
import { createRuleKeyNormalizer, toSourcePointer } from './normalize-rule-keys.js';

describe('createRuleKeyNormalizer (contract Rule schema)', () => {
  const normalize = createRuleKeyNormalizer();
  const cases: Array<{ name: string; given: unknown; want: unknown }> = [
    {
      name: 'canonical names stay as they are',
      given: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEntities: ['world'] }] },
      want: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEntities: ['world'] }] },
    },
    {
      name: 'top-level and selector names in any case',
      given: { EndpointSelector: { MatchLabels: { app: 'web' }, MATCHEXPRESSIONS: [{ Key: 'tier', Operator: 'In', Values: ['a'] }] }, EnableDefaultDeny: { Ingress: false } },
      want: { endpointSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] }, enableDefaultDeny: { ingress: false } },
    },
    {
      name: 'nested toPorts[].rules.HTTP[].Method (Go-style names)',
      given: { egress: [{ ToPorts: [{ Ports: [{ Port: '80', Protocol: 'TCP', EndPort: 90 }], Rules: { HTTP: [{ Method: 'GET', Path: '/v1/.*', Headers: ['X-Token: a'] }], DNS: [{ MatchPattern: '*.example.com' }] } }], ToFQDNs: [{ MatchName: 'example.com' }] }] },
      want: { egress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP', endPort: 90 }], rules: { http: [{ method: 'GET', path: '/v1/.*', headers: ['X-Token: a'] }], dns: [{ matchPattern: '*.example.com' }] } }], toFQDNs: [{ matchName: 'example.com' }] }] },
    },
    {
      name: 'Kafka Role and ClientID; deny rules through allOf',
      given: { ingress: [{ toPorts: [{ rules: { Kafka: [{ Role: 'produce', ClientId: 'c', Topic: 't' }] } }] }], IngressDeny: [{ FromCIDRSet: [{ CIDR: '10.0.0.0/8', Except: ['10.1.0.0/16'] }], ToPorts: [{ Ports: [{ port: '22' }] }] }] },
      want: { ingress: [{ toPorts: [{ rules: { kafka: [{ role: 'produce', clientID: 'c', topic: 't' }] } }] }], ingressDeny: [{ fromCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }], toPorts: [{ ports: [{ port: '22' }] }] }] },
    },
    {
      name: 'user data keeps its keys and values: matchLabels contents, l7 records, aws groups, label values',
      given: {
        endpointSelector: { matchLabels: { Role: 'Frontend', 'k8s:App': 'X', MatchLabels: 'y' } },
        ingress: [{ FromEndpoints: [{ MatchLabels: { HTTP: 'Method' } }], toPorts: [{ rules: { L7Proto: 'p', L7: [{ Method: 'GET', ToPorts: 'x' }] } }] }],
        egress: [{ ToGroups: [{ AWS: { SecurityGroupsIds: ['sg-1'], Labels: { Key: 'V' } } }] }],
        Labels: [{ Key: 'Role', Value: 'HTTP', Source: 'K8S' }],
        Description: 'Keep CASE',
      },
      want: {
        endpointSelector: { matchLabels: { Role: 'Frontend', 'k8s:App': 'X', MatchLabels: 'y' } },
        ingress: [{ fromEndpoints: [{ matchLabels: { HTTP: 'Method' } }], toPorts: [{ rules: { l7proto: 'p', l7: [{ Method: 'GET', ToPorts: 'x' }] } }] }],
        egress: [{ toGroups: [{ aws: { SecurityGroupsIds: ['sg-1'], Labels: { Key: 'V' } } }] }],
        labels: [{ key: 'Role', value: 'HTTP', source: 'K8S' }],
        description: 'Keep CASE',
      },
    },
    {
      name: 'values are never touched (operator "in" stays for validation to reject)',
      given: { endpointSelector: { matchExpressions: [{ key: 'a', operator: 'in' }] }, ingress: [{ fromEntities: ['World'] }] },
      want: { endpointSelector: { matchExpressions: [{ key: 'a', operator: 'in' }] }, ingress: [{ fromEntities: ['World'] }] },
    },
    {
      name: 'unknown keys stay as written (schema validation rejects them)',
      given: { endpointSelector: {}, egress: [{ Auth: 'x', toPort: [] }], Mode: 'audit' },
      want: { endpointSelector: {}, egress: [{ Auth: 'x', toPort: [] }], Mode: 'audit' },
    },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    const result = normalize(given);
    expect(result.errors).toEqual([]);
    expect(result.value).toEqual(want);
  });

  it('does not modify its input', () => {
    const given = { EndpointSelector: { MatchLabels: { a: 'b' } } };
    normalize(given);
    expect(given).toEqual({ EndpointSelector: { MatchLabels: { a: 'b' } } });
  });

  it('rejects two keys of one object that mean the same field, pointing at the later key as written', () => {
    const result = normalize({ Egress: [{ toPorts: [{ rules: { HTTP: [{}], http: [{ method: 'GET' }] } }] }] });
    expect(result.errors).toEqual([{ pointer: '/Egress/0/toPorts/0/rules/http', message: 'duplicate field: "HTTP" and "http" both mean "http"', rule: 'duplicate-field' }]);
  });

  it('records renames so canonical pointers map back to the keys as written', () => {
    const result = normalize({ Egress: [{ ToPorts: [{ ports: [{ Port: 'x' }] }] }] });
    expect(toSourcePointer('/egress/0/toPorts/0/ports/0/port', result.renames)).toBe('/Egress/0/ToPorts/0/ports/0/Port');
    expect(toSourcePointer('/egress/0/unknown', result.renames)).toBe('/Egress/0/unknown');
    expect(toSourcePointer('', result.renames)).toBe('');
  });
});

describe('createRuleKeyNormalizer (injected schema)', () => {
  const document = {
    components: {
      schemas: {
        Thing: { type: 'object', properties: { name: { type: 'string' }, Name: { type: 'string' }, child: { $ref: '#/components/schemas/Child' } } },
        Child: { allOf: [{ properties: { fooBar: { type: 'string' } } }], properties: { tags: { type: 'object', additionalProperties: { type: 'string' } } } },
      },
    },
  };
  const normalize = createRuleKeyNormalizer({ document, schemaName: 'Thing' });
  it('prefers an exact match, then the first case-insensitive one (Go encoding/json)', () => {
    expect(normalize({ Name: 'exact' }).value).toEqual({ Name: 'exact' });
    expect(normalize({ NAME: 'folded' }).value).toEqual({ name: 'folded' });
  });
  it('follows $ref and allOf; map keys are data', () => {
    expect(normalize({ CHILD: { FOOBAR: 'x', Tags: { KeepMe: 'V' } } }).value).toEqual({ child: { fooBar: 'x', tags: { KeepMe: 'V' } } });
  });
  it('fails loudly on a schema that does not exist', () => {
    expect(() => createRuleKeyNormalizer({ document, schemaName: 'Nope' })).toThrow(/not found/);
  });
});
