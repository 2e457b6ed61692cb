import { describe, expect, it } from 'vitest';
import { addToRanges, gapsBetween, mergeRanges, rangesContain, type SequenceRange } from './sequence-ranges.js';

describe('sequence ranges', () => {
  it.each<{ given: SequenceRange[][]; want: SequenceRange[] }>([
    { given: [], want: [] },
    { given: [[[1, 1]], [[2, 2]]], want: [[1, 2]] },
    { given: [[[5, 9]], [[1, 3]]], want: [[1, 3], [5, 9]] },
    { given: [[[1, 5], [3, 8]], [[10, 10]]], want: [[1, 8], [10, 10]] },
    { given: [[[0, 0], [2, 2], [1, 1]]], want: [[0, 2]] },
  ])('merge $given', ({ given, want }) => {
    expect(mergeRanges(...given)).toEqual(want);
  });

  it.each<{ ranges: SequenceRange[]; seq: number; want: SequenceRange[] }>([
    { ranges: [], seq: 4, want: [[4, 4]] },
    { ranges: [[1, 3]], seq: 4, want: [[1, 4]] },
    { ranges: [[1, 3], [5, 6]], seq: 4, want: [[1, 6]] },
    { ranges: [[1, 3]], seq: 2, want: [[1, 3]] },
  ])('add $seq to $ranges', ({ ranges, seq, want }) => {
    expect(addToRanges(ranges, seq)).toEqual(want);
  });

  it.each<{ ranges: SequenceRange[]; want: Array<{ from: number; to: number }> }>([
    { ranges: [], want: [] },
    { ranges: [[0, 10]], want: [] },
    { ranges: [[0, 3], [5, 5], [9, 12]], want: [{ from: 4, to: 4 }, { from: 6, to: 8 }] },
  ])('gaps of $ranges', ({ ranges, want }) => {
    expect(gapsBetween(ranges)).toEqual(want);
  });

  it('contains', () => {
    expect([0, 1, 3, 4, 7].map((n) => rangesContain([[1, 3], [5, 6]], n))).toEqual([false, true, true, false, false]);
  });
});
