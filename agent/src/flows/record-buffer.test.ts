import { describe, expect, it } from 'vitest';
import { RecordBuffer } from './record-buffer.js';

describe('RecordBuffer', () => {
  it('keeps up to max records between drains; beyond, counts them and reports once at the next drain', () => {
    const reports: number[] = [];
    const buffer = new RecordBuffer<number>(2, (n) => reports.push(n));
    for (const n of [1, 2, 3, 4]) buffer.keep(n);
    expect(buffer.size).toBe(2);
    expect(buffer.drain()).toEqual([1, 2]);
    expect(reports).toEqual([2]);
    buffer.keep(5);
    expect(buffer.drain()).toEqual([5]);
    expect(buffer.drain()).toEqual([]);
    expect(reports).toEqual([2]);
    for (const n of [6, 7, 8]) buffer.keep(n);
    expect(buffer.drain()).toEqual([6, 7]);
    expect(reports).toEqual([2, 1]);
    expect(buffer.dropped).toBe(3);
  });
});
