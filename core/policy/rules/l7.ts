/**
 * `toPorts[]` entries (PortRule) with their L7 rules, mirroring Cilium's PortRule / L7Rules validation.
 *
 * Contracts (Cilium pkg/policy/api/rule_validation.go):
 * - L7 rules are "present" when any of http / kafka / dns / l7 is given, even as an empty list.
 * - DNS rules: egress only; need at least one port; no port ranges. TCP, UDP or ANY.
 * - Other L7 rules (HTTP, Kafka, l7proto): every port must say protocol TCP.
 * - No L7 rules on port 0; only one L7 kind per port rule; `l7` needs `l7proto`.
 * - Host policies (nodeSelector) take no L7 rules, except DNS on egress.
 * - `listener`: egress only and never together with L7 rules.
 * - `serverNames`: non-empty DNS names or wildcard patterns; with L7 rules only when TLS is terminated.
 * - HTTP `path`, `method`, `host` are regular expressions (Cilium/Envoy use RE2): they must compile with
 *   JavaScript's `new RegExp(x, 'u')`, whose error message is reported. Headers must start with an
 *   RFC 9110 token (the header name).
 */
import type { FieldError, PortRule } from '../../../openapi/types.js';
import { appendPointer } from '../../json/json-pointer.js';
import { describeMatchPatternProblem, validateFqdnSelector } from './fqdn.js';
import { parsePort, validatePortProtocol } from './ports.js';

type L7Rules = NonNullable<PortRule['rules']>;
type HttpRule = NonNullable<L7Rules['http']>[number];
type KafkaRule = NonNullable<L7Rules['kafka']>[number];

export interface PortRuleContext {
  direction: 'ingress' | 'egress';
  /** The rule selects nodes (nodeSelector), i.e. it is a host policy. */
  hostPolicy: boolean;
}

/** Kafka API keys Cilium accepts by name (pkg/policy/api/kafka). */
export const KAFKA_API_KEYS: readonly string[] = [
  'produce', 'fetch', 'offsets', 'metadata', 'leaderandisr', 'stopreplica', 'updatemetadata',
  'controlledshutdown', 'offsetcommit', 'offsetfetch', 'findcoordinator', 'joingroup', 'heartbeat',
  'leavegroup', 'syncgroup', 'describegroups', 'listgroups', 'saslhandshake', 'apiversions',
  'createtopics', 'deletetopics', 'deleterecords', 'initproducerid', 'offsetforleaderepoch',
  'addpartitionstotxn', 'addoffsetstotxn', 'endtxn', 'writetxnmarkers', 'txnoffsetcommit',
  'describeacls', 'createacls', 'deleteacls', 'describeconfigs', 'alterconfigs',
];

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

export function describeRegexProblem(source: string): string | undefined {
  try {
    new RegExp(source, 'u');
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function l7Kinds(rules: L7Rules | undefined): string[] {
  if (!rules) return [];
  const kinds: string[] = [];
  if (rules.http !== undefined) kinds.push('http');
  if (rules.kafka !== undefined) kinds.push('kafka');
  if (rules.dns !== undefined) kinds.push('dns');
  if (rules.l7proto !== undefined || rules.l7 !== undefined) kinds.push('l7proto');
  return kinds;
}

export function validatePortRule(portRule: PortRule, pointer: string, ctx: PortRuleContext): FieldError[] {
  const errors: FieldError[] = [];
  const at = (...tokens: Array<string | number>): string => appendPointer(pointer, ...tokens);
  const push = (p: string, message: string, rule: string): void => {
    errors.push({ pointer: p, message, rule });
  };
  const ports = portRule.ports ?? [];
  ports.forEach((port, j) => errors.push(...validatePortProtocol(port, at('ports', j))));

  const kinds = l7Kinds(portRule.rules);
  const hasL7 = kinds.length > 0;
  const hasDns = kinds.includes('dns');

  (portRule.serverNames ?? []).forEach((name, j) => {
    const problem = name === '' ? 'must not be empty' : describeMatchPatternProblem(name);
    if (problem) push(at('serverNames', j), `server name "${name}" ${problem}`, 'server-name');
  });
  if ((portRule.serverNames ?? []).length > 0 && hasL7 && !portRule.terminatingTLS) {
    push(at('serverNames'), 'serverNames are not allowed with L7 rules unless TLS is terminated (terminatingTLS)', 'server-name');
  }

  if (portRule.listener) {
    if (ctx.direction === 'ingress') push(at('listener'), 'a listener is only allowed on egress', 'listener');
    if (hasL7) push(at('listener'), 'a listener is not allowed together with L7 rules', 'listener');
  }

  if (!hasL7) return errors;
  const rules = portRule.rules as L7Rules;

  if (kinds.length > 1) push(at('rules'), `only one kind of L7 rule per port rule (found ${kinds.join(', ')})`, 'l7-kind');
  if (rules.l7 !== undefined && rules.l7proto === undefined) push(at('rules', 'l7'), 'l7 needs l7proto', 'l7-proto');
  if (hasDns && ctx.direction === 'ingress') push(at('rules', 'dns'), 'DNS rules are only allowed on egress', 'l7-direction');
  if (ctx.hostPolicy && (ctx.direction === 'ingress' || !hasDns)) {
    push(at('rules'), `host policies (nodeSelector) do not support ${hasDns ? 'DNS' : 'HTTP/Kafka/l7proto'} rules on ${ctx.direction}`, 'l7-host');
  }
  if (hasDns && ports.length === 0) push(at('rules', 'dns'), 'DNS rules need a port (usually 53)', 'l7-dns-port');

  ports.forEach((port, j) => {
    const parsed = parsePort(port.port);
    if (typeof parsed !== 'string' && parsed.kind === 'number' && parsed.value === 0) {
      push(at('ports', j, 'port'), 'L7 rules cannot be used with port 0 (any port)', 'l7-port');
    }
    if (hasDns) {
      if (port.endPort !== undefined && typeof parsed !== 'string' && parsed.kind === 'number' && port.endPort > parsed.value) {
        push(at('ports', j, 'endPort'), 'DNS rules do not support port ranges', 'l7-dns-port');
      }
    } else if (port.protocol !== 'TCP') {
      push(at('ports', j, port.protocol ? 'protocol' : 'port'), `L7 rules only apply to TCP ports (protocol is ${port.protocol ?? 'ANY by default'}); only DNS rules take UDP/ANY`, 'l7-protocol');
    }
  });

  (rules.http ?? []).forEach((http, k) => errors.push(...validateHttpRule(http, at('rules', 'http', k))));
  (rules.kafka ?? []).forEach((kafka, k) => errors.push(...validateKafkaRule(kafka, at('rules', 'kafka', k))));
  (rules.dns ?? []).forEach((dns, k) => errors.push(...validateFqdnSelector(dns, at('rules', 'dns', k), { exclusive: false })));
  return errors;
}

function validateHttpRule(http: HttpRule, pointer: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of ['path', 'method', 'host'] as const) {
    const source = http[field];
    if (source === undefined) continue;
    const problem = describeRegexProblem(source);
    if (problem) errors.push({ pointer: appendPointer(pointer, field), message: `${field} is not a valid regular expression: ${problem}`, rule: 'http-regex' });
  }
  (http.headers ?? []).forEach((header, i) => {
    if (!HEADER_NAME.test(header)) {
      errors.push({ pointer: appendPointer(pointer, 'headers', i), message: `header "${header}" must start with a header name (an RFC 9110 token)`, rule: 'http-header' });
    }
  });
  (http.headerMatches ?? []).forEach((match, i) => {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(match.name)) {
      errors.push({ pointer: appendPointer(pointer, 'headerMatches', i, 'name'), message: `"${match.name}" is not a header name (an RFC 9110 token)`, rule: 'http-header' });
    }
  });
  return errors;
}

function validateKafkaRule(kafka: KafkaRule, pointer: string): FieldError[] {
  const errors: FieldError[] = [];
  if (kafka.role !== undefined && kafka.apiKey !== undefined) {
    errors.push({ pointer: appendPointer(pointer, 'apiKey'), message: 'role and apiKey are mutually exclusive', rule: 'kafka' });
  }
  if (kafka.apiKey !== undefined && !KAFKA_API_KEYS.includes(kafka.apiKey.toLowerCase())) {
    errors.push({ pointer: appendPointer(pointer, 'apiKey'), message: `unknown Kafka apiKey "${kafka.apiKey}"`, rule: 'kafka' });
  }
  if (kafka.apiVersion !== undefined && !/^(0|[1-9][0-9]{0,4})$/.test(kafka.apiVersion)) {
    errors.push({ pointer: appendPointer(pointer, 'apiVersion'), message: 'apiVersion must be a non-negative integer', rule: 'kafka' });
  }
  if (kafka.topic !== undefined && !/^[a-zA-Z0-9._-]+$/.test(kafka.topic)) {
    errors.push({ pointer: appendPointer(pointer, 'topic'), message: 'a Kafka topic contains only letters, digits, ".", "_" and "-"', rule: 'kafka' });
  }
  return errors;
}
