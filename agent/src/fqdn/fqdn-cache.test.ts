import { describe, expect, it } from 'vitest';

import { FqdnCache } from './fqdn-cache.js';

const limits = { minTtlSeconds: 10, maxIpsPerName: 3, maxNamesPerEndpoint: 2 };

describe('FqdnCache', () => {
  it('keeps every IP of an answer for every name of its chain, and says what is new', () => {
    const c = new FqdnCache(limits);
    expect(c.learn('pod-a', ['www.example.com', 'cdn.example.net'], ['192.0.2.1', '2001:db8::1'], 30, 0)).toEqual({ added: 4, droppedIps: 0, droppedNames: 0 });
    expect(c.union()).toEqual([
      { name: 'cdn.example.net', ips: ['192.0.2.1', '2001:db8::1'] },
      { name: 'www.example.com', ips: ['192.0.2.1', '2001:db8::1'] },
    ]);
    // the same answer again adds nothing: no reprogramming needed
    expect(c.learn('pod-a', ['www.example.com', 'cdn.example.net'], ['192.0.2.1', '2001:db8::1'], 30, 1000).added).toBe(0);
    // another endpoint learning the same pairs adds nothing to the union either
    expect(c.learn('pod-b', ['www.example.com'], ['192.0.2.1'], 30, 1000).added).toBe(0);
  });

  it('keeps an IP max(TTL, minimum) and never shortens what an earlier answer granted', () => {
    const c = new FqdnCache(limits);
    c.learn('pod-a', ['a.example.com'], ['192.0.2.1'], 1, 0); // TTL 1 s < minimum 10 s
    expect(c.expire(9_999)).toBe(0);
    expect(c.union()).toHaveLength(1);
    c.learn('pod-a', ['a.example.com'], ['192.0.2.1'], 100, 0); // extends to 100 s
    c.learn('pod-a', ['a.example.com'], ['192.0.2.1'], 1, 5_000); // would end at 15 s: kept at 100 s
    expect(c.expire(50_000)).toBe(0);
    expect(c.nextExpiry()).toBe(100_000);
    expect(c.expire(100_000)).toBe(1);
    expect(c.union()).toEqual([]);
  });

  it('keeps an expired IP while a connection still uses it (zombie), drops it once that connection is gone', () => {
    const c = new FqdnCache(limits);
    c.learn('pod-a', ['a.example.com'], ['192.0.2.1', '192.0.2.2'], 10, 0);
    expect(c.zombies(5_000)).toEqual([]);
    const open = new Set(['192.0.2.2']);
    // one pair gone, one new zombie: both change what is compiled
    expect(c.expire(20_000, (ip) => open.has(ip))).toBe(2);
    expect(c.union()).toEqual([{ name: 'a.example.com', ips: ['192.0.2.2'] }]);
    expect(c.zombies(20_000)).toEqual(['192.0.2.2']);
    expect(c.expire(20_500, (ip) => open.has(ip))).toBe(0); // nothing new
    // learned again (a fresh answer): no longer a zombie
    c.learn('pod-b', ['b.example.com'], ['192.0.2.2'], 10, 20_500);
    expect(c.zombies(21_000)).toEqual([]);
    open.clear();
    expect(c.expire(40_000, (ip) => open.has(ip))).toBe(2);
    expect(c.union()).toEqual([]);
  });

  it('caps IPs per name (the soonest to expire give way) and names per endpoint, counting both', () => {
    const c = new FqdnCache(limits);
    c.learn('pod-a', ['a.example.com'], ['192.0.2.1'], 100, 0);
    const out = c.learn('pod-a', ['a.example.com'], ['192.0.2.2', '192.0.2.3', '192.0.2.4'], 200, 0);
    expect(out.droppedIps).toBe(1);
    expect(c.union()).toEqual([{ name: 'a.example.com', ips: ['192.0.2.2', '192.0.2.3', '192.0.2.4'] }]);
    c.learn('pod-a', ['b.example.com'], ['192.0.2.9'], 100, 0);
    const third = c.learn('pod-a', ['c.example.com'], ['192.0.2.10'], 100, 0);
    expect(third).toEqual({ added: 0, droppedIps: 0, droppedNames: 1 });
    expect(c.union().map((n) => n.name)).toEqual(['a.example.com', 'b.example.com']);
    // the cap is per endpoint: another pod may learn the name
    expect(c.learn('pod-b', ['c.example.com'], ['192.0.2.10'], 100, 0).added).toBe(1);
    expect(c.dropped).toEqual({ ips: 1, names: 1 });
  });

  it('survives a round trip through its JSON copy, and skips damaged parts of one', () => {
    const c = new FqdnCache(limits);
    c.learn('pod-a', ['a.example.com'], ['192.0.2.1'], 100, 1_000);
    const copy = FqdnCache.fromJSON(JSON.parse(JSON.stringify(c)), limits);
    expect(copy.union()).toEqual(c.union());
    expect(copy.nextExpiry()).toBe(101_000);
    const damaged = FqdnCache.fromJSON({ version: 1, endpoints: { 'pod-a': { 'a.example.com': { '192.0.2.1': 'soon' }, 'b.example.com': { '192.0.2.2': 5 } }, 'pod-b': 7 } }, limits);
    expect(damaged.union()).toEqual([{ name: 'b.example.com', ips: ['192.0.2.2'] }]);
    expect(FqdnCache.fromJSON(null, limits).union()).toEqual([]);
    expect(FqdnCache.fromJSON({ version: 2, endpoints: {} }, limits).union()).toEqual([]);
  });

  it('forgets an endpoint that is gone', () => {
    const c = new FqdnCache(limits);
    c.learn('pod-a', ['a.example.com'], ['192.0.2.1'], 100, 0);
    c.forget('pod-a');
    expect(c.union()).toEqual([]);
  });
});
