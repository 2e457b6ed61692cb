import { describe, expect, it } from 'vitest';
import type { LabelSelector } from '../../openapi/types.js';
import { matchesLabelSelector, parseLabelSelectorQuery, validateLabelSelector } from './label-selector.js';

describe('matchesLabelSelector', () => {
  const labels = { env: 'prod', tier: 'web', team: 'a' };
  const cases: Array<{ name: string; given: LabelSelector | undefined; want: boolean }> = [
    { name: 'undefined matches everything', given: undefined, want: true },
    { name: 'empty matches everything', given: {}, want: true },
    { name: 'matchLabels hit', given: { matchLabels: { env: 'prod' } }, want: true },
    { name: 'matchLabels miss', given: { matchLabels: { env: 'dev' } }, want: false },
    { name: 'matchLabels absent key', given: { matchLabels: { zone: 'a' } }, want: false },
    { name: 'In hit', given: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['api', 'web'] }] }, want: true },
    { name: 'In absent key', given: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, want: false },
    { name: 'NotIn listed', given: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, want: false },
    { name: 'NotIn absent key matches', given: { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, want: true },
    { name: 'Exists', given: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, want: true },
    { name: 'DoesNotExist', given: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, want: false },
    {
      name: 'labels and expressions are ANDed',
      given: { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['api'] }] },
      want: false,
    },
    {
      name: 'unknown operator fails closed',
      given: { matchExpressions: [{ key: 'env', operator: 'in' as 'In', values: ['prod'] }] },
      want: false,
    },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    expect(matchesLabelSelector(given, labels)).toBe(want);
  });
});

describe('parseLabelSelectorQuery', () => {
  const ok: Array<{ given: string; want: LabelSelector }> = [
    { given: '', want: {} },
    { given: 'a=b', want: { matchLabels: { a: 'b' } } },
    { given: 'a==b', want: { matchLabels: { a: 'b' } } },
    { given: 'a=', want: { matchLabels: { a: '' } } },
    {
      given: 'a=b,c!=d,e in (x,y),f notin (z),g,!h',
      want: {
        matchLabels: { a: 'b' },
        matchExpressions: [
          { key: 'c', operator: 'NotIn', values: ['d'] },
          { key: 'e', operator: 'In', values: ['x', 'y'] },
          { key: 'f', operator: 'NotIn', values: ['z'] },
          { key: 'g', operator: 'Exists' },
          { key: 'h', operator: 'DoesNotExist' },
        ],
      },
    },
    { given: ' env = prod , tier in ( web , api ) ', want: { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] } },
    { given: 'a=b,a=c', want: { matchLabels: { a: 'b' }, matchExpressions: [{ key: 'a', operator: 'In', values: ['c'] }] } },
    { given: 'topology.kubernetes.io/region=westeurope', want: { matchLabels: { 'topology.kubernetes.io/region': 'westeurope' } } },
  ];
  it.each(ok)('parses "$given"', ({ given, want }) => {
    expect(parseLabelSelectorQuery(given)).toEqual({ selector: want });
  });

  const bad: Array<{ given: string; want: RegExp }> = [
    { given: 'a in ()', want: /at least one value/ },
    { given: 'a in (x', want: /expected "," or "\)"/ },
    { given: 'a in x', want: /expected "\("/ },
    { given: ',a', want: /expected a label key/ },
    { given: 'a,', want: /requirement after ","/ },
    { given: 'a b', want: /expected an operator/ },
    { given: '!', want: /after "!"/ },
    { given: 'a=b c', want: /between requirements/ },
    { given: '-bad-=x', want: /label key "-bad-"/ },
    { given: 'a=bad value!', want: /./ },
    { given: 'k8s:app=x', want: /must not contain ":"/ },
  ];
  it.each(bad)('rejects "$given"', ({ given, want }) => {
    const got = parseLabelSelectorQuery(given, '/query/labelSelector');
    expect('errors' in got).toBe(true);
    if ('errors' in got) {
      expect(got.errors[0]?.pointer).toBe('/query/labelSelector');
      expect(got.errors[0]?.message).toMatch(want);
    }
  });
});

describe('validateLabelSelector', () => {
  const cases: Array<{ name: string; given: LabelSelector; allowSource?: boolean; want: string[] }> = [
    { name: 'valid', given: { matchLabels: { app: 'web', 'example.com/tier': 'a' } }, want: [] },
    { name: 'In without values', given: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, want: ['/s/matchExpressions/0/values'] },
    { name: 'NotIn without values', given: { matchExpressions: [{ key: 'a', operator: 'NotIn' }] }, want: ['/s/matchExpressions/0/values'] },
    { name: 'Exists with values', given: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, want: ['/s/matchExpressions/0/values'] },
    { name: 'bad key', given: { matchExpressions: [{ key: 'Bad_/x', operator: 'Exists' }] }, want: ['/s/matchExpressions/0/key'] },
    { name: 'bad value', given: { matchLabels: { app: 'a b' } }, want: ['/s/matchLabels/app'] },
    { name: 'slash in key is escaped', given: { matchLabels: { 'a.io/x': '-' } }, want: ['/s/matchLabels/a.io~1x'] },
    { name: 'source prefix rejected by default', given: { matchLabels: { 'k8s:app': 'x' } }, want: ['/s/matchLabels/k8s:app'] },
    { name: 'source prefix allowed for endpoints', allowSource: true, given: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'x', 'reserved:health': '' } }, want: [] },
    { name: 'unknown source', allowSource: true, given: { matchLabels: { 'k9s:app': 'x' } }, want: ['/s/matchLabels/k9s:app'] },
    {
      name: 'namespace label keys embed a whole key',
      allowSource: true,
      given: { matchLabels: { 'k8s:io.cilium.k8s.namespace.labels.a-rather-long-namespace-label-name-of-fifty-chars': 'x' } },
      want: [],
    },
  ];
  it.each(cases)('$name', ({ given, allowSource, want }) => {
    expect(validateLabelSelector(given, '/s', { allowSourcePrefix: allowSource ?? false }).map((e) => e.pointer)).toEqual(want);
  });
});
