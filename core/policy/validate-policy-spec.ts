/**
 * Semantic validation of a NetworkPolicySpec: what the JSON schema cannot express. The input is
 * assumed to have passed the schema (#/components/schemas/NetworkPolicySpec) already.
 *
 * Contract: returns every problem found (not only the first), each with an RFC 6901 pointer to the
 * exact field under `pointer`, a message, and `rule` naming the semantic rule. Mirrors Cilium's
 * rule validation (pkg/policy/api/rule_validation.go and friends); deviations are documented where the
 * check lives (rules/cidr.ts, rules/ports.ts, rules/fqdn.ts, rules/l7.ts).
 *
 * Rule-level checks:
 * - A spec must select something: the inline rule, unless non-empty `specs` are given (then an inline
 *   rule is optional), and every `specs` entry, need exactly one of endpointSelector / nodeSelector and
 *   at least one of ingress / ingressDeny / egress / egressDeny.
 * - With `namespace` (CiliumNetworkPolicy semantics): no nodeSelector (host policies are cluster-wide),
 *   and an endpointSelector must not pin another namespace via `[k8s:|any:]io.kubernetes.pod.namespace`.
 * - Per ingress/egress rule: at most one kind of L3 peer (Cilium: "combining X and Y is not supported");
 *   `icmps` not together with `toPorts`; selectors, CIDRs, entities, FQDNs, ports, ICMP and L7 checked.
 */
import type {
  EgressDenyRule,
  EgressRule,
  FieldError,
  IngressDenyRule,
  IngressRule,
  LabelSelector,
  NetworkPolicySpec,
  PortRule,
  Rule,
} from '../../openapi/types.js';
import { appendPointer } from '../json/json-pointer.js';
import { validateLabelSelector } from '../labels/label-selector.js';
import { validateCidr, validateCidrRule } from './rules/cidr.js';
import { validateEntity } from './rules/entities.js';
import { validateFqdnSelector } from './rules/fqdn.js';
import { validateIcmpField } from './rules/icmp.js';
import { validatePortRule } from './rules/l7.js';
import { validatePortProtocol } from './rules/ports.js';

const RULE_KEYS = [
  'endpointSelector', 'nodeSelector', 'ingress', 'ingressDeny', 'egress', 'egressDeny',
  'labels', 'enableDefaultDeny', 'description', 'log',
] as const;

const NAMESPACE_KEYS = ['io.kubernetes.pod.namespace', 'k8s:io.kubernetes.pod.namespace', 'any:io.kubernetes.pod.namespace'];

const INGRESS_PEERS = ['fromEndpoints', 'fromCIDR', 'fromCIDRSet', 'fromEntities', 'fromNodes', 'fromGroups'] as const;
const EGRESS_PEERS = ['toEndpoints', 'toCIDR', 'toCIDRSet', 'toEntities', 'toServices', 'toFQDNs', 'toGroups', 'toNodes'] as const;

const ENDPOINT_SELECTOR = { allowSourcePrefix: true };

interface RuleContext {
  namespace: string | undefined;
  hostPolicy: boolean;
}

export function validatePolicySpec(spec: NetworkPolicySpec, pointer = '/spec'): FieldError[] {
  const errors: FieldError[] = [];
  if (spec.targets?.clusterSelector) {
    errors.push(...validateLabelSelector(spec.targets.clusterSelector, appendPointer(pointer, 'targets', 'clusterSelector')));
  }
  const specs = spec.specs ?? [];
  const hasInlineRule = RULE_KEYS.some((key) => spec[key] !== undefined);
  if (specs.length === 0 || hasInlineRule) {
    errors.push(...validateRule(spec, pointer, spec.namespace, specs.length > 0 ? 'the inline rule' : 'a policy without specs'));
  }
  specs.forEach((rule, i) => errors.push(...validateRule(rule, appendPointer(pointer, 'specs', i), spec.namespace, `specs[${i}]`)));
  return errors;
}

function validateRule(rule: Rule, pointer: string, namespace: string | undefined, what: string): FieldError[] {
  const errors: FieldError[] = [];
  const at = (...tokens: Array<string | number>): string => appendPointer(pointer, ...tokens);

  if (!rule.endpointSelector && !rule.nodeSelector) {
    errors.push({ pointer, message: `${what} must select something: set endpointSelector (pods) or nodeSelector (nodes)`, rule: 'rule-subject' });
  }
  if (rule.endpointSelector && rule.nodeSelector) {
    errors.push({ pointer: at('nodeSelector'), message: 'a rule has either endpointSelector or nodeSelector, not both', rule: 'rule-subject' });
  }
  if (!rule.ingress && !rule.ingressDeny && !rule.egress && !rule.egressDeny) {
    errors.push({ pointer, message: `${what} needs at least one of ingress, ingressDeny, egress, egressDeny`, rule: 'rule-direction' });
  }
  if (rule.endpointSelector) {
    errors.push(...validateLabelSelector(rule.endpointSelector, at('endpointSelector'), ENDPOINT_SELECTOR));
    if (namespace !== undefined) errors.push(...validateNamespacePin(rule.endpointSelector, at('endpointSelector'), namespace));
  }
  if (rule.nodeSelector) {
    errors.push(...validateLabelSelector(rule.nodeSelector, at('nodeSelector'), ENDPOINT_SELECTOR));
    if (namespace !== undefined) {
      errors.push({ pointer: at('nodeSelector'), message: 'nodeSelector (a host policy) is cluster-wide and cannot be used with namespace', rule: 'rule-subject' });
    }
  }
  const ctx: RuleContext = { namespace, hostPolicy: rule.nodeSelector !== undefined && rule.endpointSelector === undefined };
  rule.ingress?.forEach((r, i) => errors.push(...validateIngress(r, at('ingress', i), ctx, false)));
  rule.ingressDeny?.forEach((r, i) => errors.push(...validateIngress(r, at('ingressDeny', i), ctx, true)));
  rule.egress?.forEach((r, i) => errors.push(...validateEgress(r, at('egress', i), ctx, false)));
  rule.egressDeny?.forEach((r, i) => errors.push(...validateEgress(r, at('egressDeny', i), ctx, true)));
  return errors;
}

function validateNamespacePin(selector: LabelSelector, pointer: string, namespace: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const key of NAMESPACE_KEYS) {
    const value = selector.matchLabels?.[key];
    if (value !== undefined && value !== namespace) {
      errors.push({
        pointer: appendPointer(pointer, 'matchLabels', key),
        message: `the policy lives in namespace "${namespace}" but its endpointSelector pins namespace "${value}"`,
        rule: 'namespace-pin',
      });
    }
  }
  selector.matchExpressions?.forEach((req, i) => {
    if (!NAMESPACE_KEYS.includes(req.key)) return;
    const values = req.values ?? [];
    const excludes =
      (req.operator === 'In' && !values.includes(namespace)) ||
      (req.operator === 'NotIn' && values.includes(namespace)) ||
      req.operator === 'DoesNotExist';
    if (excludes) {
      errors.push({
        pointer: appendPointer(pointer, 'matchExpressions', i),
        message: `the policy lives in namespace "${namespace}" but this requirement excludes it, so the rule could select nothing`,
        rule: 'namespace-pin',
      });
    }
  });
  return errors;
}

function validatePeerExclusivity(rule: Record<string, unknown>, peers: readonly string[], pointer: string): FieldError[] {
  const present = peers.filter((key) => {
    const value = rule[key];
    return Array.isArray(value) && value.length > 0;
  });
  if (present.length < 2) return [];
  return present.slice(1).map((key) => ({
    pointer: appendPointer(pointer, key),
    message: `${present[0]} and ${key} cannot be combined in one rule (Cilium rejects it); put them in separate rules`,
    rule: 'peer-combination',
  }));
}

function validateIcmpsAndPorts(rule: IngressRule | EgressRule | IngressDenyRule | EgressDenyRule, pointer: string): FieldError[] {
  const errors: FieldError[] = [];
  if ((rule.icmps?.length ?? 0) > 0 && (rule.toPorts?.length ?? 0) > 0) {
    errors.push({ pointer: appendPointer(pointer, 'icmps'), message: 'icmps cannot be combined with toPorts in one rule; use separate rules', rule: 'icmp-with-ports' });
  }
  rule.icmps?.forEach((icmp, i) =>
    icmp.fields?.forEach((field, j) => errors.push(...validateIcmpField(field, appendPointer(pointer, 'icmps', i, 'fields', j)))),
  );
  return errors;
}

function validateSelectors(list: LabelSelector[] | undefined, pointer: string): FieldError[] {
  return (list ?? []).flatMap((s, i) => validateLabelSelector(s, appendPointer(pointer, i), ENDPOINT_SELECTOR));
}

function validateToPorts(rule: IngressRule | EgressRule | IngressDenyRule | EgressDenyRule, pointer: string, ctx: RuleContext, direction: 'ingress' | 'egress', deny: boolean): FieldError[] {
  return (rule.toPorts ?? []).flatMap((portRule, i) => {
    const at = appendPointer(pointer, 'toPorts', i);
    if (deny) return (portRule.ports ?? []).flatMap((port, j) => validatePortProtocol(port, appendPointer(at, 'ports', j)));
    return validatePortRule(portRule as PortRule, at, { direction, hostPolicy: ctx.hostPolicy });
  });
}

function validateIngress(rule: IngressRule | IngressDenyRule, pointer: string, ctx: RuleContext, deny: boolean): FieldError[] {
  const at = (key: string): string => appendPointer(pointer, key);
  return [
    ...validatePeerExclusivity(rule, INGRESS_PEERS, pointer),
    ...validateSelectors(rule.fromEndpoints, at('fromEndpoints')),
    ...validateSelectors(rule.fromRequires, at('fromRequires')),
    ...validateSelectors(rule.fromNodes, at('fromNodes')),
    ...(rule.fromCIDR ?? []).flatMap((c, i) => validateCidr(c, appendPointer(pointer, 'fromCIDR', i))),
    ...(rule.fromCIDRSet ?? []).flatMap((c, i) => validateCidrRule(c, appendPointer(pointer, 'fromCIDRSet', i))),
    ...(rule.fromEntities ?? []).flatMap((e, i) => validateEntity(e, appendPointer(pointer, 'fromEntities', i))),
    ...validateIcmpsAndPorts(rule, pointer),
    ...validateToPorts(rule, pointer, ctx, 'ingress', deny),
  ];
}

function validateEgress(rule: EgressRule | EgressDenyRule, pointer: string, ctx: RuleContext, deny: boolean): FieldError[] {
  const at = (key: string): string => appendPointer(pointer, key);
  const fqdns = 'toFQDNs' in rule ? (rule as EgressRule).toFQDNs : undefined;
  return [
    ...validatePeerExclusivity(rule, EGRESS_PEERS, pointer),
    ...validateSelectors(rule.toEndpoints, at('toEndpoints')),
    ...validateSelectors(rule.toRequires, at('toRequires')),
    ...validateSelectors(rule.toNodes, at('toNodes')),
    ...(rule.toCIDR ?? []).flatMap((c, i) => validateCidr(c, appendPointer(pointer, 'toCIDR', i))),
    ...(rule.toCIDRSet ?? []).flatMap((c, i) => validateCidrRule(c, appendPointer(pointer, 'toCIDRSet', i))),
    ...(rule.toEntities ?? []).flatMap((e, i) => validateEntity(e, appendPointer(pointer, 'toEntities', i))),
    ...(rule.toServices ?? []).flatMap((svc, i) =>
      svc.k8sServiceSelector
        ? validateLabelSelector(svc.k8sServiceSelector.selector, appendPointer(pointer, 'toServices', i, 'k8sServiceSelector', 'selector'))
        : [],
    ),
    ...(fqdns ?? []).flatMap((f, i) => validateFqdnSelector(f, appendPointer(pointer, 'toFQDNs', i), { exclusive: true })),
    ...validateIcmpsAndPorts(rule, pointer),
    ...validateToPorts(rule, pointer, ctx, 'egress', deny),
  ];
}
