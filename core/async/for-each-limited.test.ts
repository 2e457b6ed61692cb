import { describe, expect, it } from 'vitest';
import { forEachLimited } from './for-each-limited.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('forEachLimited', () => {
  it('runs every item, never more than the limit at once, starting in order', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await forEachLimited([0, 1, 2, 3, 4, 5, 6], 3, async (item, index) => {
      expect(item).toBe(index);
      started.push(item);
      peak = Math.max(peak, ++running);
      await tick();
      running--;
    });
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(3);
  });

  it('stops starting items after the first failure, waits for the running ones, then throws that failure', async () => {
    const finished: number[] = [];
    const started: number[] = [];
    const run = forEachLimited([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      await tick();
      if (item === 1) throw new Error('first');
      if (item === 2) throw new Error('second');
      finished.push(item);
    });
    await expect(run).rejects.toThrow('first');
    expect(started).toEqual([0, 1, 2]);
    expect(finished).toEqual([0]);
  });

  it('does nothing for no items, and treats a limit below 1 as 1', async () => {
    await forEachLimited([], 4, async () => {
      throw new Error('never');
    });
    const seen: string[] = [];
    await forEachLimited(['a', 'b'], 0, async (item) => void seen.push(item));
    expect(seen).toEqual(['a', 'b']);
  });
});
