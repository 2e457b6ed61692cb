/**
 * What the kernel decides for one packet over a CompiledState — a TypeScript mirror of policy.c's
 * `decide()` (the "POLICY PRECEDENCE" block), for tests that compare the compiler's entries with an
 * independent reading of the policies (issue 13's property test) and for explain-style tooling.
 *
 * Contract of kernelDecide(state, probe, options):
 * - Two longest-prefix lookups in `state.policy` with the key (local, peer, direction, proto, port):
 *   E with the probe's peer identity, W with peer 0 (any peer). Within a family the longest prefix wins:
 *   an exact port block (proto, port/portPrefixLen) over "any port of the protocol" (portPrefixLen 0)
 *   over "any protocol" (proto 0) — the kernel's key bits 72 / 80 / 80 + n.
 * - Ranks DENY 3 > AUDIT_DENY 2 > ALLOW 1 > no match 0; the higher of E and W, a tie going to E.
 * - No match, ingress, peer `host`, and not `options.localhostPolicy`: ALLOW with rule 0.
 * - With the endpoint's default-deny (D) and audit (A) bits of the direction:
 *   DENY → dropped (audit if A); AUDIT_DENY → audit; ALLOW → forwarded; no match → dropped if D
 *   (audit if A), else forwarded. ruleId: the deciding entry's, 0 for no match and the host rule.
 * - proxy: for a packet not dropped, E's entry when it is an ALLOW with a proxy, else W's likewise.
 * - An endpoint identity the state has no endpoint for: undefined (the kernel leaves such veths
 *   unmanaged).
 * `probe.port` is what the kernel parses as the policy port: the destination port for TCP/UDP/SCTP, the
 * ICMP type for ICMP/ICMPv6, 0 otherwise.
 */
import { Direction, PolicyVerdict, ProxyKind, ReservedIdentity } from '../kernel/identities.js';
import type { PolicyEntry } from '../kernel/codecs.js';
import type { CompiledState } from './types.js';

export interface KernelProbe {
  /** the endpoint's identity (whose hook decides) */
  localId: number;
  /** the peer's identity (the ipcache's answer for the peer address) */
  peerId: number;
  direction: Direction;
  proto: number;
  /** the policy port: destination port, or ICMP type */
  port: number;
}

export interface KernelDecision {
  verdict: 'forwarded' | 'dropped' | 'audit';
  ruleId: number;
  proxy: ProxyKind;
}

const rank = (e: PolicyEntry | undefined): number =>
  e === undefined ? 0 : e.verdict === PolicyVerdict.deny ? 3 : e.verdict === PolicyVerdict.auditDeny ? 2 : e.verdict === PolicyVerdict.allow ? 1 : 0;

/** The entry's prefix length in the kernel's key order (longer = more specific), -1 when it does not match. */
function matchLength(e: PolicyEntry, proto: number, port: number): number {
  if (e.proto === 0) return 0;
  if (e.proto !== proto) return -1;
  const mask = (0xffff << (16 - e.portPrefixLen)) & 0xffff;
  return (port & mask) === e.port ? 1 + e.portPrefixLen : -1;
}

/** Longest-prefix match of one family (local, peer, direction) — what one bpf LPM lookup returns. */
function lookup(entries: readonly PolicyEntry[], localId: number, peerId: number, direction: Direction, proto: number, port: number): PolicyEntry | undefined {
  let best: PolicyEntry | undefined;
  let bestLength = -1;
  for (const e of entries) {
    if (e.localId !== localId || e.peerId !== peerId || e.direction !== direction) continue;
    const length = matchLength(e, proto, port);
    if (length > bestLength) {
      best = e;
      bestLength = length;
    }
  }
  return best;
}

export function kernelDecide(state: Pick<CompiledState, 'endpoints' | 'policy'>, probe: KernelProbe, options: { localhostPolicy?: boolean } = {}): KernelDecision | undefined {
  const endpoint = state.endpoints.find((e) => e.identity === probe.localId);
  if (endpoint === undefined) return undefined;
  const ingress = probe.direction === Direction.ingress;
  const e = lookup(state.policy, probe.localId, probe.peerId, probe.direction, probe.proto, probe.port);
  const w = lookup(state.policy, probe.localId, ReservedIdentity.any, probe.direction, probe.proto, probe.port);
  const best = rank(w) > rank(e) ? w : e;
  let r = rank(best);
  let ruleId = best?.ruleId ?? 0;
  if (r === 0 && ingress && probe.peerId === ReservedIdentity.host && !options.localhostPolicy) r = 1;
  if (r === 0 || best === undefined) ruleId = 0;
  const denyBit = ingress ? endpoint.defaultDenyIngress : endpoint.defaultDenyEgress;
  const auditBit = ingress ? endpoint.auditIngress : endpoint.auditEgress;
  const drop = auditBit ? 'audit' : 'dropped';
  const verdict = r === 3 ? drop : r === 2 ? 'audit' : r === 1 ? 'forwarded' : denyBit ? drop : 'forwarded';
  const redirects = (x: PolicyEntry | undefined): boolean => x !== undefined && x.verdict === PolicyVerdict.allow && (x.proxy ?? ProxyKind.none) !== ProxyKind.none;
  const proxy = verdict === 'dropped' ? ProxyKind.none : redirects(e) ? e!.proxy! : redirects(w) ? w!.proxy! : ProxyKind.none;
  return { verdict, ruleId, proxy };
}
