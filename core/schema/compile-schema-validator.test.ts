import { describe, expect, it } from 'vitest';
import { createSchemaValidator } from './compile-schema-validator.js';

describe('createSchemaValidator', () => {
  const validatePolicy = createSchemaValidator('NetworkPolicy');
  const base = {
    apiVersion: 'fleetnet.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'p' },
    spec: { endpointSelector: {}, ingress: [{}] },
  };
  const cases: Array<{ name: string; given: unknown; want: Array<{ pointer: string; rule: string }> }> = [
    { name: 'valid', given: base, want: [] },
    {
      name: 'unknown field inside a rule (unevaluatedProperties)',
      given: { ...base, spec: { endpointSelector: {}, egress: [{ toEndpoints: [{}], auth: { type: 'null' } }] } },
      want: [{ pointer: '/spec/egress/0/auth', rule: 'unevaluatedProperties' }],
    },
    {
      name: 'unknown field in a selector (additionalProperties)',
      given: { ...base, spec: { endpointSelector: { role: 'x' } } },
      want: [{ pointer: '/spec/endpointSelector/role', rule: 'additionalProperties' }],
    },
    {
      name: 'missing required field',
      given: { ...base, spec: { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ protocol: 'TCP' }] }] }] } },
      want: [{ pointer: '/spec/egress/0/toPorts/0/ports/0/port', rule: 'required' }],
    },
    {
      name: 'enum',
      given: { ...base, spec: { endpointSelector: { matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] } } },
      want: [{ pointer: '/spec/endpointSelector/matchExpressions/0/operator', rule: 'enum' }],
    },
    {
      name: 'bad name and kind together (allErrors)',
      given: { ...base, kind: 'Pod', metadata: { name: 'Bad_Name' } },
      want: [
        { pointer: '/kind', rule: 'const' },
        { pointer: '/metadata/name', rule: 'pattern' },
      ],
    },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    const got = validatePolicy(given).map((e) => ({ pointer: e.pointer, rule: e.rule }));
    expect(got).toEqual(expect.arrayContaining(want));
    expect(got).toHaveLength(want.length);
  });

  it('prefixes a base pointer', () => {
    const errors = createSchemaValidator('LabelSelector')({ matchLabels: { a: 1 } }, '/query/labelSelector');
    expect(errors[0]?.pointer).toBe('/query/labelSelector/matchLabels/a');
  });

  it('validates formats (date-time)', () => {
    const errors = createSchemaValidator('NodeCondition')({ type: 'Programmed', status: 'True', lastTransitionTime: 'yesterday' });
    expect(errors.map((e) => e.rule)).toEqual(['format']);
  });

  it('throws for an unknown schema', () => {
    expect(() => createSchemaValidator('NoSuchSchema' as 'Health')).toThrow(/NoSuchSchema/);
  });
});
