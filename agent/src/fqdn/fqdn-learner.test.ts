import { describe, expect, it } from 'vitest';

import { fqdnSelectorMatcher } from '../../../core/policy/rules/fqdn.js';
import { FqdnCache } from './fqdn-cache.js';
import { FqdnLearner } from './fqdn-learner.js';

/** The compiler's selection for endpoint identity 7 (createFqdnLearner's shape): these selectors. */
const selection = (selectors: Array<{ matchName?: string; matchPattern?: string }>) => {
  const matchers = selectors.map((s) => fqdnSelectorMatcher(s));
  return (localId: number, name: string) => localId === 7 && matchers.some((m) => m(name));
};
const podA = { key: 'pod-a', identity: 7 };
const podB = { key: 'pod-b', identity: 7 };

/** A programming the test finishes by hand, counting starts. */
function manualProgram() {
  const started: Array<{ names: string[]; done: () => void; fail: (e: Error) => void }> = [];
  let cache: FqdnCache | undefined;
  return {
    started,
    bind: (c: FqdnCache) => (cache = c),
    program: () =>
      new Promise<void>((done, fail) => {
        started.push({ names: cache!.union().map((n) => n.name), done: () => done(), fail });
      }),
  };
}

/** A learner over a fresh cache whose programmings the test finishes by hand. */
function manualLearner(selectors: Array<{ matchName?: string; matchPattern?: string }>) {
  const cache = new FqdnCache();
  const m = manualProgram();
  m.bind(cache);
  const learner = new FqdnLearner({ cache, program: m.program, now: () => 0 });
  learner.setSelection(selection(selectors));
  return { learner, m };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('FqdnLearner', () => {
  it('resolves only after a programming that includes the answer', async () => {
    const { learner, m } = manualLearner([{ matchPattern: '*.example.com' }]);
    let released = false;
    const p = learner.learn(podA, { names: ['WWW.Example.com.'], ips: ['192.0.2.1'], ttl: 30 }).then(() => (released = true));
    await tick();
    expect(m.started).toHaveLength(1);
    expect(m.started[0]!.names).toEqual(['www.example.com']);
    expect(released).toBe(false);
    m.started[0]!.done();
    await p;
    expect(released).toBe(true);
  });

  it('keeps only names a selector matches; an answer with none, or nothing new, needs no programming', async () => {
    const { learner, m } = manualLearner([{ matchName: 'cdn.example.net' }]);
    // a CNAME chain www.example.com → cdn.example.net: only the selected name is kept
    const first = learner.learn(podA, { names: ['www.example.com', 'cdn.example.net'], ips: ['192.0.2.1'], ttl: 30 });
    await tick();
    m.started[0]!.done();
    expect((await first).added).toBe(1);
    expect(learner.names()).toEqual([{ name: 'cdn.example.net', ips: ['192.0.2.1'] }]);
    expect((await learner.learn(podA, { names: ['other.example.org'], ips: ['192.0.2.7'], ttl: 30 })).added).toBe(0);
    expect((await learner.learn(podA, { names: ['cdn.example.net'], ips: ['192.0.2.1'], ttl: 30 })).added).toBe(0);
    expect(m.started).toHaveLength(1);
  });

  it('learns arriving while a programming is queued share it; later ones get their own', async () => {
    const { learner, m } = manualLearner([{ matchPattern: '*' }]);
    const a = learner.learn(podA, { names: ['a.example.com'], ips: ['192.0.2.1'], ttl: 30 });
    await tick();
    expect(m.started).toHaveLength(1); // running: b and c must wait for the next one
    const b = learner.learn(podA, { names: ['b.example.com'], ips: ['192.0.2.2'], ttl: 30 });
    const c = learner.learn(podB, { names: ['c.example.com'], ips: ['192.0.2.3'], ttl: 30 });
    m.started[0]!.done();
    await a;
    await tick();
    expect(m.started).toHaveLength(2);
    expect(m.started[1]!.names).toEqual(['a.example.com', 'b.example.com', 'c.example.com']);
    m.started[1]!.done();
    await Promise.all([b, c]);
    expect(m.started).toHaveLength(2);
  });

  it('a failed programming rejects the learn (the proxy answers SERVFAIL); the next one starts afresh', async () => {
    const { learner, m } = manualLearner([{ matchPattern: '*' }]);
    const a = learner.learn(podA, { names: ['a.example.com'], ips: ['192.0.2.1'], ttl: 30 });
    await tick();
    m.started[0]!.fail(new Error('apply failed'));
    await expect(a).rejects.toThrow('apply failed');
    const b = learner.learn(podA, { names: ['b.example.com'], ips: ['192.0.2.2'], ttl: 30 });
    await tick();
    m.started[1]!.done();
    await expect(b).resolves.toMatchObject({ added: 1 });
  });

  it('expiry re-programs only when the union changed', async () => {
    let now = 0;
    const cache = new FqdnCache({ minTtlSeconds: 1, maxIpsPerName: 10, maxNamesPerEndpoint: 10 });
    let programs = 0;
    const learner = new FqdnLearner({ cache, program: async () => void (programs += 1), now: () => now });
    learner.setSelection(selection([{ matchPattern: '*' }]));
    await learner.learn(podA, { names: ['a.example.com'], ips: ['192.0.2.1'], ttl: 5 });
    expect(programs).toBe(1);
    now = 1_000;
    expect(await learner.expire(() => false)).toBe(0);
    expect(programs).toBe(1);
    now = 6_000;
    expect(await learner.expire(() => false)).toBe(1);
    expect(programs).toBe(2);
    expect(learner.names()).toEqual([]);
  });
});

describe('FqdnLearner selection', () => {
  it('keeps a name only for endpoint identities whose selection has it', async () => {
    const cache = new FqdnCache();
    let programs = 0;
    const learner = new FqdnLearner({ cache, program: async () => void (programs += 1), now: () => 0 });
    learner.setSelection(selection([{ matchPattern: '*.example.com' }]));
    expect((await learner.learn({ key: 'other', identity: 8 }, { names: ['a.example.com'], ips: ['192.0.2.1'], ttl: 30 })).added).toBe(0);
    expect(programs).toBe(0);
    expect((await learner.learn(podA, { names: ['a.example.com'], ips: ['192.0.2.1'], ttl: 30 })).added).toBe(1);
    expect(programs).toBe(1);
  });
});
