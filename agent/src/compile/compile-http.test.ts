/**
 * compileBundle with the HTTP proxy (issue 12 groundwork), table-driven over the test cluster
 * (test-cluster.ts): egress HTTP rules on numbered TCP ports → allows redirected to the proxy
 * (` proxy:http`) and httpRules; what cannot be enforced is reported. Without `httpProxy` the output
 * is today's (HTTP rules fail closed, reported). Also createHttpRuleLookup's decisions.
 */
import { describe, expect, it } from 'vitest';

import { compileBundle } from './compile-bundle.js';
import { Direction } from '../kernel/identities.js';
import { createHttpRuleLookup } from './http-rules.js';
import { input, policy, render, type Rendered } from './test-cluster.js';
import type { HttpRuleEntry } from './types.js';
import { cases, httpInput, PUBLIC, TCP_80, TO_CLIENT, WEB } from './compile-http-cases.js';

describe('compileBundle with the HTTP proxy', () => {
  it.each(cases)('$name', ({ given, o, want }) => {
    const got = render(compileBundle(httpInput(given, o)));
    // policy lines sorted as text (the state sorts by identity number)
    for (const key of Object.keys(want) as Array<keyof Rendered>) expect(key === 'policy' ? [...(got[key] ?? [])].sort() : got[key], key).toEqual(want[key]);
  });

  it('a pattern the safe matcher rejects is reported at its field', () => {
    const got = render(compileBundle(httpInput([policy('p', { endpointSelector: WEB, egress: [{ toPorts: [{ ...TCP_80, rules: { http: [{ path: '/a\\b' }] } }] }] })])));
    expect(got.degraded).toHaveLength(1);
    expect(got.degraded[0]).toMatch(/^p\/egress\/0\/toPorts\/0\/rules\/http\/0\/path: the path pattern cannot be matched in linear time .*; the rule matches nothing$/);
  });

  it('without httpProxy: HTTP rules fail closed and are reported as before; no httpRules; identical to an absent flag', () => {
    const policies = [policy('p', { endpointSelector: WEB, egress: [{ ...TO_CLIENT, toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }] })];
    const off = compileBundle(input(policies, { httpProxy: false }));
    expect(off).toEqual(compileBundle(input(policies)));
    expect('httpRules' in off).toBe(false);
    expect(off.policy).toEqual([]);
    expect(render(off).degraded).toEqual(['p/egress/0/toPorts/0/rules/http: L7 http rules need a proxy the datapath does not have; no L4 allow for these ports (fail closed)']);
  });

  it('createHttpRuleLookup over the compiled httpRules: per connection, then per request; plain rules allow everything; no entry = refuse', () => {
    const state = compileBundle(
      httpInput([
        policy('a', {
          endpointSelector: WEB,
          egress: [{ toPorts: [{ ...TCP_80, rules: { http: [...PUBLIC, { path: '/s', headerMatches: [{ name: 'X-Token', secret: { name: 's' } }] }, { method: 'PUT', headers: ['X-Ok: yes'] }] } }] }],
        }),
        policy('b', { endpointSelector: WEB, egress: [TO_CLIENT] }),
      ]),
    );
    const id = (podName: string): number => state.identities.find((i) => i.podNames?.includes(podName))?.id ?? -1;
    const ruleOf = (name: string): number => state.rules.find((r) => r.policy === name)?.ruleId ?? -1;
    const lookup = createHttpRuleLookup(state.httpRules ?? []);
    const req = (method: string, path: string, headers: Array<[string, string]> = []) => ({ method, path, headers });
    const toDb = lookup(id('web-1'), id('db-1'), 80);
    expect(toDb).toBeDefined();
    expect(toDb?.match(req('GET', '/public/x'))).toEqual({ allowed: true, audit: false, ruleId: ruleOf('a') });
    expect(toDb?.match(req('POST', '/public/x'))).toEqual({ allowed: false, audit: false, ruleId: 0 });
    expect(toDb?.match(req('GET', '/private'))).toEqual({ allowed: false, audit: false, ruleId: 0 });
    expect(toDb?.match(req('PUT', '/any', [['x-ok', 'yes']]))).toEqual({ allowed: true, audit: false, ruleId: ruleOf('a') });
    // the secret rule matches nothing, whatever the header
    expect(toDb?.match(req('GET', '/s', [['X-Token', 'anything']]))).toEqual({ allowed: false, audit: false, ruleId: 0 });
    // the client is also allowed by b's L3-only rule: every request passes; a's match attributes first
    const toClient = lookup(id('web-1'), id('client-1'), 80);
    expect(toClient?.match(req('DELETE', '/x'))).toEqual({ allowed: true, audit: false, ruleId: ruleOf('b') });
    expect(toClient?.match(req('GET', '/public/y'))).toEqual({ allowed: true, audit: false, ruleId: ruleOf('a') });
    // not redirected there: refuse
    expect(lookup(id('web-1'), id('db-1'), 81)).toBeUndefined();
    expect(lookup(id('db-1'), id('web-1'), 80)).toBeUndefined();
    expect(lookup(id('web-1'), id('db-1'), 80)).toBe(toDb); // cached per connection key
  });

  it('createHttpRuleLookup: ingress entries answer for (server, client) in the ingress direction only', () => {
    const lookup = createHttpRuleLookup([{ direction: Direction.ingress, localId: 300, proto: 6, port: 80, peers: [7], rules: [{ ruleId: 5, http: [{ method: 'GET' }] }] }]);
    const get = { method: 'GET', path: '/', headers: [] as Array<[string, string]> };
    expect(lookup(300, 7, 80, Direction.ingress)?.match(get)).toEqual({ allowed: true, audit: false, ruleId: 5 });
    expect(lookup(300, 7, 80, Direction.ingress)?.match({ ...get, method: 'POST' })).toEqual({ allowed: false, audit: false, ruleId: 0 });
    expect(lookup(300, 7, 80)).toBeUndefined(); // egress: pod 300 as a client has no rules
    expect(lookup(300, 8, 80, Direction.ingress)).toBeUndefined();
  });

  it('createHttpRuleLookup: an audit-mode allow never loosens an enforce-mode denial; alone, a would-denial is forwarded as audit; header actions', () => {
    const rules: HttpRuleEntry[] = [
      { direction: Direction.egress, localId: 300, proto: 6, port: 80, peers: 'any', rules: [{ ruleId: 1, http: [{ method: 'GET' }] }] },
      { direction: Direction.egress, localId: 300, proto: 6, port: 80, peers: [7], rules: [{ ruleId: 2, audit: true, http: [{}] }] },
      { direction: Direction.egress, localId: 301, proto: 6, port: 80, peers: 'any', rules: [{ ruleId: 3, audit: true, http: [{ method: 'GET' }] }] },
      { direction: Direction.egress, localId: 302, proto: 6, port: 80, peers: 'any', rules: [{ ruleId: 4, http: [{ headerMatches: [{ name: 'X-Env', value: 'prod', mismatch: 'REPLACE' }] }] }] },
    ];
    const lookup = createHttpRuleLookup(rules);
    const req = (method: string) => ({ method, path: '/', headers: [] as Array<[string, string]> });
    expect(lookup(300, 7, 80)?.match(req('POST'))).toEqual({ allowed: false, audit: false, ruleId: 0 });
    expect(lookup(300, 7, 80)?.match(req('GET'))).toEqual({ allowed: true, audit: false, ruleId: 1 });
    expect(lookup(301, 7, 80)?.match(req('GET'))).toEqual({ allowed: true, audit: false, ruleId: 3 });
    expect(lookup(301, 7, 80)?.match(req('POST'))).toEqual({ allowed: true, audit: true, ruleId: 0 });
    expect(lookup(302, 9, 80)?.match(req('GET'))).toEqual({
      allowed: true,
      audit: false,
      ruleId: 4,
      actions: [{ rule: 0, headerMatch: 0, name: 'x-env', mismatch: 'REPLACE', value: 'prod' }],
    });
  });

  it('is deterministic: policies in any order give the identical result', () => {
    const policies = [
      policy('a', { endpointSelector: WEB, egress: [{ toPorts: [{ ...TCP_80, rules: { http: PUBLIC } }] }] }),
      policy('b', { endpointSelector: {}, egress: [{ ...TO_CLIENT, toPorts: [{ ...TCP_80, rules: { http: [{ method: 'POST' }] } }] }, TO_CLIENT] }),
    ];
    expect(compileBundle(httpInput([...policies].reverse()))).toEqual(compileBundle(httpInput(policies)));
  });
});
