/**
 * The console's revision diff (console/src/views/policy-diff.ts): table-driven cases, then generated ones
 * checked against what any line diff must satisfy — the kept and removed lines rebuild the old side, the
 * kept and added lines the new side — and against an independent LCS length (memoised recursion) for
 * minimality.
 */
import { describe, expect, it } from 'vitest';
import { diffCounts, diffLines, MAX_LCS_CELLS, prettyCanonical, sideBySide, type DiffLine } from '../../console/src/views/policy-diff.js';
import { createRandom } from '../helpers/flow-fixtures.js';

const show = (lines: DiffLine[]) => lines.map((l) => `${l.kind === 'same' ? ' ' : l.kind === 'removed' ? '-' : '+'}${l.text}`);

describe('diffLines', () => {
  const cases: Array<{ name: string; before: string[]; after: string[]; want: string[] }> = [
    { name: 'equal', before: ['a', 'b'], after: ['a', 'b'], want: [' a', ' b'] },
    { name: 'both empty', before: [], after: [], want: [] },
    { name: 'added at the end', before: ['a'], after: ['a', 'b'], want: [' a', '+b'] },
    { name: 'removed in the middle', before: ['a', 'b', 'c'], after: ['a', 'c'], want: [' a', '-b', ' c'] },
    { name: 'changed line: old before new', before: ['a', 'b', 'c'], after: ['a', 'x', 'c'], want: [' a', '-b', '+x', ' c'] },
    { name: 'everything replaced', before: ['a', 'b'], after: ['c'], want: ['-a', '-b', '+c'] },
    { name: 'moved line', before: ['a', 'b', 'c'], after: ['b', 'c', 'a'], want: ['-a', ' b', ' c', '+a'] },
  ];
  for (const { name, before, after, want } of cases) {
    it(name, () => expect(show(diffLines(before, after))).toEqual(want));
  }

  it('numbers lines on each side', () => {
    expect(diffLines(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual([
      { kind: 'same', text: 'a', left: 1, right: 1 },
      { kind: 'removed', text: 'b', left: 2 },
      { kind: 'added', text: 'x', right: 2 },
      { kind: 'same', text: 'c', left: 3, right: 3 },
    ]);
  });

  it('generated inputs: rebuilds both sides with a longest common subsequence', () => {
    const random = createRandom(7);
    for (let round = 0; round < 300; round++) {
      const line = () => 'abcde'[Math.floor(random() * 5)]!;
      const before = Array.from({ length: Math.floor(random() * 12) }, line);
      const after = Array.from({ length: Math.floor(random() * 12) }, line);
      const lines = diffLines(before, after);
      expect(lines.filter((l) => l.kind !== 'added').map((l) => l.text)).toEqual(before);
      expect(lines.filter((l) => l.kind !== 'removed').map((l) => l.text)).toEqual(after);
      expect(lines.filter((l) => l.kind === 'same').length).toBe(lcsLength(before, after));
    }
  });

  it('beyond MAX_LCS_CELLS: all removed then all added, still a correct diff', () => {
    const size = Math.ceil(Math.sqrt(MAX_LCS_CELLS)) + 1;
    const before = ['head', ...Array.from({ length: size }, (_, i) => `a${i}`), 'tail'];
    const after = ['head', ...Array.from({ length: size }, (_, i) => `b${i}`), 'tail'];
    const lines = diffLines(before, after);
    expect(diffCounts(lines)).toEqual({ removed: size, added: size });
    expect(lines[0]).toEqual({ kind: 'same', text: 'head', left: 1, right: 1 });
    expect(lines.at(-1)).toEqual({ kind: 'same', text: 'tail', left: size + 2, right: size + 2 });
  });
});

describe('sideBySide', () => {
  it('pairs a run of removed lines with the added run after it; unchanged lines on both sides', () => {
    const rows = sideBySide(diffLines(['a', 'b', 'c', 'd'], ['a', 'x', 'd', 'e']));
    expect(rows.map((r) => [r.left ? `${r.left.line}${r.left.kind[0]}${r.left.text}` : '', r.right ? `${r.right.line}${r.right.kind[0]}${r.right.text}` : ''])).toEqual([
      ['1sa', '1sa'],
      ['2rb', '2ax'],
      ['3rc', ''],
      ['4sd', '3sd'],
      ['', '4ae'],
    ]);
  });
});

describe('prettyCanonical', () => {
  it('sorts keys at every level, keeps array order, two-space indents', () => {
    expect(prettyCanonical({ spec: { mode: 'audit', egress: [{ b: 1, a: 2 }] }, apiVersion: 'x' })).toBe(
      ['{', '  "apiVersion": "x",', '  "spec": {', '    "egress": [', '      {', '        "a": 2,', '        "b": 1', '      }', '    ],', '    "mode": "audit"', '  }', '}'].join('\n'),
    );
  });
  it('equal data, different key order: the same text', () => {
    expect(prettyCanonical({ a: 1, b: { c: 2, d: 3 } })).toBe(prettyCanonical({ b: { d: 3, c: 2 }, a: 1 }));
  });
});

function lcsLength(a: readonly string[], b: readonly string[]): number {
  const memo = new Map<string, number>();
  const go = (i: number, j: number): number => {
    if (i === a.length || j === b.length) return 0;
    const key = `${i},${j}`;
    let v = memo.get(key);
    if (v === undefined) {
      v = a[i] === b[j] ? 1 + go(i + 1, j + 1) : Math.max(go(i + 1, j), go(i, j + 1));
      memo.set(key, v);
    }
    return v;
  };
  return go(0, 0);
}
