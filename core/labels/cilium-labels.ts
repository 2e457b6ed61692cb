/**
 * Cilium security labels of a pod: the label set its identity is derived from.
 *
 * Contract (Cilium pkg/k8s, pkg/labels):
 * - A label is `source:key=value`; pods' labels use source `k8s`. The canonical form of a label set
 *   is the list of `source:key=value` strings, sorted by UTF-16 code units, without duplicates.
 * - A pod's set: every pod label as `k8s:<key>=<value>` (except the per-replica keys in
 *   IDENTITY_EXCLUDED_POD_LABELS, which Cilium's default label filter also drops so replicas of one
 *   workload share an identity), plus
 *   `k8s:io.kubernetes.pod.namespace=<ns>`,
 *   `k8s:io.cilium.k8s.policy.serviceaccount=<sa>` (when the pod has one),
 *   `k8s:io.cilium.k8s.namespace.labels.<key>=<value>` per label of its namespace,
 *   `k8s:io.cilium.k8s.policy.cluster=<clusterId>` (when known).
 * - Reserved identities carry one label `reserved:<name>` (reserved:host, reserved:world, …).
 */
import { CILIUM_NAMESPACE_LABELS_PREFIX } from './label-syntax.js';

export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const SERVICE_ACCOUNT_LABEL = 'io.cilium.k8s.policy.serviceaccount';
export const CLUSTER_LABEL = 'io.cilium.k8s.policy.cluster';

/** Pod label keys left out of identities (they differ per replica / revision). */
export const IDENTITY_EXCLUDED_POD_LABELS: readonly string[] = [
  'pod-template-hash',
  'pod-template-generation',
  'controller-revision-hash',
  'controller-uid',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-completion-index',
];

export interface CiliumLabel {
  source: string;
  key: string;
  value: string;
}

/** Canonical, sorted `source:key=value` strings. */
export type LabelSet = readonly string[];

export interface PodLabelInput {
  labels: Readonly<Record<string, string>>;
  namespace: string;
  serviceAccount?: string | undefined;
  namespaceLabels?: Readonly<Record<string, string>> | undefined;
  clusterId?: string | undefined;
}

export function formatLabel(label: CiliumLabel): string {
  return `${label.source}:${label.key}=${label.value}`;
}

/** Parses `source:key=value` (the first ':' ends the source, the first '=' after it ends the key). */
export function parseLabel(text: string): CiliumLabel {
  const colon = text.indexOf(':');
  const eq = text.indexOf('=', colon + 1);
  if (colon < 0 || eq < 0) throw new RangeError(`not a source:key=value label: ${text}`);
  return { source: text.slice(0, colon), key: text.slice(colon + 1, eq), value: text.slice(eq + 1) };
}

export function canonicalLabelSet(labels: Iterable<string>): LabelSet {
  return [...new Set(labels)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function buildPodLabelSet(input: PodLabelInput): LabelSet {
  const out: string[] = [];
  for (const [key, value] of Object.entries(input.labels)) {
    if (!IDENTITY_EXCLUDED_POD_LABELS.includes(key)) out.push(formatLabel({ source: 'k8s', key, value }));
  }
  out.push(formatLabel({ source: 'k8s', key: POD_NAMESPACE_LABEL, value: input.namespace }));
  if (input.serviceAccount) out.push(formatLabel({ source: 'k8s', key: SERVICE_ACCOUNT_LABEL, value: input.serviceAccount }));
  for (const [key, value] of Object.entries(input.namespaceLabels ?? {})) {
    out.push(formatLabel({ source: 'k8s', key: CILIUM_NAMESPACE_LABELS_PREFIX + key, value }));
  }
  if (input.clusterId) out.push(formatLabel({ source: 'k8s', key: CLUSTER_LABEL, value: input.clusterId }));
  return canonicalLabelSet(out);
}
