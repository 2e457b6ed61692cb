import { describe, expect, it } from 'vitest';
import { createRandom } from '../../test/helpers/flow-fixtures.js';
import { arrayElementSpans } from './array-element-spans.js';

/** Random JSON values with the characters a scanner can trip on: quotes, backslashes, brackets in strings, unicode. */
function randomValue(random: () => number, depth = 0): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const text = () => Array.from({ length: Math.floor(random() * 8) }, () => pick(['a', '"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\n', 'é', '😀', '\\"', '\u0001'])).join('');
  const kind = depth > 3 ? pick(['string', 'number', 'literal']) : pick(['string', 'number', 'literal', 'object', 'array']);
  switch (kind) {
    case 'string':
      return text();
    case 'number':
      return pick([0, -1, 3.25, 1e21, 123456789]);
    case 'literal':
      return pick([true, false, null]);
    case 'object':
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [text(), randomValue(random, depth + 1)]));
    default:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
  }
}

describe('arrayElementSpans', () => {
  it('finds each element of the named array, whatever the elements hold and however the text is formatted', () => {
    const random = createRandom(7);
    for (let round = 0; round < 300; round++) {
      const elements = Array.from({ length: Math.floor(random() * 6) }, () => randomValue(random));
      const body = { before: randomValue(random), summaries: elements, after: randomValue(random) };
      for (const text of [JSON.stringify(body), JSON.stringify(body, null, 2), ` \n${JSON.stringify(body, null, '\t')}\r\n`]) {
        const spans = arrayElementSpans(text, 'summaries')!;
        expect(spans.map((s) => JSON.parse(text.slice(s.start, s.end)))).toEqual(elements);
        expect(spans.map((s) => s.compactLength)).toEqual(elements.map((e) => JSON.stringify(e).length));
      }
    }
  });

  it('takes the last of duplicate keys and compares keys unescaped, as JSON.parse does', () => {
    const text = '{"summaries":[1],"x":{"summaries":[9]},"summ\\u0061ries":[2, {"a":[3]}]}';
    expect(arrayElementSpans(text, 'summaries')!.map((s) => text.slice(s.start, s.end))).toEqual(['2', '{"a":[3]}']);
  });

  it.each([
    { name: 'an empty array', text: '{"summaries": [ ]}', want: [] },
    { name: 'scalars next to the array', text: '{"n":-1.5e3,"t":true,"summaries":["a\\"]",null]}', want: ['"a\\"]"', 'null'] },
  ])('$name', ({ text, want }) => {
    expect(arrayElementSpans(text, 'summaries')!.map((s) => text.slice(s.start, s.end))).toEqual(want);
  });

  it.each([
    { name: 'the top level is an array', text: '[{"summaries":[1]}]' },
    { name: 'the key is missing', text: '{"other":[1]}' },
    { name: 'the key does not hold an array', text: '{"summaries":{"0":1}}' },
    { name: 'a later duplicate does not hold an array', text: '{"summaries":[1],"summaries":"none"}' },
  ])('undefined when $name', ({ text }) => {
    expect(arrayElementSpans(text, 'summaries')).toBeUndefined();
  });
});
