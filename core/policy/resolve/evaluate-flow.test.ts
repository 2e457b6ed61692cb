import { describe, expect, it } from 'vitest';

import { evaluateFlow, type EvaluateOptions, type FlowDecision, type FlowProbe } from './evaluate-flow.js';
import type { RuleRef, SubjectDefaults, VerdictRow } from './verdict-table.js';

const WEB = 300;
const DB = 301;
const HOST = 1;
const TCP = 6;
const UDP = 17;

const row = (r: Partial<VerdictRow>): VerdictRow => ({ subject: WEB, direction: 'ingress', peer: DB, block: { proto: TCP, port: 80, prefixLen: 16 }, verdict: 'allow', ruleId: 1, origin: 'rule', ...r });
const probe = (p: Partial<FlowProbe> = {}): FlowProbe => ({ subject: WEB, direction: 'ingress', peer: DB, proto: TCP, port: 80, ...p });
const ruleRef = (ruleId: number): RuleRef => ({ ruleId, policy: `p${ruleId}`, generation: 1, pointer: '/ingress/0', direction: 'ingress', verdict: 'allow', mode: 'enforce' });
const denyIn: SubjectDefaults = { subject: WEB, direction: 'ingress', defaultDeny: true, audit: false };
const auditIn: SubjectDefaults = { subject: WEB, direction: 'ingress', defaultDeny: true, audit: true };

interface Case {
  name: string;
  rows: Partial<VerdictRow>[];
  defaults?: SubjectDefaults[];
  probe?: Partial<FlowProbe>;
  options?: EvaluateOptions;
  want: { verdict: FlowDecision['verdict']; ruleId: number; by: FlowDecision['by']; proxy?: FlowDecision['proxy'] };
}

describe('evaluateFlow: the precedence, written once', () => {
  it.each<Case>([
    { name: 'no row, no policy: forwarded', rows: [], want: { verdict: 'forwarded', ruleId: 0, by: 'no-policy' } },
    { name: 'no row under default deny: dropped', rows: [{ block: { proto: TCP, port: 81, prefixLen: 16 } }], defaults: [denyIn], want: { verdict: 'dropped', ruleId: 0, by: 'default-deny' } },
    { name: 'no row under an audit default deny: audit', rows: [], defaults: [auditIn], want: { verdict: 'audit', ruleId: 0, by: 'default-deny' } },
    { name: 'a selected direction without default deny (enableDefaultDeny false): forwarded', rows: [], defaults: [{ ...denyIn, defaultDeny: false }], want: { verdict: 'forwarded', ruleId: 0, by: 'no-policy' } },
    { name: 'the other direction\'s default does not apply', rows: [], defaults: [{ ...denyIn, direction: 'egress' }], want: { verdict: 'forwarded', ruleId: 0, by: 'no-policy' } },
    { name: 'an allow', rows: [{}], defaults: [denyIn], want: { verdict: 'forwarded', ruleId: 1, by: 'row' } },
    {
      name: 'deny over allow within a family, whatever the blocks: a TCP deny beats a TCP/80 allow',
      rows: [{ ruleId: 3 }, { block: { proto: TCP, port: 0, prefixLen: 0 }, verdict: 'deny', ruleId: 2 }],
      want: { verdict: 'dropped', ruleId: 2, by: 'row' },
    },
    {
      name: 'equal ranks: the most specific block, then the smallest rule',
      rows: [{ block: { proto: 0, port: 0, prefixLen: 0 }, ruleId: 1 }, { block: { proto: TCP, port: 0, prefixLen: 12 }, ruleId: 5 }, { ruleId: 9 }, { ruleId: 7 }],
      want: { verdict: 'forwarded', ruleId: 7, by: 'row' },
    },
    { name: 'a block not holding the port does not match', rows: [{ block: { proto: TCP, port: 0x1230, prefixLen: 12 } }], probe: { port: 0x1240 }, defaults: [denyIn], want: { verdict: 'dropped', ruleId: 0, by: 'default-deny' } },
    { name: 'a block holding it does', rows: [{ block: { proto: TCP, port: 0x1230, prefixLen: 12 }, ruleId: 4 }], probe: { port: 0x123f }, defaults: [denyIn], want: { verdict: 'forwarded', ruleId: 4, by: 'row' } },
    { name: 'another protocol does not match', rows: [{}], probe: { proto: UDP }, defaults: [denyIn], want: { verdict: 'dropped', ruleId: 0, by: 'default-deny' } },
    { name: 'any protocol matches every protocol', rows: [{ block: { proto: 0, port: 0, prefixLen: 0 }, ruleId: 5 }], probe: { proto: UDP, port: 53 }, defaults: [denyIn], want: { verdict: 'forwarded', ruleId: 5, by: 'row' } },
    { name: 'across families the higher rank: an any-peer deny beats the peer\'s allow', rows: [{ ruleId: 6 }, { peer: 0, verdict: 'deny', ruleId: 7 }], want: { verdict: 'dropped', ruleId: 7, by: 'row' } },
    { name: 'a tie goes to the peer\'s own row', rows: [{ ruleId: 9 }, { peer: 0, ruleId: 8 }], want: { verdict: 'forwarded', ruleId: 9, by: 'row' } },
    { name: 'another peer\'s rows do not apply', rows: [{ peer: 302 }], defaults: [denyIn], want: { verdict: 'dropped', ruleId: 0, by: 'default-deny' } },
    { name: 'audit-deny: audit, its rule', rows: [{ verdict: 'audit-deny', ruleId: 10 }], want: { verdict: 'audit', ruleId: 10, by: 'row' } },
    { name: 'audit-deny beats an allow in the family', rows: [{ ruleId: 3 }, { block: { proto: 0, port: 0, prefixLen: 0 }, verdict: 'audit-deny', ruleId: 10 }], want: { verdict: 'audit', ruleId: 10, by: 'row' } },
    { name: 'a deny under an audit default: audit', rows: [{ verdict: 'deny', ruleId: 11 }], defaults: [auditIn], want: { verdict: 'audit', ruleId: 11, by: 'row' } },
    { name: 'a conflict deny has no rule', rows: [{ verdict: 'deny', ruleId: 0, origin: 'conflict' }], want: { verdict: 'dropped', ruleId: 0, by: 'row' } },
    { name: 'host, no row: allowed (allow-localhost)', rows: [], defaults: [denyIn], probe: { peer: HOST }, want: { verdict: 'forwarded', ruleId: 0, by: 'host' } },
    { name: 'host, no row, localhostPolicy: the default applies', rows: [], defaults: [denyIn], probe: { peer: HOST }, options: { localhostPolicy: true }, want: { verdict: 'dropped', ruleId: 0, by: 'default-deny' } },
    { name: 'host on egress: no exemption', rows: [], defaults: [{ ...denyIn, direction: 'egress' }], probe: { peer: HOST, direction: 'egress' }, want: { verdict: 'dropped', ruleId: 0, by: 'default-deny' } },
    { name: 'host, a deny still wins', rows: [{ peer: HOST, verdict: 'deny', ruleId: 12 }], probe: { peer: HOST }, want: { verdict: 'dropped', ruleId: 12, by: 'row' } },
    { name: 'the proxy of the peer\'s redirect', rows: [{ proxy: 'http', ruleId: 13 }, { peer: 0, proxy: 'dns', ruleId: 14 }], want: { verdict: 'forwarded', ruleId: 13, by: 'row', proxy: 'http' } },
    { name: 'a redirect covering the flow redirects even when a plain allow decided the family', rows: [{ ruleId: 13, proxy: 'http' }, { ruleId: 2 }], want: { verdict: 'forwarded', ruleId: 2, by: 'row', proxy: 'http' } },
    { name: 'else the any-peer redirect, even when the peer\'s allow decided', rows: [{ ruleId: 15 }, { peer: 0, proxy: 'http', ruleId: 16 }], want: { verdict: 'forwarded', ruleId: 15, by: 'row', proxy: 'http' } },
    { name: 'audited flows still go to the proxy', rows: [{ verdict: 'audit-deny', ruleId: 17 }, { peer: 0, proxy: 'http', ruleId: 18 }], want: { verdict: 'audit', ruleId: 17, by: 'row', proxy: 'http' } },
    { name: 'an audit-deny in the redirect\'s own family takes the redirect away (known limit)', rows: [{ proxy: 'http', ruleId: 18 }, { verdict: 'audit-deny', block: { proto: TCP, port: 0, prefixLen: 0 }, ruleId: 17 }], want: { verdict: 'audit', ruleId: 17, by: 'row' } },
    { name: 'dropped flows never go to a proxy', rows: [{ verdict: 'deny', ruleId: 19 }, { peer: 0, proxy: 'http', ruleId: 20 }], want: { verdict: 'dropped', ruleId: 19, by: 'row' } },
    { name: 'an ICMP type is the port', rows: [{ block: { proto: 1, port: 8, prefixLen: 16 }, ruleId: 21 }], probe: { proto: 1, port: 8 }, defaults: [denyIn], want: { verdict: 'forwarded', ruleId: 21, by: 'row' } },
  ])('$name', ({ rows, defaults, probe: p, options, want }) => {
    const table = { rows: rows.map(row), rules: [...new Set(rows.map((r) => r.ruleId ?? 1))].filter((id) => id !== 0).map(ruleRef), defaults: defaults ?? [] };
    const got = evaluateFlow(table, probe(p), options);
    expect({ verdict: got.verdict, ruleId: got.row?.ruleId ?? 0, by: got.by, ...(got.proxy ? { proxy: got.proxy } : {}) }).toEqual(want);
    expect(got.rule?.ruleId).toBe(want.ruleId === 0 ? undefined : want.ruleId);
  });
});
