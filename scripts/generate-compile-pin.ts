/**
 * Writes agent/src/compile/testdata/compile-pin.golden.json: compileBundle's whole output (CompiledState)
 * for every case of agent/src/compile/compile-pin-cases.ts, checked by compile-pin.test.ts.
 *
 *   npx tsx scripts/generate-compile-pin.ts
 *
 * Regenerate only for an intended change of the compiler's output, and say so in the commit.
 * Format: a JSON array, one `{"name","output"}` entry per line, in listPinCases() order.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { compileBundle } from '../agent/src/compile/compile-bundle.js';
import { listPinCases } from '../agent/src/compile/compile-pin-cases.js';

const GOLDEN = fileURLToPath(new URL('../agent/src/compile/testdata/compile-pin.golden.json', import.meta.url));

const lines = listPinCases().map((c) => JSON.stringify({ name: c.name, output: compileBundle(c.input) }));
const text = `[\n${lines.join(',\n')}\n]\n`;
writeFileSync(GOLDEN, text);
console.log(`wrote ${GOLDEN}: ${lines.length} cases, ${text.length} bytes`);
