/**
 * A bare Cilium rule — what `cilium policy import` reads (one rule, or one element of a JSON array of
 * rules): the fields of a CiliumNetworkPolicy's `spec`, no `apiVersion`/`kind`/`metadata` — → fleet
 * NetworkPolicy parts.
 *
 * Contracts:
 * - Recognised (isBareCiliumRule) when the object has no `kind` or `apiVersion` in any letter case and
 *   has `endpointSelector` or `nodeSelector` in any letter case (Cilium requires one of them).
 * - Field names are matched as Cilium's Go decoder matches them (case-insensitively; see
 *   normalize-rule-keys.ts) and stored under the contract's canonical names. Kubernetes documents
 *   (CiliumNetworkPolicy etc.) stay case-sensitive, as the Kubernetes API server decodes them.
 * - Null-valued properties are dropped (Go leaves such fields unset); a label written in Cilium's short
 *   form `[source:]key[=value]` becomes `{key, value, source}` (source `unspec` when absent), noted.
 * - The rule is imported as written, without `spec.namespace`: Cilium applies an imported rule as it
 *   stands (rules taken from `cilium policy get` already carry the namespace in their selectors).
 * - Fleet-only keys (`targets`, `mode`, `namespace`, `specs`) are unknown fields of a rule and reject it.
 * - Naming (deterministic): with a label `io.cilium.k8s.policy.name` (any source) the fleet name is
 *   `<io.cilium.k8s.policy.namespace>.<name>` when the namespace label is present, else `<name>` — the
 *   name the CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy the rule came from imports under.
 *   Otherwise `rule-<h>`, h = the first 12 hex digits of the SHA-256 of the stored rule (canonical
 *   field names, object keys sorted, no whitespace): the same rule always gets the same name, wherever
 *   it sits in the body, so re-importing a file is idempotent; a changed rule is a new policy.
 */
import { createHash } from 'node:crypto';
import type { FieldError } from '../../../openapi/types.js';
import { appendPointer } from '../../json/json-pointer.js';
import { isPlainObject } from '../../json/plain-object.js';
import { dropNullProperties, type ConversionResult } from './conversion.js';
import { fillPortlessPorts } from './convert-cilium-policy.js';
import { createRuleKeyNormalizer, toSourcePointer } from './normalize-rule-keys.js';

export const POLICY_NAME_LABEL = 'io.cilium.k8s.policy.name';
export const POLICY_NAMESPACE_LABEL = 'io.cilium.k8s.policy.namespace';

const FLEET_ONLY_KEYS = ['targets', 'mode', 'namespace', 'specs'];

const hasKeyFolded = (doc: Record<string, unknown>, name: string): boolean => Object.keys(doc).some((k) => k.toLowerCase() === name.toLowerCase());

/** True for an object that is a bare Cilium rule rather than a Kubernetes document. */
export function isBareCiliumRule(doc: Record<string, unknown>): boolean {
  if (hasKeyFolded(doc, 'kind') || hasKeyFolded(doc, 'apiVersion')) return false;
  return hasKeyFolded(doc, 'endpointSelector') || hasKeyFolded(doc, 'nodeSelector');
}

/** JSON with object keys sorted at every level (arrays keep their order). */
export function stringifyCanonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stringifyCanonical).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stringifyCanonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Cilium's short label form `[source:]key[=value]` (the source ends at the first `:` before any `=`). */
export function parseShortLabel(text: string): { key: string; value?: string; source: string } {
  const eq = text.indexOf('=');
  const colon = text.indexOf(':');
  let source = 'unspec';
  let rest = text;
  if (colon >= 0 && (eq < 0 || colon < eq)) {
    source = text.slice(0, colon);
    rest = text.slice(colon + 1);
  }
  const at = rest.indexOf('=');
  return at < 0 ? { key: rest, source } : { key: rest.slice(0, at), value: rest.slice(at + 1), source };
}

let normalizeKeys: ReturnType<typeof createRuleKeyNormalizer> | undefined;

export function convertCiliumRule(source: Record<string, unknown>): ConversionResult {
  normalizeKeys ??= createRuleKeyNormalizer();
  const normalized = normalizeKeys(dropNullProperties(source));
  const rule = normalized.value as Record<string, unknown>;
  const at = (pointer: string): string => toSourcePointer(pointer, normalized.renames);
  const errors: FieldError[] = [...normalized.errors];
  for (const key of FLEET_ONLY_KEYS) {
    if (key in rule) errors.push({ pointer: appendPointer('', key), message: 'unknown field', rule: 'unevaluatedProperties' });
  }
  if (errors.length > 0) return { ok: false, errors };

  const notes: string[] = [];
  if (Array.isArray(rule.labels)) {
    rule.labels = rule.labels.map((label: unknown, i) => {
      if (typeof label !== 'string' || label === '') return label;
      notes.push(`read ${at(appendPointer('/labels', i))} "${label}" as {key, value, source}`);
      return parseShortLabel(label);
    });
  }
  fillPortlessPorts(rule, '', notes);
  for (let i = 0; i < notes.length; i++) notes[i] = notes[i]!.replace(/^set (\S+)/, (_m, p: string) => `set ${at(p)}`);

  const labelValue = (key: string): { value: string; index: number } | undefined => {
    if (!Array.isArray(rule.labels)) return undefined;
    const index = rule.labels.findIndex((l: unknown) => isPlainObject(l) && l.key === key && typeof l.value === 'string' && l.value !== '');
    return index < 0 ? undefined : { value: (rule.labels[index] as { value: string }).value, index };
  };
  const nameLabel = labelValue(POLICY_NAME_LABEL);
  const namespaceLabel = labelValue(POLICY_NAMESPACE_LABEL);
  const named = nameLabel
    ? {
        name: namespaceLabel ? `${namespaceLabel.value}.${nameLabel.value}` : nameLabel.value,
        nameSource: namespaceLabel ? `labels ${POLICY_NAMESPACE_LABEL}.${POLICY_NAME_LABEL}` : `label ${POLICY_NAME_LABEL}`,
        namePointer: at(appendPointer('/labels', nameLabel.index, 'value')),
      }
    : {
        name: `rule-${createHash('sha256').update(stringifyCanonical(rule)).digest('hex').slice(0, 12)}`,
        nameSource: 'the hash of the rule',
        namePointer: '',
      };

  return {
    ok: true,
    policy: {
      ...named,
      spec: rule,
      notes,
      pointerMap: [{ fleet: '/spec', source: '', keepSuffix: true }],
      toSourcePointer: at,
    },
  };
}
