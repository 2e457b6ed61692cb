import { describe, expect, it } from 'vitest';
import { compileSafeRegex } from './safe-regex.js';

function test(pattern: string, text: string): boolean {
  const compiled = compileSafeRegex(pattern);
  if ('error' in compiled) throw new Error(compiled.error);
  return compiled.test(text);
}

describe('compileSafeRegex: matches as RE2 MatchString (unanchored, case-insensitive here)', () => {
  it.each<[string, string, boolean]>([
    ['github', 'api.github.com.', true],
    ['gitlab', 'api.github.com.', false],
    ['^api\\.', 'api.github.com.', true],
    ['^github', 'api.github.com.', false],
    ['\\.com\\.$', 'api.github.com.', true],
    ['\\.com$', 'api.github.com.', false],
    ['^$', '', true],
    ['$^', '', true],
    ['$^', 'a', false],
    ['a$|^b', 'xa', true],
    ['a$|^b', 'xb', false],
    ['', 'anything.', true],
    ['a.c', 'xabcx', true],
    ['a\\.c', 'abc', false],
    ['a\\.c', 'a.c', true],
    ['^(api|www)\\.example\\.com\\.$', 'www.example.com.', true],
    ['^(api|www)\\.example\\.com\\.$', 'ftp.example.com.', false],
    ['^(?:a|b)+$', 'abba', true],
    ['^(?:a|b)+$', 'abca', false],
    ['^[a-z0-9-]+\\.svc\\.cluster\\.local\\.$', 'kube-dns.svc.cluster.local.', true],
    ['^[^.]+\\.com\\.$', 'a.b.com.', false],
    ['^[^.]+\\.com\\.$', 'ab.com.', true],
    ['^\\d{3}\\.', '123.x', true],
    ['^\\d{3}\\.', '12.x', false],
    ['^a{2,3}$', 'aaa', true],
    ['^a{2,3}$', 'aaaa', false],
    ['^a{2,}$', 'aaaaaa', true],
    ['^a{2,}$', 'a', false],
    ['^ab?c$', 'ac', true],
    ['^ab*?c$', 'abbbc', true],
    ['^\\w+$', 'a_b9', true],
    ['^\\w+$', 'a.b', false],
    ['^\\W$', '.', true],
    ['GitHub', 'api.github.com.', true],
    ['(?i)GITHUB', 'api.github.com.', true],
    ['[A-Z]', 'x', true],
    ['a{', 'xa{', true],
    ['[]]', ']', true],
    ['[a-]', '-', true],
  ])('%s on %s → %s', (pattern, text, want) => {
    expect(test(pattern, text)).toBe(want);
  });

  it('agrees with RegExp on random patterns built from the supported syntax', () => {
    const atoms = ['a', 'b', '.', '[ab]', '[^a]', '\\.', '(a|b)', '(?:ab|b)', '(a*)'];
    const quantifiers = ['', '', '*', '+', '?', '{1,2}', '{2}'];
    let seed = 7;
    const pick = <T>(xs: T[]): T => xs[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % xs.length]!;
    for (let i = 0; i < 400; i++) {
      const parts = Array.from({ length: 1 + (i % 4) }, () => pick(atoms) + pick(quantifiers));
      const pattern = (i % 3 === 0 ? '^' : '') + parts.join('') + (i % 5 === 0 ? '$' : '');
      const text = Array.from({ length: i % 7 }, () => pick(['a', 'b', '.', 'c'])).join('');
      expect(test(pattern, text), `${pattern} on "${text}"`).toBe(new RegExp(pattern, 'i').test(text));
    }
  });

  it('answers in linear time where a backtracking engine takes exponential time', () => {
    const text = `${'a'.repeat(250)}!`;
    const started = performance.now();
    expect(test('^(a+)+$', text)).toBe(false);
    expect(test('(a|aa)*b', text)).toBe(false);
    expect(test('(.*.*.*.*.*.*)x', text)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it.each([
    ['(a', 'missing ")"'],
    ['a)', 'unexpected ")"'],
    ['*a', 'nothing to repeat'],
    ['a**', 'repeated quantifier'],
    ['^*', 'nothing to repeat'],
    ['(a)\\1', 'unsupported escape'],
    ['(?=a)', 'unsupported group syntax'],
    ['(?<name>a)', 'unsupported group syntax'],
    ['\\bword', 'unsupported escape'],
    ['[a', 'missing "]"'],
    ['[z-a]', 'invalid class range'],
    ['a{101}', 'repetition count above 100'],
    ['a{3,2}', 'invalid repetition range'],
    ['((a{100}){100})', 'pattern too large'],
    ['a\\', 'trailing'],
  ])('rejects %s (%s)', (pattern, message) => {
    const compiled = compileSafeRegex(pattern);
    expect('error' in compiled && compiled.error).toContain(message);
  });
});

describe('compileSafeRegex options: caseSensitive and fullMatch (RE2 FullMatch, as Envoy safe_regex)', () => {
  function testWith(pattern: string, text: string, options: { caseSensitive?: boolean; fullMatch?: boolean }): boolean {
    const compiled = compileSafeRegex(pattern, options);
    if ('error' in compiled) throw new Error(compiled.error);
    return compiled.test(text);
  }

  it.each<[string, string, { caseSensitive?: boolean; fullMatch?: boolean }, boolean]>([
    ['GET', 'get', { caseSensitive: true }, false],
    ['GET', 'xGETx', { caseSensitive: true }, true],
    ['[A-Z]+', 'abc', { caseSensitive: true }, false],
    ['\\-x', '-X', { caseSensitive: true }, false],
    ['(?i)GET', 'get', { caseSensitive: true }, true],
    ['(?i)[a-c]', 'B', { caseSensitive: true }, true],
    ['GET', 'get', {}, true],
    ['/public', '/public', { fullMatch: true }, true],
    ['/public', '/public/x', { fullMatch: true }, false],
    ['/public', '/x/public', { fullMatch: true }, false],
    ['/a|/b', '/a/x', { fullMatch: true }, false],
    ['/a|/b', 'x/b', { fullMatch: true }, false],
    ['/a|/b', '/b', { fullMatch: true }, true],
    ['', '', { fullMatch: true }, true],
    ['', 'a', { fullMatch: true }, false],
    ['a*', '', { fullMatch: true }, true],
    ['^/v1/.*$', '/v1/x', { fullMatch: true }, true],
    ['/v1/.*', '/V1/x', { fullMatch: true, caseSensitive: true }, false],
    ['/v1/.*', '/V1/x', { fullMatch: true }, true],
  ])('%s on %s with %j → %s', (pattern, text, options, want) => {
    expect(testWith(pattern, text, options)).toBe(want);
  });

  it('fullMatch agrees with an anchored, case-sensitive RegExp on random patterns', () => {
    const atoms = ['a', 'B', '.', '[aB]', '[^a]', '\\.', '(a|B)', '(?:aB|b)', '(a*)'];
    const quantifiers = ['', '', '*', '+', '?', '{1,2}', '{2}'];
    let seed = 11;
    const pick = <T>(xs: T[]): T => xs[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % xs.length]!;
    for (let i = 0; i < 400; i++) {
      const pattern = Array.from({ length: 1 + (i % 4) }, () => pick(atoms) + pick(quantifiers)).join('') + (i % 6 === 0 ? '|b' : '');
      const text = Array.from({ length: i % 7 }, () => pick(['a', 'b', 'B', '.'])).join('');
      expect(testWith(pattern, text, { caseSensitive: true, fullMatch: true }), `${pattern} on "${text}"`).toBe(new RegExp(`^(?:${pattern})$`).test(text));
    }
  });

  it('a pattern cannot close the group fullMatch puts around it', () => {
    expect(compileSafeRegex('a)|(b', { fullMatch: true })).toEqual({ error: expect.stringContaining('unexpected ")"') });
  });

  it('bounds its state cache within one long text and still answers', () => {
    // (a|b)*a(a|b){12} has thousands of DFA states: a long random text visits more than the cache holds
    let seed = 5;
    const text = Array.from({ length: 100_000 }, () => (((seed = (seed * 1103515245 + 12345) % 2 ** 31) >> 16) % 2 === 0 ? 'a' : 'b')).join('');
    const want = new RegExp('^(a|b)*a(a|b){12}$').test(text);
    expect(testWith('(a|b)*a(a|b){12}', text, { fullMatch: true })).toBe(want);
    expect(testWith('(a|b)*a(a|b){12}', `${text}c`, { fullMatch: true })).toBe(false);
  });
});
