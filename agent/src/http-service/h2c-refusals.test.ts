import { describe, expect, it } from 'vitest';

import { H2cRefusals } from './h2c-refusals.js';

describe('H2cRefusals', () => {
  const a = { policy: 'web-http', generation: 1, pointer: '/ingress/0' };
  const b = { policy: 'api-out', generation: 4, pointer: '/egress/1' };

  it('one entry per (policy, pointer, port); note says whether the report changed', () => {
    const r = new H2cRefusals();
    expect(r.entries()).toEqual([]);
    expect(r.note([a], 80)).toBe(true);
    expect(r.note([a], 80)).toBe(false); // the same connection kind again: nothing new
    expect(r.note([a, b], 80)).toBe(true);
    expect(r.note([a], 8080)).toBe(true);
    expect(r.entries().map((e) => [e.policy, e.pointer, /port (\d+)/.exec(e.reason)?.[1]])).toEqual([
      ['api-out', '/egress/1', '80'],
      ['web-http', '/ingress/0', '80'],
      ['web-http', '/ingress/0', '8080'],
    ]);
    expect(r.entries()[0]!.reason).toMatch(/HTTP\/2 cleartext \(h2c\).*refused.*HTTP\/1\.x only/);
  });

  it('retain keeps the entries of rules the compile still has (a new generation starts clean)', () => {
    const r = new H2cRefusals();
    r.note([a, b], 80);
    expect(r.retain([a, b])).toBe(false);
    expect(r.retain([{ ...a, generation: 2 }, b])).toBe(true);
    expect(r.entries().map((e) => e.policy)).toEqual(['api-out']);
  });
});
