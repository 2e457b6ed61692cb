import { describe, expect, it } from 'vitest';
import { chunkSummaries } from './chunk-summaries.js';

const item = (size: number) => ({ pad: 'x'.repeat(size) });

describe('chunkSummaries', () => {
  it.each([
    { name: 'empty', given: [] as Array<{ pad: string }>, maxItems: 3, maxBytes: 1000, want: [] as number[][] },
    { name: 'by count', given: Array.from({ length: 7 }, () => item(1)), maxItems: 3, maxBytes: 1000, want: [[0, 3], [3, 3], [6, 1]] },
    { name: 'by bytes', given: Array.from({ length: 5 }, () => item(40)), maxItems: 100, maxBytes: 110, want: [[0, 2], [2, 2], [4, 1]] },
    { name: 'an oversized item gets a chunk of its own', given: [item(1), item(500), item(1)], maxItems: 100, maxBytes: 100, want: [[0, 1], [1, 1], [2, 1]] },
  ])('$name', ({ given, maxItems, maxBytes, want }) => {
    const chunks = chunkSummaries(given, maxItems, maxBytes);
    expect(chunks.map((c) => [c.first, c.items.length])).toEqual(want);
    expect(chunks.map((c) => c.index)).toEqual(want.map((_, i) => i));
    expect(chunks.flatMap((c) => c.items)).toEqual(given);
    expect(chunks.map((c) => JSON.parse(c.json))).toEqual(chunks.map((c) => c.items));
  });

  it('is deterministic', () => {
    const given = Array.from({ length: 1234 }, (_, i) => item(i % 300));
    expect(chunkSummaries(given)).toEqual(chunkSummaries(given));
  });
});
