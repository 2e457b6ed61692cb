/**
 * The L4 part of one rule (`toPorts`, `icmps`) → port blocks (port-blocks.ts), the shape the kernel's
 * policy map matches.
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
 * - With the DNS proxy (`context.environment.dnsProxy`), an egress allow port rule with DNS rules
 *   (core's planPortRule `dns-proxy`) contributes `dnsBlocks` instead: one full-port block per port and
 *   protocol (ANY = TCP and UDP), each carrying the rule's DNS selectors; the caller writes them as
 *   allows that redirect to the proxy. Without it, exactly the behaviour above.
 * - With the HTTP proxy (`context.environment.httpProxy`), likewise an allow port rule (egress or ingress) with HTTP
 *   rules only, on numbered TCP ports (planPortRule `http-proxy`), contributes `httpBlocks`: one TCP
 *   port block per port, each carrying the rule's HTTP rules as written (what cannot be enforced in
 *   them is reported and matches nothing in the proxy: core/policy/rules/http-match.ts).
 * - `pointer` of a DNS/HTTP block: the L7 rules it carries (`<rule>/toPorts/<j>/rules/dns|http`).
 */
import type { PortRule, components } from '../../../openapi/types.js';
import type { PortRuleHTTP } from '../rules/http-match.js';
import { l4Issues, planIcmp, planPort, planPortRule, PROTOCOL_NUMBERS, type PortRuleContext } from '../unenforced-parts.js';
import { ANY_BLOCK, splitPortRange, type PortBlock } from './port-blocks.js';

/** A DNS selector of a DNS rule (`rules.dns[]`): matchName and/or matchPattern. */
export type DnsSelector = NonNullable<NonNullable<PortRule['rules']>['dns']>[number];

/** A port whose allowed connections go to the DNS proxy, with the DNS rules it checks there. */
export interface DnsBlock {
  block: PortBlock;
  dns: readonly DnsSelector[];
  /** the port rule's `rules/dns` (absolute pointer into the spec) */
  pointer: string;
}

/** A TCP port whose allowed connections go to the HTTP proxy, with the HTTP rules it checks there. */
export interface HttpBlock {
  block: PortBlock;
  http: readonly PortRuleHTTP[];
  /** the port rule's `rules/http` (absolute pointer into the spec) */
  pointer: string;
}

export interface PortBlocks {
  blocks: PortBlock[];
  /** allows redirected to the DNS proxy (only with the DNS proxy; always empty for deny rules) */
  dnsBlocks: DnsBlock[];
  /** allows redirected to the HTTP proxy (only with the HTTP proxy; always empty for deny rules) */
  httpBlocks: HttpBlock[];
  /** what cannot be enforced: core/policy/unenforced-parts.ts l4Issues, the API's warnings too */
  degraded: Array<{ pointer: string; reason: string }>;
}

type AnyPortRule = PortRule | components['schemas']['PortDenyRule'];
type IcmpRule = components['schemas']['ICMPRule'];

const TCP = PROTOCOL_NUMBERS.TCP as number;

/** Every port of each protocol ('any': every protocol). */
const allPorts = (protocols: number[] | 'any'): PortBlock[] => (protocols === 'any' ? [ANY_BLOCK] : protocols.map((proto) => ({ proto, port: 0, prefixLen: 0 })));

export function resolvePortBlocks(
  rule: { toPorts?: AnyPortRule[]; icmps?: IcmpRule[] },
  pointer: string,
  kind: 'allow' | 'deny',
  context: PortRuleContext,
): PortBlocks {
  const toPorts = rule.toPorts ?? [];
  const icmps = rule.icmps ?? [];
  const out: PortBlocks = { blocks: [], dnsBlocks: [], httpBlocks: [], degraded: l4Issues(rule, pointer, kind, context).map(({ pointer: at, reason }) => ({ pointer: at, reason })) };
  if (toPorts.length === 0 && icmps.length === 0) {
    out.blocks.push(ANY_BLOCK);
    return out;
  }
  toPorts.forEach((pr, j) => {
    const plan = planPortRule(pr, kind, context);
    if (plan.kind === 'unenforced') return; // contributes no L4 allow
    if (plan.kind === 'dns-proxy') {
      const dns = (pr as PortRule).rules?.dns ?? [];
      const at = `${pointer}/toPorts/${j}/rules/dns`;
      for (const { protocols, port } of plan.ports) for (const proto of protocols) out.dnsBlocks.push({ block: { proto, port, prefixLen: 16 }, dns, pointer: at });
      return;
    }
    if (plan.kind === 'http-proxy') {
      const http = (pr as PortRule).rules?.http ?? [];
      const at = `${pointer}/toPorts/${j}/rules/http`;
      for (const { port } of plan.ports) out.httpBlocks.push({ block: { proto: TCP, port, prefixLen: 16 }, http, pointer: at });
      return;
    }
    const ports = pr.ports ?? [];
    if (ports.length === 0) {
      out.blocks.push(ANY_BLOCK);
      return;
    }
    for (const pp of ports) {
      const plan = planPort(pp, kind);
      if (plan.kind === 'all-ports') out.blocks.push(...allPorts(plan.protocols));
      else if (plan.kind === 'unenforced') out.blocks.push(...(plan.widenedTo === undefined ? [] : allPorts(plan.widenedTo)));
      else for (const proto of plan.protocols) for (const b of splitPortRange(plan.first, plan.last)) out.blocks.push({ proto, port: b.port, prefixLen: b.prefixLen });
    }
  });
  for (const icmp of icmps) {
    for (const field of icmp.fields ?? []) {
      const { protocol, type } = planIcmp(field, kind);
      if (type !== undefined) out.blocks.push({ proto: protocol, port: type, prefixLen: 16 });
      else if (kind === 'deny') out.blocks.push({ proto: protocol, port: 0, prefixLen: 0 });
    }
  }
  return out;
}
