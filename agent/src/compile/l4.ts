/**
 * The L4 part of one rule (`toPorts`, `icmps`) → prefix blocks of the policy LPM key.
 *
 * Contract (see docs/agent.md "What is enforced"):
 * - No toPorts and no icmps: one block "any protocol, any port" (an L3-only rule).
 * - Ports: TCP / UDP as given; ANY (or no protocol) = TCP and UDP for a port (Cilium's default without
 *   SCTP), protocol 0 for port 0; port 0 = every port of the protocol; endPort = splitPortRange blocks.
 *   VRRP / IGMP / SCTP / ICMP / ICMPv6 with port 0 = the protocol, any port (the datapath reads no
 *   port of SCTP). Policy keys have no address family: every block applies to IPv4 and IPv6 alike.
 * - icmps: IPv4 types as (ICMP 1, type/16), IPv6 types as (ICMPv6 58, type/16). Neighbor discovery
 *   (ICMPv6 133–137) always passes in the kernel, as in Cilium: a deny naming one of those types
 *   is reported (it cannot take effect) and still written.
 * - What cannot be expressed is reported (degraded) and FAILS CLOSED: for an allow rule the part
 *   contributes no block (so default deny still drops it); for a deny rule it is widened to the
 *   smallest expressible block that contains it (a named TCP port → all of TCP).
 * - L7 rules (http/kafka/dns/l7proto), listener, serverNames and TLS contexts on an allow port rule:
 *   that port rule contributes NO block (no L4 allow) — unless the L7 rules provably allow every
 *   request (an http rule `{}`, a kafka rule `{}`, a dns rule `matchPattern: "*"`), which is exactly
 *   the L4 allow.
 */
import type { PortRule, components } from '../../../openapi/types.js';
import { appendPointer } from '../../../core/json/json-pointer.js';
import { resolveIcmpType } from '../../../core/policy/rules/icmp.js';
import { parsePort } from '../../../core/policy/rules/ports.js';
import { IpProto } from '../kernel/identities.js';
import { splitPortRange } from '../kernel/port-range.js';

/** proto 0 = any protocol (then port = prefixLen = 0); prefixLen 0 = any port of proto. */
export interface L4Block {
  proto: number;
  port: number;
  prefixLen: number;
}

export interface L4Result {
  blocks: L4Block[];
  degraded: Array<{ pointer: string; reason: string }>;
}

type AnyPortRule = PortRule | components['schemas']['PortDenyRule'];
type IcmpRule = components['schemas']['ICMPRule'];

export const ANY_L4: L4Block = { proto: IpProto.any, port: 0, prefixLen: 0 };

const PROTO_NUMBERS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPv6: 58, VRRP: 112, IGMP: 2 };

/** ICMPv6 neighbor discovery types (RS, RA, NS, NA, redirect): passed by the kernel before policy. */
export const NDP_TYPES: ReadonlySet<number> = new Set([133, 134, 135, 136, 137]);

function l7AllowsEverything(rules: NonNullable<PortRule['rules']>): boolean {
  if (rules.l7proto !== undefined || rules.l7 !== undefined) return false;
  const emptyHttp = (rules.http ?? []).some((h) => Object.keys(h).length === 0);
  const emptyKafka = (rules.kafka ?? []).some((k) => Object.keys(k).length === 0);
  const anyDns = (rules.dns ?? []).some((d) => d.matchPattern === '*');
  if (rules.http !== undefined) return emptyHttp;
  if (rules.kafka !== undefined) return emptyKafka;
  if (rules.dns !== undefined) return anyDns;
  return true;
}

/** Why an allow port rule cannot be enforced at L4, or undefined. */
function unenforceableL7(pr: PortRule): { field: string; reason: string } | undefined {
  if (pr.listener) return { field: 'listener', reason: 'redirect to an Envoy listener is not supported by the datapath; no L4 allow for these ports (fail closed)' };
  if (pr.terminatingTLS || pr.originatingTLS) {
    return { field: pr.terminatingTLS ? 'terminatingTLS' : 'originatingTLS', reason: 'TLS interception is not supported; no L4 allow for these ports (fail closed)' };
  }
  if ((pr.serverNames ?? []).length > 0) return { field: 'serverNames', reason: 'SNI (serverNames) matching is not supported; no L4 allow for these ports (fail closed)' };
  if (pr.rules && !l7AllowsEverything(pr.rules)) {
    const kind = pr.rules.http ? 'http' : pr.rules.kafka ? 'kafka' : pr.rules.dns ? 'dns' : 'l7';
    return { field: `rules/${kind}`, reason: `L7 ${kind} rules need a proxy the datapath does not have; no L4 allow for these ports (fail closed)` };
  }
  return undefined;
}

export function compileL4(
  rule: { toPorts?: AnyPortRule[]; icmps?: IcmpRule[] },
  pointer: string,
  kind: 'allow' | 'deny',
): L4Result {
  const toPorts = rule.toPorts ?? [];
  const icmps = rule.icmps ?? [];
  const out: L4Result = { blocks: [], degraded: [] };
  if (toPorts.length === 0 && icmps.length === 0) {
    out.blocks.push(ANY_L4);
    return out;
  }
  const degrade = (p: string, reason: string): void => {
    out.degraded.push({ pointer: p, reason });
  };
  toPorts.forEach((pr, j) => {
    const at = appendPointer(pointer, 'toPorts', j);
    if (kind === 'allow') {
      const why = unenforceableL7(pr as PortRule);
      if (why) {
        degrade(`${at}/${why.field}`, why.reason);
        return;
      }
    }
    const ports = pr.ports ?? [];
    if (ports.length === 0) {
      out.blocks.push(ANY_L4);
      return;
    }
    ports.forEach((pp, k) => {
      const pat = appendPointer(at, 'ports', k);
      const protocol = pp.protocol ?? 'ANY';
      const parsed = parsePort(pp.port);
      const protos = protocol === 'ANY' ? [IpProto.tcp, IpProto.udp] : [PROTO_NUMBERS[protocol] ?? -1];
      if (protos[0] === -1) {
        degrade(pat, `protocol ${protocol} is not supported`);
        return;
      }
      if (typeof parsed === 'string' || parsed.kind === 'name') {
        // named ports resolve per pod (container ports), which the agent does not know
        if (kind === 'allow') {
          degrade(pat, `named port "${pp.port}" cannot be resolved by the agent; no allow (fail closed)`);
        } else {
          degrade(pat, `named port "${pp.port}" cannot be resolved by the agent; the deny covers every port of the protocol (fail closed)`);
          for (const proto of protocol === 'ANY' ? [IpProto.any] : protos) out.blocks.push({ proto, port: 0, prefixLen: 0 });
        }
        return;
      }
      const first = parsed.value;
      if (first === 0) {
        out.blocks.push(...(protocol === 'ANY' ? [ANY_L4] : protos.map((proto) => ({ proto, port: 0, prefixLen: 0 }))));
        return;
      }
      for (const proto of protos) {
        if (proto !== IpProto.tcp && proto !== IpProto.udp) {
          if (kind === 'allow') {
            degrade(pat, `the datapath reads no ports of ${protocol}; only port 0 (any) can be allowed (fail closed)`);
          } else {
            degrade(pat, `the datapath reads no ports of ${protocol}; the deny covers all of ${protocol} (fail closed)`);
            out.blocks.push({ proto, port: 0, prefixLen: 0 });
          }
          continue;
        }
        const last = pp.endPort !== undefined && pp.endPort > first ? pp.endPort : first;
        for (const b of splitPortRange(first, last)) out.blocks.push({ proto, port: b.port, prefixLen: b.prefixLen });
      }
    });
  });
  icmps.forEach((icmp, j) => {
    (icmp.fields ?? []).forEach((field, k) => {
      const at = appendPointer(pointer, 'icmps', j, 'fields', k);
      const v6 = field.family === 'IPv6';
      const proto = v6 ? IpProto.icmpv6 : IpProto.icmp;
      const type = resolveIcmpType(field);
      if (type === undefined) {
        degrade(at, `unknown ${v6 ? 'ICMPv6' : 'ICMP'} type${kind === 'deny' ? `; the deny covers all of ${v6 ? 'ICMPv6' : 'ICMP'} (fail closed)` : '; no allow (fail closed)'}`);
        if (kind === 'deny') out.blocks.push({ proto, port: 0, prefixLen: 0 });
        return;
      }
      if (v6 && kind === 'deny' && NDP_TYPES.has(type)) {
        degrade(at, `ICMPv6 type ${type} is neighbor discovery, which always passes (as in Cilium); the deny has no effect on it`);
      }
      out.blocks.push({ proto, port: type, prefixLen: 16 });
    });
  });
  return out;
}
