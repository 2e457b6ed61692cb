import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  const cases: Array<{ name: string; given: unknown; want: string }> = [
    { name: 'sorts keys recursively', given: { b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } }, want: '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}' },
    { name: 'keeps array order', given: [3, 1, 2], want: '[3,1,2]' },
    { name: 'drops undefined properties', given: { a: undefined, b: null }, want: '{"b":null}' },
    { name: 'undefined in arrays is null', given: [undefined], want: '[null]' },
    { name: 'non-finite numbers are null', given: [NaN, Infinity], want: '[null,null]' },
    { name: 'escapes strings', given: { 'k"': 'line\nbreak' }, want: '{"k\\"":"line\\nbreak"}' },
    { name: 'top-level undefined', given: undefined, want: 'null' },
    { name: 'honours toJSON', given: { t: new Date(0) }, want: '{"t":"1970-01-01T00:00:00.000Z"}' },
    { name: 'code unit key order', given: { b: 1, B: 2, a: 3, '10': 4, '9': 5 }, want: '{"10":4,"9":5,"B":2,"a":3,"b":1}' },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    expect(canonicalJson(given)).toBe(want);
  });

  it('is insensitive to key insertion order', () => {
    expect(canonicalJson({ x: 1, y: { p: 1, q: 2 } })).toBe(canonicalJson({ y: { q: 2, p: 1 }, x: 1 }));
  });

  it('rejects cycles and bigint', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cyclic/);
    expect(() => canonicalJson({ n: 1n })).toThrow(/bigint/);
  });

  it('allows shared (non-cyclic) references', () => {
    const shared = { a: 1 };
    expect(canonicalJson([shared, shared])).toBe('[{"a":1},{"a":1}]');
  });
});
