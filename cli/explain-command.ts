/**
 * `fleetnet explain --cluster C --from X --to Y --port N`: why the cluster's policies forward or drop one
 * flow (POST /clusters/{clusterId}/explain). X and Y: `ns/pod` (labels from the pod's recent flow
 * history), an IP address, `entity:<name>` (host, world, …) or `ns:key=value,…` (a workload by namespace
 * and labels). The exit code is 0 whatever the verdict; errors exit as every command (exit-codes.ts).
 */
import { isIP } from 'node:net';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ExplainEndpoint, ExplainHook, ExplainSelectingPolicy, FlowExplainRequest, FlowExplanation } from '../openapi/types.js';
import type { ApiClient } from './api-client.js';
import type { CliIo } from './program.js';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ICMP', 'ICMPv6'] as const;

/** A side as written on the command line → the request's ExplainEndpoint (throws InvalidArgumentError). */
export function parseExplainSide(text: string): ExplainEndpoint {
  if (isIP(text) !== 0) return { ip: text };
  if (text.startsWith('entity:')) return { entity: text.slice('entity:'.length) as ExplainEndpoint['entity'] & string };
  const colon = text.indexOf(':');
  if (colon > 0) {
    const labels: Record<string, string> = {};
    for (const pair of text.slice(colon + 1).split(',').filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new InvalidArgumentError(`"${pair}" is not key=value (workload syntax: ns:key=value,…)`);
      labels[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return { workload: { namespace: text.slice(0, colon), labels } };
  }
  if (/^[^/]+\/[^/]+$/.test(text)) return { pod: text };
  throw new InvalidArgumentError(`"${text}" is not ns/pod, an IP address, entity:<name> or ns:key=value,…`);
}

const protocolOf = (value: string): (typeof PROTOCOLS)[number] => {
  const hit = PROTOCOLS.find((p) => p.toLowerCase() === value.toLowerCase() || (p === 'ICMP' && value.toLowerCase() === 'icmpv4'));
  if (!hit) throw new InvalidArgumentError(`"${value}" is not one of ${PROTOCOLS.join(', ')}`);
  return hit;
};

const portOf = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError(`expected a port (0–65535) or ICMP type, got "${value}"`);
  return Number(value);
};

export function addExplainCommand(program: Command, deps: { client: () => ApiClient; io: CliIo }): void {
  program
    .command('explain')
    .description('Explain why a cluster\'s policies forward or drop a flow: the deciding rule at each hook, the selecting policies, unenforced parts, Degraded nodes. Exit 0 whatever the verdict.')
    .requiredOption('--cluster <id>', 'cluster id')
    .requiredOption('--from <side>', 'source: ns/pod, an IP, entity:<name> (host, world, …) or ns:key=value,… (workload labels)', parseExplainSide)
    .requiredOption('--to <side>', 'destination (same forms as --from)', parseExplainSide)
    .requiredOption('--port <n>', 'destination port (ICMP: the message type)', portOf)
    .addOption(new Option('--protocol <proto>', 'TCP, UDP, SCTP, ICMP or ICMPv6').argParser(protocolOf).default('TCP'))
    .option('--localhost-policy', 'evaluate as allow-localhost=policy (policies also decide ingress from the node)')
    .option('--json', 'print the API\'s answer as JSON')
    .action(async (options: { cluster: string; from: ExplainEndpoint; to: ExplainEndpoint; port: number; protocol: FlowExplainRequest['protocol']; localhostPolicy?: boolean; json?: boolean }) => {
      const body: FlowExplainRequest = { source: options.from, destination: options.to, protocol: options.protocol, port: options.port, localhostPolicy: options.localhostPolicy === true };
      const client = deps.client();
      const result = await client.call(client.api.POST('/clusters/{clusterId}/explain', { params: { path: { clusterId: options.cluster } }, body }));
      if (options.json) deps.io.out(`${JSON.stringify(result, null, 2)}\n`);
      else deps.io.out(renderExplanation(result, describeSide(options.from), describeSide(options.to)));
    });
}

/** A side as the user would write it. */
export function describeSide(side: ExplainEndpoint): string {
  if (side.pod !== undefined) return side.pod;
  if (side.ip !== undefined) return side.ip;
  if (side.entity !== undefined) return `entity:${side.entity}`;
  const w = side.workload!;
  return `${w.namespace}:${Object.entries(w.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')}`;
}

const names = (policies: readonly ExplainSelectingPolicy[]): string => policies.map((p) => p.policy).join(', ');

function describeHook(hook: ExplainHook, selecting: readonly ExplainSelectingPolicy[]): string {
  const action = hook.verdict === 'forwarded' ? 'allowed' : hook.verdict === 'dropped' ? 'dropped' : 'audited (would be dropped)';
  const proxy = hook.proxy ? `, handed to the ${hook.proxy.toUpperCase()} proxy` : '';
  switch (hook.decidedBy) {
    case 'rule': {
      const r = hook.rule;
      const by = r ? `policy ${r.policy} gen ${r.generation} ${r.pointer || '(inline rule)'} (${r.mode})` : 'conflicting rules (deny)';
      return `${action} by ${by}${proxy}`;
    }
    case 'default-deny':
      return `${action} by default deny (selected by policy ${names(selecting)})`;
    case 'no-policy':
      return `${action}: no policy selects it in this direction${proxy}`;
    case 'host':
      return `${action}: traffic from the node is allowed regardless of policy (allow-localhost)`;
  }
}

/** The human answer: verdict line, one line per hook, then unenforced parts, Degraded nodes, assumptions. */
export function renderExplanation(e: FlowExplanation, from: string, to: string): string {
  const lines = [`${e.verdict.toUpperCase()}  ${from} → ${to} ${e.protocol}/${e.port}`];
  for (const hook of e.hooks) {
    const at = hook.direction === 'egress' ? `egress at ${from}` : `ingress at ${to}`;
    lines.push(`  ${at}: ${describeHook(hook, hook.direction === 'egress' ? e.selecting.source : e.selecting.destination)}`);
  }
  if (e.hooks.length === 0) lines.push('  no hook decides: neither side is a workload of the cluster');
  for (const u of e.unenforced) lines.push(`  not enforced: policy ${u.policy} gen ${u.generation} ${u.pointer}: ${u.reason}`);
  for (const n of e.degradedNodes) lines.push(`  degraded node ${n.node}: ${n.message}`);
  for (const a of e.assumptions) lines.push(`  assumes: ${a}`);
  lines.push(`  (cluster ${e.clusterId}, desired-state revision ${e.revision})`);
  return `${lines.join('\n')}\n`;
}
