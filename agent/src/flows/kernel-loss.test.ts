import { describe, expect, it } from 'vitest';
import { kernelLossDelta, type KernelLossCounters } from './kernel-loss.js';

const c = (lostPackets: number, lostBytes: number, lostFlows: number): KernelLossCounters => ({ lostPackets, lostBytes, lostFlows });

describe('kernelLossDelta', () => {
  it.each([
    { name: 'no previous value: everything so far', previous: undefined, current: c(5, 500, 1), want: { packets: 5, bytes: 500, flows: 1 } },
    { name: 'growth: the difference', previous: c(5, 500, 1), current: c(12, 1700, 1), want: { packets: 7, bytes: 1200, flows: 0 } },
    { name: 'unchanged: nothing', previous: c(5, 500, 1), current: c(5, 500, 1), want: { packets: 0, bytes: 0, flows: 0 } },
    { name: 'a counter went down (maps re-created): the whole current value', previous: c(5, 500, 1), current: c(9, 400, 1), want: { packets: 9, bytes: 400, flows: 1 } },
    { name: 'back to zero', previous: c(5, 500, 1), current: c(0, 0, 0), want: { packets: 0, bytes: 0, flows: 0 } },
  ])('$name', ({ previous, current, want }) => {
    expect(kernelLossDelta(previous, current)).toEqual(want);
  });
});
