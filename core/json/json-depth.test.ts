import { describe, expect, it } from 'vitest';
import { findTooDeep } from './json-depth.js';

const nest = (n: number): unknown => JSON.parse('['.repeat(n) + ']'.repeat(n));

describe('findTooDeep', () => {
  it.each([
    { name: 'a scalar', given: 1, max: 0, want: undefined },
    { name: 'an empty array at the limit', given: [], max: 1, want: undefined },
    { name: 'an empty array over a limit of 0', given: [], max: 0, want: '' },
    { name: '64 arrays at 64', given: nest(64), max: 64, want: undefined },
    { name: '65 arrays at 64', given: nest(65), max: 64, want: '/0'.repeat(64) },
    { name: 'the first too-deep branch in document order', given: { a: 1, 'b/c': [{}], d: [[[]]] }, max: 2, want: '/b~1c/0' },
    { name: 'objects and arrays mixed', given: { spec: { ingress: [{ x: [] }] } }, max: 4, want: '/spec/ingress/0/x' },
  ])('$name → $want', ({ given, max, want }) => expect(findTooDeep(given, max)).toBe(want));

  it('walks 100,000 levels without recursion', () => expect(findTooDeep(nest(100_000))).toBe('/0'.repeat(64)));
});
