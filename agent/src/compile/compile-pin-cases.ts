/**
 * The inputs the compile pin fixes compileBundle's output for (scripts/generate-compile-pin.ts writes
 * testdata/compile-pin.golden.json, compile-pin.test.ts checks it): the sample bundles, the given/want
 * tables of compile-bundle, compile-dns and compile-http tests (with the inputs those tests compile),
 * and randomBundle(seed) for seeds 1..RANDOM_PIN_SEEDS.
 *
 * Contract: names are unique (`<group>: <case name>`, a repeated case name gets ` #2`, ` #3`, …) and the
 * order is fixed (groups in PIN_GROUPS order, cases in table order, seeds ascending).
 */
import { cases as bundleCases, importNp, npCases } from './compile-bundle-cases.js';
import { cases as dnsCases, proxyInput } from './compile-dns-cases.js';
import { cases as httpCases, httpInput } from './compile-http-cases.js';
import { randomBundle } from './random-bundles.js';
import { BOTH_PROXIES, DNS_SAMPLE, HTTP_SAMPLE, PROXY, SAMPLE } from './sample-bundles.js';
import { input } from './test-cluster.js';
import type { CompileInput } from './types.js';

export const PIN_GROUPS = ['samples', 'compile-bundle', 'compile-dns', 'compile-http', 'random'] as const;
export type PinGroup = (typeof PIN_GROUPS)[number];

export const RANDOM_PIN_SEEDS = 200;

export interface PinCase {
  group: PinGroup;
  name: string;
  input: CompileInput;
}

export function listPinCases(): PinCase[] {
  const raw: Array<[PinGroup, string, CompileInput]> = [
    ['samples', 'SAMPLE', input(SAMPLE)],
    ['samples', 'SAMPLE + DNS_SAMPLE with the DNS proxy', input([...SAMPLE, ...DNS_SAMPLE], PROXY)],
    ['samples', 'SAMPLE + DNS_SAMPLE + HTTP_SAMPLE with both proxies', input([...SAMPLE, ...DNS_SAMPLE, ...HTTP_SAMPLE], BOTH_PROXIES)],
    ['samples', 'SAMPLE + DNS_SAMPLE + HTTP_SAMPLE without proxies', input([...SAMPLE, ...DNS_SAMPLE, ...HTTP_SAMPLE])],
    ...bundleCases.map((c): [PinGroup, string, CompileInput] => ['compile-bundle', c.name, input(c.given, c.o)]),
    ...npCases.map((c): [PinGroup, string, CompileInput] => ['compile-bundle', `imported NetworkPolicy: ${c.name}`, input([importNp(c.given)])]),
    ...dnsCases.map((c): [PinGroup, string, CompileInput] => ['compile-dns', c.name, proxyInput(c.given, c.learned ?? [], c.o)]),
    ...httpCases.map((c): [PinGroup, string, CompileInput] => ['compile-http', c.name, httpInput(c.given, c.o)]),
    ...Array.from({ length: RANDOM_PIN_SEEDS }, (_, i): [PinGroup, string, CompileInput] => {
      const { policies, options } = randomBundle(i + 1);
      return ['random', `randomBundle(${i + 1})`, input(policies, options)];
    }),
  ];
  const seen = new Map<string, number>();
  return raw.map(([group, caseName, compileInput]) => {
    const base = `${group}: ${caseName}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { group, name: n === 1 ? base : `${base} #${n}`, input: compileInput };
  });
}
