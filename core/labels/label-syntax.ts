/**
 * Syntax of Kubernetes label keys and values, plus Cilium's source-prefixed keys.
 *
 * Contracts:
 * - Key = [prefix "/"] name. prefix: DNS-1123 subdomain (≤ 253). name: ≤ 63 chars,
 *   `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
 * - Value: ≤ 63 chars, empty or `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
 * - Cilium selectors may carry a label source before the key (`k8s:app`, `any:app`, `reserved:host`);
 *   Cilium's own namespace-label keys (`io.cilium.k8s.namespace.labels.<namespace label key>`)
 *   embed a whole Kubernetes key, so their name part is checked after that prefix.
 * Functions return a reason string when invalid, undefined when valid.
 */

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Label sources Cilium knows (pkg/labels); `any` matches every source. */
export const CILIUM_LABEL_SOURCES: readonly string[] = [
  'any', 'k8s', 'reserved', 'container', 'unspec', 'cidr', 'fqdn', 'cidrgroup', 'node', 'cni',
];

/** Prefix Cilium uses for the labels of a pod's namespace. */
export const CILIUM_NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';

export function describeDnsSubdomainProblem(text: string): string | undefined {
  if (text.length === 0) return 'must not be empty';
  if (text.length > 253) return 'must be at most 253 characters';
  for (const label of text.split('.')) {
    if (!DNS_LABEL.test(label) || label.length > 63) {
      return 'must be a lower-case DNS subdomain (labels of a-z, 0-9 and "-", separated by ".")';
    }
  }
  return undefined;
}

export interface LabelKeyOptions {
  /** Accept a Cilium label source before the key (`k8s:`, `any:`, `reserved:` …). */
  allowSourcePrefix?: boolean;
}

export function describeLabelKeyProblem(key: string, options: LabelKeyOptions = {}): string | undefined {
  let rest = key;
  const colon = key.indexOf(':');
  if (colon >= 0) {
    const source = key.slice(0, colon);
    if (!options.allowSourcePrefix) return 'must not contain ":" (label sources are only allowed in endpoint selectors)';
    if (!CILIUM_LABEL_SOURCES.includes(source)) {
      return `unknown label source "${source}" (known: ${CILIUM_LABEL_SOURCES.join(', ')})`;
    }
    rest = key.slice(colon + 1);
  }
  const slash = rest.lastIndexOf('/');
  let name = rest;
  if (slash >= 0) {
    const prefix = rest.slice(0, slash);
    name = rest.slice(slash + 1);
    const problem = describeDnsSubdomainProblem(prefix);
    if (problem) return `prefix "${prefix}" ${problem}`;
  }
  if (options.allowSourcePrefix && name.startsWith(CILIUM_NAMESPACE_LABELS_PREFIX) && slash < 0) {
    name = name.slice(CILIUM_NAMESPACE_LABELS_PREFIX.length);
  }
  if (name.length === 0) return 'name part must not be empty';
  if (name.length > 63) return 'name part must be at most 63 characters';
  if (!NAME.test(name)) {
    return 'name part must start and end with an alphanumeric character and contain only alphanumerics, "-", "_" and "."';
  }
  return undefined;
}

export function describeLabelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return 'must be at most 63 characters';
  if (!NAME.test(value)) {
    return 'must be empty or start and end with an alphanumeric character and contain only alphanumerics, "-", "_" and "."';
  }
  return undefined;
}
