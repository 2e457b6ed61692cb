/**
 * compileBundle, table-driven: given policies over the test cluster (test-cluster.ts: local pods
 * web@shop (ifindex 11) and db@shop (12); peers also web@shop (2 replicas), client@other, web@other;
 * every pod but web@other dual-stack, nodes n1 (local) and n2 dual-stack; namespace labels shop
 * team=red, other team=blue), want the rendered map entries. Only the fields a case names are
 * compared; `o` overrides inputs (e.g. kube-apiserver addresses).
 */
import { describe, expect, it } from 'vitest';

import { compileBundle } from './compile-bundle.js';
import { input, render, type Rendered } from './test-cluster.js';
import { cases, importNp, npCases } from './compile-bundle-cases.js';

describe('compileBundle', () => {
  it.each(cases)('$name', ({ given, o, want }) => {
    const got = render(compileBundle(input(given, o)));
    const sorted = (r: Partial<Rendered>): Partial<Rendered> =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 'policy' ? [...v].sort() : v]));
    const picked = Object.fromEntries(Object.keys(want).map((k) => [k, got[k as keyof Rendered]]));
    expect(sorted(picked)).toEqual(sorted(want));
  });
});

describe('compileBundle: imported Kubernetes NetworkPolicies keep their meaning', () => {
  it.each(npCases)('$name', ({ given, want }) => {
    const got = render(compileBundle(input([importNp(given)])));
    const picked = Object.fromEntries(Object.keys(want).map((k) => [k, k === 'policy' ? [...got.policy].sort() : got[k as keyof Rendered]]));
    expect(picked).toEqual({ ...want, ...(want.policy ? { policy: [...want.policy].sort() } : {}) });
  });
});
