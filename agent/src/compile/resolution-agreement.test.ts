/**
 * Property (issue 13): what the kernel decides with the compiler's entries equals what core evaluates
 * on the verdict table, for every probed flow.
 *
 * For the hand-written cases of the compiler's tables (compile-pin-cases.ts: conflicts, clipping,
 * zombies, …) and seeded random bundles (random-bundles.ts: selectors, entities, CIDR with excepts in both
 * families, toFQDNs with learned names, ports, ranges, named ports, ICMP types, denies, audit mode,
 * enableDefaultDeny, requirements, DNS and HTTP rules with the proxies on and off), every local
 * endpoint, both directions, every identity the state knows plus the reserved ones, TCP, UDP, ICMP,
 * ICMPv6 and SCTP at every block boundary of the table (and a fixed set of ports), with the host rule
 * on and off:
 *   kernelDecide(compileBundle(input), probe)       — policy.c's decide() over the map entries
 *   createFlowEvaluator(resolveVerdictTable(…))(probe) — core's precedence
 * must agree on the verdict, the deciding rule (0 ↔ none) and the proxy.
 */
import { describe, expect, it } from 'vitest';

import { createFlowEvaluator, type FlowProbe } from '../../../core/policy/resolve/evaluate-flow.js';
import { blockRange } from '../../../core/policy/resolve/port-blocks.js';
import { resolveVerdictTable } from '../../../core/policy/resolve/resolve-verdict-table.js';
import type { FlowDirection, VerdictTable } from '../../../core/policy/resolve/verdict-table.js';
import { ProxyKind } from '../kernel/identities.js';
import { buildIdentityUniverse } from './build-identity-universe.js';
import { compileBundle } from './compile-bundle.js';
import { DIRECTION_CODE, PROXY_CODE } from './encode-verdict-table.js';
import { kernelDecide } from './kernel-decide.js';
import { listPinCases } from './compile-pin-cases.js';
import { randomBundle } from './random-bundles.js';
import { input } from './test-cluster.js';
import type { CompiledState, CompileInput } from './types.js';

const SEEDS = 150;
const PROTOCOLS = [6, 17, 1, 58, 132];
const FIXED_PORTS: Readonly<Record<number, number[]>> = {
  6: [0, 53, 80, 443, 5432, 8080, 65535],
  17: [0, 53, 123, 65535],
  1: [0, 3, 8, 11],
  58: [1, 128, 129],
  132: [0, 80, 5432],
};

/** The ports to probe for one protocol: the fixed ones plus first−1, first, last, last+1 of every block. */
function portsOf(table: VerdictTable, proto: number): number[] {
  const ports = new Set(FIXED_PORTS[proto] ?? [0]);
  for (const r of table.rows) {
    if (r.block.proto !== proto && r.block.proto !== 0) continue;
    const { first, last } = blockRange(r.block);
    for (const p of [first - 1, first, last, last + 1]) if (p >= 0 && p <= 0xffff && (proto !== 1 && proto !== 58 ? true : p <= 255)) ports.add(p);
  }
  return [...ports].sort((a, b) => a - b);
}

interface Tally {
  probes: number;
  verdicts: Record<string, number>;
  by: Record<string, number>;
  origins: Record<string, number>;
  proxies: Record<string, number>;
}

function agreeOn(state: CompiledState, table: VerdictTable, localhostPolicy: boolean, tally: Tally, name: string): string[] {
  const evaluate = createFlowEvaluator(table, { localhostPolicy });
  const peers = [...new Set([...state.identities.map((i) => i.id), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])];
  const ports = new Map(PROTOCOLS.map((p) => [p, portsOf(table, p)]));
  const mismatches: string[] = [];
  for (const endpoint of state.endpoints) {
    const own = { endpoints: [endpoint], policy: state.policy.filter((e) => e.localId === endpoint.identity) };
    for (const direction of ['ingress', 'egress'] as FlowDirection[]) {
      for (const peer of peers) {
        for (const proto of PROTOCOLS) {
          for (const port of ports.get(proto) ?? []) {
            const probe: FlowProbe = { subject: endpoint.identity, direction, peer, proto, port };
            const kernel = kernelDecide(own, { localId: endpoint.identity, peerId: peer, direction: DIRECTION_CODE[direction], proto, port }, { localhostPolicy });
            const core = evaluate(probe);
            tally.probes++;
            tally.verdicts[core.verdict] = (tally.verdicts[core.verdict] ?? 0) + 1;
            tally.by[core.by] = (tally.by[core.by] ?? 0) + 1;
            if (core.row) tally.origins[core.row.origin] = (tally.origins[core.row.origin] ?? 0) + 1;
            if (core.proxy) tally.proxies[core.proxy] = (tally.proxies[core.proxy] ?? 0) + 1;
            const want = { verdict: core.verdict, ruleId: core.row?.ruleId ?? 0, proxy: core.proxy ? PROXY_CODE[core.proxy] : ProxyKind.none };
            if (kernel === undefined || kernel.verdict !== want.verdict || kernel.ruleId !== want.ruleId || kernel.proxy !== want.proxy) {
              if (mismatches.length < 5) mismatches.push(JSON.stringify({ name, localhostPolicy, probe, kernel, core: want }));
            }
            if (core.rule !== undefined && state.rules.find((r) => r.ruleId === core.rule?.ruleId)?.pointer !== core.rule.pointer && mismatches.length < 5) {
              mismatches.push(JSON.stringify({ name, probe, rule: core.rule, note: 'rule not in the compiled attribution' }));
            }
          }
        }
      }
    }
  }
  return mismatches;
}

describe('resolution agreement: kernel entries vs core evaluation', () => {
  it(`agrees on verdict, rule and proxy for every probe of the table cases and ${SEEDS} random bundles`, () => {
    const tally: Tally = { probes: 0, verdicts: {}, by: {}, origins: {}, proxies: {} };
    const mismatches: string[] = [];
    const cases: Array<{ name: string; input: CompileInput }> = [
      ...listPinCases().filter((c) => c.group !== 'random'),
      ...Array.from({ length: SEEDS }, (_, i) => {
        const { policies, options } = randomBundle(i + 1);
        return { name: `seed ${i + 1}`, input: input(policies, options) };
      }),
    ];
    for (const c of cases) {
      if (mismatches.length > 0) break;
      const state = compileBundle(c.input);
      const universe = buildIdentityUniverse(c.input);
      const table = resolveVerdictTable({ policies: c.input.bundle.policies, identities: universe.identities, cidrIdentities: universe.cidrRefs, subjects: universe.subjects, environment: universe.environment });
      for (const localhostPolicy of [false, true]) mismatches.push(...agreeOn(state, table, localhostPolicy, tally, c.name));
    }
    expect(mismatches).toEqual([]);
    // the probes reached every kind of decision (else the generator lost a feature)
    for (const v of ['forwarded', 'dropped', 'audit']) expect(tally.verdicts[v] ?? 0, `verdict ${v}`).toBeGreaterThan(100);
    for (const b of ['row', 'default-deny', 'no-policy', 'host']) expect(tally.by[b] ?? 0, `decided by ${b}`).toBeGreaterThan(10);
    for (const o of ['rule', 'clipped', 'conflict', 'redirect-copy']) expect(tally.origins[o] ?? 0, `deciding row of origin ${o}`).toBeGreaterThan(0);
    for (const p of ['dns', 'http']) expect(tally.proxies[p] ?? 0, `proxy ${p}`).toBeGreaterThan(10);
    expect(tally.probes).toBeGreaterThan(100_000);
  });

  it('the kernel model is not the evaluator: a deny entry rewritten as allow is caught', () => {
    // the same comparison on a corrupted encoding must report mismatches (the check can fail)
    for (let seed = 1; seed <= 20; seed++) {
      const { policies, options } = randomBundle(seed);
      const compileInput = input(policies, options);
      const state = compileBundle(compileInput);
      const denyAt = state.policy.findIndex((e) => e.verdict !== 1);
      if (denyAt < 0) continue;
      const universe = buildIdentityUniverse(compileInput);
      const table = resolveVerdictTable({ policies, identities: universe.identities, cidrIdentities: universe.cidrRefs, subjects: universe.subjects, environment: universe.environment });
      const corrupted = { ...state, policy: state.policy.map((e, i) => (i === denyAt ? { ...e, verdict: 1 as const } : e)) };
      const tally: Tally = { probes: 0, verdicts: {}, by: {}, origins: {}, proxies: {} };
      expect(agreeOn(corrupted, table, false, tally, `seed ${seed}`).length).toBeGreaterThan(0);
      return;
    }
    throw new Error('no bundle with a deny entry in 20 seeds');
  });
});
