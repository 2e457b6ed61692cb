import { describe, expect, it } from 'vitest';
import { parseGoDuration } from './go-duration.js';

describe('parseGoDuration', () => {
  const ok: Array<[string, number]> = [
    ['0', 0], ['5m', 300e9], ['24h0m0s', 86400e9], ['1.5h', 5400e9], ['300ms', 300e6], ['1h30m', 5400e9],
    ['2us', 2000], ['2µs', 2000], ['2μs', 2000], ['10ns', 10], ['-5m', -300e9], ['+5s', 5e9], ['.5s', 0.5e9], ['1.s', 1e9],
  ];
  it.each(ok)('%s', (given, want) => {
    expect(parseGoDuration(given)).toBe(want);
  });
  it.each(['', '5', 'm', '5 m', '5d', '1h 30m', '.s', '5M', '--5m', 'h5'])('rejects "%s"', (given) => {
    expect(typeof parseGoDuration(given)).toBe('string');
  });
});
