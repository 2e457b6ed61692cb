import { describe, expect, it } from 'vitest';
import { compileHttpRules, type HttpRequestView, type PortRuleHTTP } from './http-match.js';

function request(method: string, path: string, extra: Partial<HttpRequestView> = {}): HttpRequestView {
  return { method, path, headers: [], ...extra };
}

function allowed(rules: PortRuleHTTP[], req: HttpRequestView): boolean {
  return compileHttpRules(rules).match(req).allowed;
}

describe('compileHttpRules: Cilium PortRuleHTTP semantics', () => {
  // given rules, a request → want allowed
  it.each<[string, PortRuleHTTP[], HttpRequestView, boolean]>([
    // Cilium docs, "GET /public": only that method and that exact path
    ['GET /public allows GET /public', [{ method: 'GET', path: '/public' }], request('GET', '/public'), true],
    ['GET /public denies POST /public', [{ method: 'GET', path: '/public' }], request('POST', '/public'), false],
    ['GET /public denies GET /private', [{ method: 'GET', path: '/public' }], request('GET', '/private'), false],
    // anchoring: the whole value must match
    ['path /public does not match /public/x', [{ path: '/public' }], request('GET', '/public/x'), false],
    ['path /public does not match /x/public', [{ path: '/public' }], request('GET', '/x/public'), false],
    ['path /public does not match /publicity', [{ path: '/public' }], request('GET', '/publicity'), false],
    ['alternation stays inside the anchors', [{ path: '/a|/b' }], request('GET', '/a/x'), false],
    ['alternation matches either whole path', [{ path: '/a|/b' }], request('GET', '/b'), true],
    // Cilium docs: path "/v1/.*"
    ['/v1/.* allows /v1/items', [{ path: '/v1/.*' }], request('GET', '/v1/items'), true],
    ['/v1/.* allows /v1/', [{ path: '/v1/.*' }], request('GET', '/v1/'), true],
    ['/v1/.* denies /v1', [{ path: '/v1/.*' }], request('GET', '/v1'), false],
    ['/v1/.* denies /v2/items', [{ path: '/v1/.*' }], request('GET', '/v2/items'), false],
    // the query string is part of :path
    ['/public does not match /public?x=1', [{ path: '/public' }], request('GET', '/public?x=1'), false],
    ['/public(\\?.*)? matches /public?x=1', [{ path: '/public(\\?.*)?' }], request('GET', '/public?x=1'), true],
    ['/public(\\?.*)? matches /public', [{ path: '/public(\\?.*)?' }], request('GET', '/public'), true],
    ['/v1/.* matches a query string too', [{ path: '/v1/.*' }], request('GET', '/v1/a?b=c'), true],
    // method regex
    ['method GET|HEAD allows HEAD', [{ method: 'GET|HEAD' }], request('HEAD', '/'), true],
    ['method GET|HEAD denies PUT', [{ method: 'GET|HEAD' }], request('PUT', '/'), false],
    ['method P.* allows PATCH', [{ method: 'P.*' }], request('PATCH', '/'), true],
    ['method GET does not match GETX', [{ method: 'GET' }], request('GETX', '/'), false],
    // case: method and path are case-sensitive; (?i) folds
    ['method GET does not match get', [{ method: 'GET' }], request('get', '/'), false],
    ['path /Public does not match /public', [{ path: '/Public' }], request('GET', '/public'), false],
    ['(?i) folds case', [{ path: '(?i)/PUBLIC' }], request('GET', '/public'), true],
    // host: against request.host, else the Host header; whole value; case-sensitive; port included
    ['host matches request.host', [{ host: 'api\\.example\\.com' }], request('GET', '/', { host: 'api.example.com' }), true],
    ['host matches the Host header', [{ host: 'api\\.example\\.com' }], request('GET', '/', { headers: [['Host', 'api.example.com']] }), true],
    ['host is anchored', [{ host: 'example\\.com' }], request('GET', '/', { host: 'api.example.com' }), false],
    ['host includes the port', [{ host: 'api\\.example\\.com' }], request('GET', '/', { host: 'api.example.com:8080' }), false],
    ['host with a port pattern', [{ host: 'api\\.example\\.com(:\\d+)?' }], request('GET', '/', { host: 'api.example.com:8080' }), true],
    ['host is case-sensitive', [{ host: 'api\\.example\\.com' }], request('GET', '/', { host: 'API.example.com' }), false],
    ['a host rule fails without a host', [{ host: '.*' }], request('GET', '/'), false],
    // headers: presence / exact value, names case-insensitive, values case-sensitive
    ['header presence', [{ headers: ['X-My-Header'] }], request('GET', '/', { headers: [['x-my-header', '']] }), true],
    ['header presence, missing', [{ headers: ['X-My-Header'] }], request('GET', '/', { headers: [['x-other', 'a']] }), false],
    ['header value', [{ headers: ['X-My-Header: true'] }], request('GET', '/', { headers: [['X-MY-HEADER', 'true']] }), true],
    ['header value, different', [{ headers: ['X-My-Header: true'] }], request('GET', '/', { headers: [['X-My-Header', 'false']] }), false],
    ['header value is case-sensitive', [{ headers: ['X-My-Header: true'] }], request('GET', '/', { headers: [['X-My-Header', 'TRUE']] }), false],
    ['header value is exact, not a regex', [{ headers: ['X-My-Header: t.*'] }], request('GET', '/', { headers: [['X-My-Header', 'true']] }), false],
    ['header value, missing', [{ headers: ['X-My-Header: true'] }], request('GET', '/'), false],
    ['header value after the first space, verbatim', [{ headers: ['X-A: b c'] }], request('GET', '/', { headers: [['X-A', 'b c']] }), true],
    ['a repeated header is its values joined with ","', [{ headers: ['X-A: 1,2'] }], request('GET', '/', { headers: [['X-A', '1'], ['x-a', '2']] }), true],
    ['"Name:value" without a space names no header', [{ headers: ['X-A:1'] }], request('GET', '/', { headers: [['X-A', '1']] }), false],
    // headerMatches without mismatch: part of the match
    ['headerMatches value', [{ headerMatches: [{ name: 'X-Token', value: 'abc' }] }], request('GET', '/', { headers: [['x-token', 'abc']] }), true],
    ['headerMatches value, different', [{ headerMatches: [{ name: 'X-Token', value: 'abc' }] }], request('GET', '/', { headers: [['x-token', 'abd']] }), false],
    ['headerMatches value, missing', [{ headerMatches: [{ name: 'X-Token', value: 'abc' }] }], request('GET', '/'), false],
    ['headerMatches without value: presence', [{ headerMatches: [{ name: 'X-Token' }] }], request('GET', '/', { headers: [['X-Token', 'z']] }), true],
    ['headerMatches without value, missing', [{ headerMatches: [{ name: 'X-Token' }] }], request('GET', '/'), false],
    // empty/omitted fields match everything; all fields of a rule must match
    ['an empty rule allows everything', [{}], request('DELETE', '/anything?x', { headers: [['a', 'b']] }), true],
    ['empty strings are omitted fields', [{ method: '', path: '', host: '' }], request('PUT', '/x'), true],
    ['no rules allow everything', [], request('PUT', '/x'), true],
    ['all fields must match', [{ method: 'GET', path: '/a', headers: ['X-A'] }], request('GET', '/a'), false],
    // rules are ORed
    ['second rule allows', [{ method: 'GET', path: '/a' }, { method: 'POST', path: '/b' }], request('POST', '/b'), true],
    ['fields do not mix across rules', [{ method: 'GET', path: '/a' }, { method: 'POST', path: '/b' }], request('GET', '/b'), false],
  ])('%s', (_name, rules, req, want) => {
    expect(allowed(rules, req)).toBe(want);
  });

  it('reports the first matching rule', () => {
    const compiled = compileHttpRules([{ method: 'POST' }, { path: '/a' }, { method: 'GET' }]);
    expect(compiled.match(request('GET', '/a'))).toEqual({ allowed: true, rule: 1 });
    expect(compiled.match(request('GET', '/b'))).toEqual({ allowed: true, rule: 2 });
    expect(compiled.match(request('PUT', '/b'))).toEqual({ allowed: false });
    expect(compiled.unsupported).toEqual([]);
  });

  describe('headerMatches with mismatch', () => {
    const withToken = (mismatch: 'LOG' | 'ADD' | 'DELETE' | 'REPLACE', value = 'secret-1'): PortRuleHTTP[] => [
      { path: '/api/.*', headerMatches: [{ name: 'X-Token', value, mismatch }] },
    ];

    it.each<['LOG' | 'ADD' | 'DELETE' | 'REPLACE', Array<[string, string]>, unknown]>([
      ['LOG', [], [{ rule: 0, headerMatch: 0, name: 'x-token', mismatch: 'LOG', expected: 'secret-1' }]],
      ['LOG', [['X-Token', 'wrong']], [{ rule: 0, headerMatch: 0, name: 'x-token', mismatch: 'LOG', expected: 'secret-1', found: 'wrong' }]],
      ['ADD', [], [{ rule: 0, headerMatch: 0, name: 'x-token', mismatch: 'ADD', value: 'secret-1' }]],
      ['ADD', [['X-Token', 'wrong']], [{ rule: 0, headerMatch: 0, name: 'x-token', mismatch: 'ADD', value: 'secret-1' }]],
      ['DELETE', [], undefined],
      ['DELETE', [['X-Token', 'wrong']], [{ rule: 0, headerMatch: 0, name: 'x-token', mismatch: 'DELETE', found: 'wrong' }]],
      ['REPLACE', [], [{ rule: 0, headerMatch: 0, name: 'x-token', mismatch: 'REPLACE', value: 'secret-1' }]],
      ['REPLACE', [['X-Token', 'a'], ['X-Token', 'b']], [{ rule: 0, headerMatch: 0, name: 'x-token', mismatch: 'REPLACE', value: 'secret-1', found: 'a,b' }]],
    ])('%s with headers %j: the rule matches, actions %j', (mismatch, headers, actions) => {
      const result = compileHttpRules(withToken(mismatch)).match(request('GET', '/api/x', { headers }));
      expect(result).toEqual(actions === undefined ? { allowed: true, rule: 0 } : { allowed: true, rule: 0, actions });
    });

    it.each(['LOG', 'ADD', 'DELETE', 'REPLACE'] as const)('%s: a matching header needs no action', (mismatch) => {
      const result = compileHttpRules(withToken(mismatch)).match(request('GET', '/api/x', { headers: [['x-token', 'secret-1']] }));
      expect(result).toEqual({ allowed: true, rule: 0 });
    });

    it.each(['LOG', 'ADD', 'DELETE', 'REPLACE'] as const)('%s: the rest of the rule still decides', (mismatch) => {
      expect(compileHttpRules(withToken(mismatch)).match(request('GET', '/other'))).toEqual({ allowed: false });
    });

    it('DELETE of a presence match has nothing to delete; LOG of a presence match reports no expected value', () => {
      expect(compileHttpRules([{ headerMatches: [{ name: 'X-A', mismatch: 'DELETE' }] }]).match(request('GET', '/'))).toEqual({ allowed: true, rule: 0 });
      expect(compileHttpRules([{ headerMatches: [{ name: 'X-A', mismatch: 'LOG' }] }]).match(request('GET', '/'))).toEqual({
        allowed: true,
        rule: 0,
        actions: [{ rule: 0, headerMatch: 0, name: 'x-a', mismatch: 'LOG' }],
      });
    });

    it('evaluates every rule once one has a mismatch action, each against the headers changed before it', () => {
      const compiled = compileHttpRules([
        { path: '/a', headerMatches: [{ name: 'X-A', value: '1', mismatch: 'REPLACE' }] },
        { path: '/nope' },
        { headers: ['X-A: 1'], headerMatches: [{ name: 'X-B', mismatch: 'LOG' }, { name: 'X-C', value: 'c', mismatch: 'ADD' }] },
      ]);
      expect(compiled.match(request('GET', '/a', { headers: [['X-A', '0']] }))).toEqual({
        allowed: true,
        rule: 0,
        actions: [
          { rule: 0, headerMatch: 0, name: 'x-a', mismatch: 'REPLACE', value: '1', found: '0' },
          { rule: 2, headerMatch: 0, name: 'x-b', mismatch: 'LOG' },
          { rule: 2, headerMatch: 1, name: 'x-c', mismatch: 'ADD', value: 'c' },
        ],
      });
      // without rule 0's REPLACE, rule 2 sees X-A: 0 and does not match
      expect(compiled.match(request('GET', '/b', { headers: [['X-A', '0']] }))).toEqual({ allowed: false });
    });

    it('a mismatch header without mismatch still fails the rule next to one with it', () => {
      const compiled = compileHttpRules([{ headerMatches: [{ name: 'X-A', value: '1' }, { name: 'X-B', value: '2', mismatch: 'ADD' }] }]);
      expect(compiled.match(request('GET', '/'))).toEqual({ allowed: false });
      expect(compiled.match(request('GET', '/', { headers: [['X-A', '1']] }))).toEqual({
        allowed: true,
        rule: 0,
        actions: [{ rule: 0, headerMatch: 1, name: 'x-b', mismatch: 'ADD', value: '2' }],
      });
    });
  });

  describe('fails closed on what it cannot enforce', () => {
    it('a headerMatches secret: that rule matches nothing, even with a fallback value or a LOG mismatch', () => {
      const compiled = compileHttpRules([
        { path: '/admin', headerMatches: [{ name: 'Authorization', value: 'Bearer fallback', secret: { namespace: 'ns', name: 'token' } }] },
        { path: '/log', headerMatches: [{ name: 'Authorization', mismatch: 'LOG', secret: { name: 'token' } }] },
        { path: '/public' },
      ]);
      expect(compiled.unsupported).toEqual([
        { index: 0, field: 'headerMatches/0/secret', reason: expect.stringContaining('secret') },
        { index: 1, field: 'headerMatches/0/secret', reason: expect.stringContaining('secret') },
      ]);
      expect(compiled.match(request('GET', '/admin', { headers: [['Authorization', 'Bearer fallback']] }))).toEqual({ allowed: false });
      expect(compiled.match(request('GET', '/log'))).toEqual({ allowed: false });
      expect(compiled.match(request('GET', '/public'))).toEqual({ allowed: true, rule: 2 });
    });

    it.each<[string, PortRuleHTTP, string]>([
      ['invalid regex', { path: '/a(' }, 'path'],
      ['a backreference', { path: '/(a)\\1' }, 'path'],
      ['a lookahead', { method: '(?=GET)GET' }, 'method'],
      ['a word boundary', { host: '\\bexample\\.com' }, 'host'],
      ['a repetition count above the bound', { path: '/a{101}' }, 'path'],
    ])('%s → unsupported, the rule matches nothing', (_name, rule, field) => {
      const compiled = compileHttpRules([rule, { path: '/ok' }]);
      expect(compiled.unsupported).toEqual([{ index: 0, field, reason: expect.stringContaining(field) }]);
      expect(compiled.match(request('GET', '/a(', { host: 'example.com' })).allowed).toBe(false);
      expect(compiled.match(request('GET', '/aa', { host: 'example.com' })).allowed).toBe(false);
      expect(compiled.match(request('GET', '/ok')).allowed).toBe(true);
    });
  });

  it('a pathological pattern on a 10^5-character path completes (linear-time matcher)', () => {
    const compiled = compileHttpRules([{ path: '(a+)+$' }, { path: '(a|aa)*b' }, { path: '/(.*.*.*.*)x' }]);
    expect(compiled.unsupported).toEqual([]);
    expect(compiled.match(request('GET', `${'a'.repeat(100_000)}!`))).toEqual({ allowed: false });
    expect(compiled.match(request('GET', 'a'.repeat(100_000)))).toEqual({ allowed: true, rule: 0 });
    expect(compiled.match(request('GET', `${'a'.repeat(100_000)}b`))).toEqual({ allowed: true, rule: 1 });
    expect(compiled.match(request('GET', `/${'y'.repeat(100_000)}x`))).toEqual({ allowed: true, rule: 2 });
  });
});
