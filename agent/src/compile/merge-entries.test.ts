import { describe, expect, it } from 'vitest';

import type { PolicyEntry } from '../kernel/codecs.js';
import { Direction, IpProto, PolicyVerdict } from '../kernel/identities.js';
import type { PortBlock as L4Block } from '../../../core/policy/resolve/port-blocks.js';
import { policyPrefixLen } from '../kernel/codecs.js';
import { blockContains, mergeContributions, type Contribution } from './merge-entries.js';

const { allow, deny, auditDeny } = PolicyVerdict;
const c = (block: L4Block, verdict: PolicyVerdict, ruleId: number, peerId = 7): Contribution => ({ localId: 300, peerId, direction: Direction.ingress, block, verdict, ruleId });
const b = (proto: number, port = 0, prefixLen = 0): L4Block => ({ proto, port, prefixLen });
const show = (e: PolicyEntry): string => `${e.peerId} ${e.proto}/${e.port}/${e.portPrefixLen} v${e.verdict} r${e.ruleId}`;

describe('mergeContributions (LPM contract)', () => {
  const cases: Array<{ name: string; given: Contribution[]; want: string[] }> = [
    { name: 'one allow', given: [c(b(6, 80, 16), allow, 1)], want: ['7 6/80/16 v1 r1'] },
    { name: 'same key: deny wins', given: [c(b(6, 80, 16), allow, 1), c(b(6, 80, 16), deny, 2)], want: ['7 6/80/16 v2 r2'] },
    { name: 'longer allow inside shorter deny becomes deny', given: [c(b(6, 80, 16), allow, 1), c(b(6), deny, 2)], want: ['7 6/0/0 v2 r2', '7 6/80/16 v2 r2'] },
    { name: 'longer allow inside any-proto audit-deny becomes audit-deny', given: [c(b(6, 80, 16), allow, 1), c(b(0), auditDeny, 2)], want: ['7 0/0/0 v3 r2', '7 6/80/16 v3 r2'] },
    { name: 'longer audit-deny inside shorter deny becomes deny', given: [c(b(17, 53, 16), auditDeny, 1), c(b(17), deny, 2)], want: ['7 17/0/0 v2 r2', '7 17/53/16 v2 r2'] },
    { name: 'longer deny inside shorter allow stays deny', given: [c(b(6, 22, 16), deny, 1), c(b(0), allow, 2)], want: ['7 0/0/0 v1 r2', '7 6/22/16 v2 r1'] },
    { name: 'equal rank: the most specific rule attributes', given: [c(b(6, 80, 16), allow, 9), c(b(6), allow, 1)], want: ['7 6/0/0 v1 r1', '7 6/80/16 v1 r9'] },
    { name: 'other protocol untouched', given: [c(b(17, 53, 16), allow, 1), c(b(6), deny, 2)], want: ['7 6/0/0 v2 r2', '7 17/53/16 v1 r1'] },
    { name: 'families stay separate', given: [c(b(6, 80, 16), allow, 1, 7), c(b(6), deny, 2, 0)], want: ['0 6/0/0 v2 r2', '7 6/80/16 v1 r1'] },
    { name: 'range block inside a deny block', given: [c(b(6, 8080, 13), allow, 1), c(b(6, 8084, 16), deny, 2)], want: ['7 6/8080/13 v1 r1', '7 6/8084/16 v2 r2'] },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    expect(mergeContributions(given).map(show).sort()).toEqual([...want].sort());
  });

  it('property: an LPM lookup of the output equals the max rank of all covering contributions', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    const RANK: Record<number, number> = { [allow]: 1, [auditDeny]: 2, [deny]: 3 };
    const protos = [IpProto.tcp, IpProto.udp];
    for (let round = 0; round < 200; round++) {
      const contributions: Contribution[] = [];
      const n = 1 + rnd(8);
      for (let i = 0; i < n; i++) {
        const kind = rnd(5);
        const block = kind === 0 ? b(0) : kind === 1 ? b(protos[rnd(2)] ?? 6) : (() => {
          const prefixLen = 10 + rnd(7);
          const port = (rnd(64) << 10) & (0xffff << (16 - prefixLen)) & 0xffff;
          return b(protos[rnd(2)] ?? 6, port | ((rnd(1024) << (16 - prefixLen)) & 0x3ff & (0xffff << (16 - prefixLen))), prefixLen);
        })();
        contributions.push(c(block, [allow, deny, auditDeny][rnd(3)] as PolicyVerdict, i + 1));
      }
      const entries = mergeContributions(contributions);
      for (let probe = 0; probe < 50; probe++) {
        const pkt = b(protos[rnd(2)] ?? 6, (rnd(64) << 10) | rnd(1024), 16);
        const want = Math.max(0, ...contributions.filter((x) => blockContains(x.block, pkt)).map((x) => RANK[x.verdict] ?? 0));
        const matching = entries.filter((e) => blockContains({ proto: e.proto, port: e.port, prefixLen: e.portPrefixLen }, pkt));
        const longest = matching.sort((x, y) => policyPrefixLen(y) - policyPrefixLen(x))[0];
        expect(longest ? RANK[longest.verdict] : 0).toBe(want);
      }
    }
  });
});
