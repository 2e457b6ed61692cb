/**
 * The compile pin: compileBundle's whole output (CompiledState) for every case of compile-pin-cases.ts
 * (sample bundles, the compile-bundle/-dns/-http tables, randomBundle seeds) equals the golden
 * testdata/compile-pin.golden.json, so a refactor of the compiler changes no output unnoticed.
 *
 * Regenerate with `npx tsx scripts/generate-compile-pin.ts` — legitimate only for an intended change
 * of the compiler's output, stated in the commit that carries the new golden. This test never writes
 * the golden; a missing golden fails.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { compileBundle } from './compile-bundle.js';
import { listPinCases, PIN_GROUPS } from './compile-pin-cases.js';

const GOLDEN = fileURLToPath(new URL('./testdata/compile-pin.golden.json', import.meta.url));

interface PinEntry {
  name: string;
  output: unknown;
}

let golden: Map<string, unknown> | undefined;
function readGolden(): Map<string, unknown> {
  if (!golden) {
    expect(existsSync(GOLDEN), `${GOLDEN} is missing: generate it with \`npx tsx scripts/generate-compile-pin.ts\` at a commit whose output is right`).toBe(true);
    const entries = JSON.parse(readFileSync(GOLDEN, 'utf8')) as PinEntry[];
    golden = new Map(entries.map((e) => [e.name, e.output]));
  }
  return golden;
}

const CASES = listPinCases();

describe('compile pin (testdata/compile-pin.golden.json)', () => {
  it('pins exactly the listed cases', () => {
    expect([...readGolden().keys()]).toEqual(CASES.map((c) => c.name));
  });

  it.each(PIN_GROUPS)('%s: every case compiles to its pinned output', (group) => {
    const want = readGolden();
    const cases = CASES.filter((c) => c.group === group);
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      expect(want.has(c.name), `${c.name}: not in the golden`).toBe(true);
      // JSON round trip: the golden holds what JSON keeps (absent optional fields stay absent)
      const got: unknown = JSON.parse(JSON.stringify(compileBundle(c.input)));
      if (!isDeepStrictEqual(got, want.get(c.name))) {
        expect(got, `first differing case: ${c.name}`).toEqual(want.get(c.name));
      }
    }
  });
});
