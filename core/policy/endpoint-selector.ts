/**
 * Cilium endpoint selectors over Cilium label sets (core/labels/cilium-labels.ts): label-source-aware
 * matching and namespace scoping. The one implementation for the API (simulation) and the agent
 * (compile).
 *
 * Matching contract (Cilium pkg/policy/api EndpointSelector):
 * - A selector key may carry a source: `k8s:app`, `reserved:host`, `any:app`; a key without a source
 *   means `any:`. `any` matches a label of that key from every source; another source only its own.
 * - matchLabels / In: some label with the key (and a matching source) has the value / one of the values.
 *   NotIn: no such label has a listed value (an absent key matches). Exists / DoesNotExist: presence.
 *   Requirements are ANDed; an unknown operator never matches (fail closed).
 *
 * Scoping contract (Cilium pkg/k8s/apis/cilium.io/utils getEndpointSelector):
 * - Subject (`endpointSelector`) of a namespaced policy: AND `k8s:io.kubernetes.pod.namespace=<ns>`.
 *   Of a clusterwide policy: unchanged.
 * - Peer (`fromEndpoints`, `toEndpoints`, `fromRequires`, `toRequires`): unchanged when it selects on a
 *   `reserved:` label or names the pod namespace (`io.kubernetes.pod.namespace` under any source).
 *   Otherwise, in a namespaced policy: AND the policy's namespace unless the selector selects on
 *   namespace labels (`io.cilium.k8s.namespace.labels.*`), which reach across namespaces; in a
 *   clusterwide policy: AND `k8s:io.kubernetes.pod.namespace Exists`, so `{}` means "every pod of the
 *   cluster" and never host/world/… (those are selected by entities).
 */
import type { LabelSelector, LabelSelectorRequirement } from '../../openapi/types.js';
import { parseLabel, POD_NAMESPACE_LABEL, type CiliumLabel, type LabelSet } from '../labels/cilium-labels.js';
import { CILIUM_NAMESPACE_LABELS_PREFIX } from '../labels/label-syntax.js';

export interface SelectorKey {
  /** `any` when the selector key had no source */
  source: string;
  key: string;
}

export function parseSelectorKey(text: string): SelectorKey {
  const colon = text.indexOf(':');
  if (colon < 0) return { source: 'any', key: text };
  return { source: text.slice(0, colon), key: text.slice(colon + 1) };
}

/** A label set indexed by key for repeated matching. */
export interface IndexedLabels {
  byKey: ReadonlyMap<string, readonly CiliumLabel[]>;
}

export function indexLabels(labels: LabelSet): IndexedLabels {
  const byKey = new Map<string, CiliumLabel[]>();
  for (const text of labels) {
    const l = parseLabel(text);
    const list = byKey.get(l.key);
    if (list) list.push(l);
    else byKey.set(l.key, [l]);
  }
  return { byKey };
}

function valuesOf(labels: IndexedLabels, k: SelectorKey): string[] {
  return (labels.byKey.get(k.key) ?? []).filter((l) => k.source === 'any' || l.source === k.source).map((l) => l.value);
}

function matchesRequirement(req: LabelSelectorRequirement, labels: IndexedLabels): boolean {
  const present = valuesOf(labels, parseSelectorKey(req.key));
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return present.some((v) => values.includes(v));
    case 'NotIn':
      return !present.some((v) => values.includes(v));
    case 'Exists':
      return present.length > 0;
    case 'DoesNotExist':
      return present.length === 0;
    default:
      return false;
  }
}

/** Does the selector match the label set? (`labels` as canonical strings or pre-indexed.) */
export function matchesEndpointSelector(selector: LabelSelector, labels: LabelSet | IndexedLabels): boolean {
  const idx = Array.isArray(labels) ? indexLabels(labels as LabelSet) : (labels as IndexedLabels);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!valuesOf(idx, parseSelectorKey(key)).includes(value)) return false;
  }
  return (selector.matchExpressions ?? []).every((req) => matchesRequirement(req, idx));
}

function selectorKeys(selector: LabelSelector): SelectorKey[] {
  return [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((r) => r.key)].map(parseSelectorKey);
}

function and(selector: LabelSelector, req: LabelSelectorRequirement): LabelSelector {
  return { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), req] };
}

const namespaceIs = (ns: string): LabelSelectorRequirement => ({ key: `k8s:${POD_NAMESPACE_LABEL}`, operator: 'In', values: [ns] });

/** The subject selector as enforced: a namespaced policy only selects pods of its namespace. */
export function scopeSubjectSelector(selector: LabelSelector, namespace: string | undefined): LabelSelector {
  return namespace === undefined ? selector : and(selector, namespaceIs(namespace));
}

/** A peer selector (from/toEndpoints, from/toRequires) as enforced; see the scoping contract above. */
export function scopePeerSelector(selector: LabelSelector, namespace: string | undefined): LabelSelector {
  const keys = selectorKeys(selector);
  if (keys.some((k) => k.source === 'reserved')) return selector;
  if (keys.some((k) => k.key === POD_NAMESPACE_LABEL && (k.source === 'any' || k.source === 'k8s'))) return selector;
  if (namespace === undefined) return and(selector, { key: `k8s:${POD_NAMESPACE_LABEL}`, operator: 'Exists' });
  if (keys.some((k) => k.key.startsWith(CILIUM_NAMESPACE_LABELS_PREFIX))) return selector;
  return and(selector, namespaceIs(namespace));
}
