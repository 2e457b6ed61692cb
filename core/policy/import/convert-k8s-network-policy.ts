/**
 * Kubernetes NetworkPolicy (networking.k8s.io/v1) → the equivalent Cilium rule, as a fleet policy
 * named `<namespace>.<name>` with `spec.namespace` (metadata.namespace, default `default`).
 *
 * Contracts (after Cilium's pkg/k8s/network_policy.go, with Cilium's label conventions):
 * - Keys of Kubernetes selectors get Cilium's `k8s:` source. podSelector → endpointSelector.
 * - Directions: `policyTypes` when given; otherwise Ingress, plus Egress when `egress` has rules
 *   (Kubernetes defaulting). A listed direction with no rules becomes `[{}]`, Cilium's default deny.
 *   Rules of a direction not listed in policyTypes are ignored, as Kubernetes does (noted).
 * - One Cilium rule per peer; the NetworkPolicy rule's ports are copied to each.
 *   podSelector peer → fromEndpoints/toEndpoints with `k8s:io.kubernetes.pod.namespace: <ns>`.
 *   namespaceSelector peer (± podSelector) → its keys become `k8s:io.cilium.k8s.namespace.labels.<key>`;
 *   an empty namespaceSelector becomes `k8s:io.kubernetes.pod.namespace Exists` (every namespace).
 *   ipBlock → fromCIDRSet/toCIDRSet `{cidr, except}`.
 *   No peers (`from`/`to` absent or empty) = every source/destination, in or out of the cluster →
 *   `fromEntities/toEntities: [all]` (a `{}` endpoint selector would be namespace-scoped here).
 * - Ports: `port` number or name as a string (absent → "0", any port), `endPort`, `protocol`
 *   (default TCP), one toPorts entry per port.
 * - Unknown fields anywhere are rejected; so is a peer mixing ipBlock with selectors (Kubernetes does).
 */
import type { FieldError } from '../../../openapi/types.js';
import { appendPointer } from '../../json/json-pointer.js';
import { isPlainObject } from '../../json/plain-object.js';
import { dropNullProperties, noteIgnoredEnvelopeFields, readObjectName, type ConversionResult } from './conversion.js';
import type { PointerMapEntry } from './pointer-map.js';

const POD_NAMESPACE = 'k8s:io.kubernetes.pod.namespace';
const NAMESPACE_LABELS = 'k8s:io.cilium.k8s.namespace.labels.';

type Selector = { matchLabels?: Record<string, unknown>; matchExpressions?: Array<Record<string, unknown>> };
type Direction = 'ingress' | 'egress';

function unknownFields(value: Record<string, unknown>, allowed: readonly string[], pointer: string): FieldError[] {
  return Object.keys(value)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ pointer: appendPointer(pointer, k), message: 'unknown field', rule: 'additionalProperties' }));
}

function readSelector(value: unknown, pointer: string, errors: FieldError[]): Selector {
  if (!isPlainObject(value)) {
    errors.push({ pointer, message: 'must be a label selector object', rule: 'type' });
    return {};
  }
  errors.push(...unknownFields(value, ['matchLabels', 'matchExpressions'], pointer));
  return value as Selector;
}

/** Re-keys a Kubernetes selector: `rekey(key)` for every matchLabels key and expression key. */
function rekeySelector(selector: Selector, rekey: (key: string) => string): Selector {
  const out: Selector = {};
  if (selector.matchLabels) {
    out.matchLabels = Object.fromEntries(Object.entries(selector.matchLabels).map(([k, v]) => [rekey(k), v]));
  }
  if (selector.matchExpressions) {
    out.matchExpressions = selector.matchExpressions.map((e) => ({ ...e, key: typeof e.key === 'string' ? rekey(e.key) : e.key }));
  }
  return out;
}

function mergeSelectors(a: Selector, b: Selector): Selector {
  const out: Selector = {};
  if (a.matchLabels || b.matchLabels) out.matchLabels = { ...a.matchLabels, ...b.matchLabels };
  if (a.matchExpressions || b.matchExpressions) out.matchExpressions = [...(a.matchExpressions ?? []), ...(b.matchExpressions ?? [])];
  return out;
}

const podKey = (key: string): string => `k8s:${key}`;

function convertPeer(peer: unknown, pointer: string, namespace: string, errors: FieldError[]): { selector?: Selector; cidr?: Record<string, unknown> } | undefined {
  if (!isPlainObject(peer)) {
    errors.push({ pointer, message: 'a peer must be an object', rule: 'type' });
    return undefined;
  }
  errors.push(...unknownFields(peer, ['podSelector', 'namespaceSelector', 'ipBlock'], pointer));
  const hasSelectors = peer.podSelector !== undefined || peer.namespaceSelector !== undefined;
  if (peer.ipBlock !== undefined) {
    if (hasSelectors) {
      errors.push({ pointer: appendPointer(pointer, 'ipBlock'), message: 'ipBlock cannot be combined with podSelector or namespaceSelector in one peer', rule: 'peer' });
      return undefined;
    }
    const at = appendPointer(pointer, 'ipBlock');
    if (!isPlainObject(peer.ipBlock)) {
      errors.push({ pointer: at, message: 'ipBlock must be an object', rule: 'type' });
      return undefined;
    }
    errors.push(...unknownFields(peer.ipBlock, ['cidr', 'except'], at));
    if (peer.ipBlock.cidr === undefined) errors.push({ pointer: appendPointer(at, 'cidr'), message: 'is required', rule: 'required' });
    const cidr: Record<string, unknown> = { cidr: peer.ipBlock.cidr };
    if (peer.ipBlock.except !== undefined) cidr.except = peer.ipBlock.except;
    return { cidr };
  }
  if (!hasSelectors) {
    errors.push({ pointer, message: 'a peer needs podSelector, namespaceSelector or ipBlock', rule: 'peer' });
    return undefined;
  }
  const pods = peer.podSelector !== undefined ? rekeySelector(readSelector(peer.podSelector, appendPointer(pointer, 'podSelector'), errors), podKey) : {};
  if (peer.namespaceSelector === undefined) {
    return { selector: mergeSelectors(pods, { matchLabels: { [POD_NAMESPACE]: namespace } }) };
  }
  const nsSelector = readSelector(peer.namespaceSelector, appendPointer(pointer, 'namespaceSelector'), errors);
  let namespaces = rekeySelector(nsSelector, (key) => NAMESPACE_LABELS + key);
  if (Object.keys(namespaces.matchLabels ?? {}).length === 0 && (namespaces.matchExpressions ?? []).length === 0) {
    namespaces = { matchExpressions: [{ key: POD_NAMESPACE, operator: 'Exists' }] };
  }
  return { selector: mergeSelectors(namespaces, pods) };
}

function convertPort(port: unknown, pointer: string, errors: FieldError[]): Record<string, unknown> | undefined {
  if (!isPlainObject(port)) {
    errors.push({ pointer, message: 'a port must be an object', rule: 'type' });
    return undefined;
  }
  errors.push(...unknownFields(port, ['port', 'endPort', 'protocol'], pointer));
  const out: Record<string, unknown> = { port: port.port === undefined ? '0' : String(port.port as string | number) };
  if (port.endPort !== undefined) out.endPort = port.endPort;
  out.protocol = port.protocol ?? 'TCP';
  return out;
}

function convertDirection(rules: unknown, direction: Direction, namespace: string, errors: FieldError[], map: PointerMapEntry[]): Array<Record<string, unknown>> {
  const src = `/spec/${direction}`;
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  const cilium = direction === 'ingress'
    ? { endpoints: 'fromEndpoints', cidrs: 'fromCIDRSet', entities: 'fromEntities' }
    : { endpoints: 'toEndpoints', cidrs: 'toCIDRSet', entities: 'toEntities' };
  if (rules !== undefined && !Array.isArray(rules)) {
    errors.push({ pointer: src, message: 'must be a list of rules', rule: 'type' });
    return [];
  }
  const out: Array<Record<string, unknown>> = [];
  ((rules as unknown[] | undefined) ?? []).forEach((rule, i) => {
    const at = appendPointer(src, i);
    if (!isPlainObject(rule)) {
      errors.push({ pointer: at, message: 'a rule must be an object', rule: 'type' });
      return;
    }
    errors.push(...unknownFields(rule, [peersKey, 'ports'], at));
    const ports = rule.ports === undefined ? [] : Array.isArray(rule.ports) ? rule.ports : undefined;
    if (!ports) errors.push({ pointer: appendPointer(at, 'ports'), message: 'must be a list', rule: 'type' });
    const peersValue = rule[peersKey];
    const peers = peersValue === undefined ? [] : Array.isArray(peersValue) ? peersValue : undefined;
    if (!peers) errors.push({ pointer: appendPointer(at, peersKey), message: 'must be a list', rule: 'type' });
    const toPorts = (ports ?? []).flatMap((p, k) => {
      const converted = convertPort(p, appendPointer(at, 'ports', k), errors);
      return converted ? [{ ports: [converted] }] : [];
    });
    const emit = (body: Record<string, unknown>, peerMap: PointerMapEntry[]): void => {
      const fleet = appendPointer(src, out.length);
      map.push({ fleet, source: at, keepSuffix: false });
      (ports ?? []).forEach((_p, k) => map.push({ fleet: appendPointer(fleet, 'toPorts', k, 'ports', 0), source: appendPointer(at, 'ports', k), keepSuffix: true }));
      for (const entry of peerMap) map.push({ ...entry, fleet: fleet + entry.fleet });
      out.push(toPorts.length > 0 ? { ...body, toPorts } : body);
    };
    if (!peers || peers.length === 0) {
      emit({ [cilium.entities]: ['all'] }, []);
      return;
    }
    peers.forEach((peer, j) => {
      const peerAt = appendPointer(at, peersKey, j);
      const converted = convertPeer(peer, peerAt, namespace, errors);
      if (!converted) return;
      if (converted.cidr) {
        emit({ [cilium.cidrs]: [converted.cidr] }, [{ fleet: appendPointer('', cilium.cidrs, 0), source: appendPointer(peerAt, 'ipBlock'), keepSuffix: true }]);
      } else {
        emit({ [cilium.endpoints]: [converted.selector] }, [{ fleet: appendPointer('', cilium.endpoints), source: peerAt, keepSuffix: false }]);
      }
    });
  });
  return out;
}

export function convertK8sNetworkPolicy(source: Record<string, unknown>): ConversionResult {
  const doc = dropNullProperties(source) as Record<string, unknown>;
  const named = readObjectName(doc);
  if ('errors' in named) return { ok: false, errors: named.errors };
  const notes = noteIgnoredEnvelopeFields(doc, ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const errors: FieldError[] = [];
  const spec = doc.spec;
  if (!isPlainObject(spec)) return { ok: false, errors: [{ pointer: '/spec', message: 'spec is required', rule: 'required' }] };
  errors.push(...unknownFields(spec, ['podSelector', 'policyTypes', 'ingress', 'egress'], '/spec'));
  const namespace = named.namespace ?? 'default';

  let directions: Direction[];
  if (spec.policyTypes === undefined) {
    directions = Array.isArray(spec.egress) && spec.egress.length > 0 ? ['ingress', 'egress'] : ['ingress'];
  } else if (!Array.isArray(spec.policyTypes)) {
    errors.push({ pointer: '/spec/policyTypes', message: 'must be a list of Ingress / Egress', rule: 'type' });
    directions = [];
  } else {
    directions = [];
    spec.policyTypes.forEach((t, i) => {
      if (t === 'Ingress' || t === 'Egress') directions.push(t === 'Ingress' ? 'ingress' : 'egress');
      else errors.push({ pointer: appendPointer('/spec/policyTypes', i), message: 'must be Ingress or Egress', rule: 'enum' });
    });
  }

  const map: PointerMapEntry[] = [
    { fleet: '/metadata', source: '/metadata', keepSuffix: true },
    { fleet: '/spec/namespace', source: '/metadata/namespace', keepSuffix: false },
    { fleet: '/spec/endpointSelector', source: '/spec/podSelector', keepSuffix: false },
  ];
  const podSelector = spec.podSelector === undefined ? {} : readSelector(spec.podSelector, '/spec/podSelector', errors);
  const fleetSpec: Record<string, unknown> = { namespace, endpointSelector: rekeySelector(podSelector, podKey) };
  for (const direction of ['ingress', 'egress'] as const) {
    if (!directions.includes(direction)) {
      if (Array.isArray(spec[direction]) && (spec[direction] as unknown[]).length > 0) {
        notes.push(`ignored /spec/${direction}: policyTypes does not list ${direction === 'ingress' ? 'Ingress' : 'Egress'}`);
      }
      continue;
    }
    const rules = convertDirection(spec[direction], direction, namespace, errors, map);
    if (rules.length === 0) {
      fleetSpec[direction] = [{}];
      map.push({ fleet: `/spec/${direction}`, source: '/spec/policyTypes', keepSuffix: false });
    } else {
      fleetSpec[direction] = rules;
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const metadata = doc.metadata as Record<string, unknown>;
  return { ok: true, policy: { name: `${namespace}.${named.name}`, labels: metadata.labels, spec: fleetSpec, notes, pointerMap: map } };
}
