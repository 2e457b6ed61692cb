/**
 * CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy (cilium.io/v2) → fleet NetworkPolicy parts.
 *
 * Contracts:
 * - CNP (namespaced): fleet name `<namespace>.<name>`, `spec.namespace` = metadata.namespace or
 *   `default` when absent (Kubernetes' default namespace). CCNP: fleet name `<name>`, no namespace
 *   (a metadata.namespace on a cluster-scoped object is ignored with a note).
 * - `spec` (one rule) becomes the inline rule, `specs` becomes `spec.specs`; field names are Cilium's,
 *   so the rule is copied unchanged and the fleet JSON schema + semantic validation judge it.
 * - Fleet-only keys (`targets`, `mode`, `namespace`, `specs`) inside a source rule are unknown fields
 *   there and are rejected rather than silently re-interpreted.
 * - Null-valued properties are dropped first (Kubernetes treats them as unset).
 * - A port entry of a portless protocol (VRRP, IGMP) without `port` gets `port: "0"`: Cilium allows
 *   "empty or 0" for these and treats both alike, while the fleet contract requires `port` (noted).
 */
import type { FieldError } from '../../../openapi/types.js';
import { appendPointer } from '../../json/json-pointer.js';
import { isPlainObject } from '../../json/plain-object.js';
import { dropNullProperties, noteIgnoredEnvelopeFields, readObjectName, type ConversionResult } from './conversion.js';

const PORTLESS_PROTOCOLS = ['VRRP', 'IGMP'];
const DIRECTIONS = ['ingress', 'ingressDeny', 'egress', 'egressDeny'];

/** Fills `port: "0"` into portless-protocol port entries of one rule (in place), noting each. */
export function fillPortlessPorts(rule: unknown, pointer: string, notes: string[]): void {
  if (!isPlainObject(rule)) return;
  for (const direction of DIRECTIONS) {
    const list = rule[direction];
    if (!Array.isArray(list)) continue;
    list.forEach((entry: unknown, i) => {
      if (!isPlainObject(entry) || !Array.isArray(entry.toPorts)) return;
      entry.toPorts.forEach((portRule: unknown, j) => {
        if (!isPlainObject(portRule) || !Array.isArray(portRule.ports)) return;
        portRule.ports.forEach((port: unknown, k) => {
          if (isPlainObject(port) && port.port === undefined && PORTLESS_PROTOCOLS.includes(port.protocol as string)) {
            port.port = '0';
            notes.push(`set ${appendPointer(pointer, direction, i, 'toPorts', j, 'ports', k, 'port')} to "0" (${String(port.protocol)} has no ports)`);
          }
        });
      });
    });
  }
}

const FLEET_ONLY_KEYS = ['targets', 'mode', 'namespace', 'specs'];
const ENVELOPE = ['apiVersion', 'kind', 'metadata', 'spec', 'specs', 'status'];

export function convertCiliumPolicy(source: Record<string, unknown>, clusterwide: boolean): ConversionResult {
  const doc = dropNullProperties(source) as Record<string, unknown>;
  const named = readObjectName(doc);
  if ('errors' in named) return { ok: false, errors: named.errors };
  const notes = noteIgnoredEnvelopeFields(doc, ENVELOPE);
  const errors: FieldError[] = [];

  const spec: Record<string, unknown> = {};
  if (doc.spec !== undefined) {
    if (!isPlainObject(doc.spec)) {
      errors.push({ pointer: '/spec', message: 'spec must be an object (one Cilium rule)', rule: 'type' });
    } else {
      for (const key of FLEET_ONLY_KEYS) {
        if (key in doc.spec) errors.push({ pointer: appendPointer('/spec', key), message: 'unknown field', rule: 'unevaluatedProperties' });
      }
      Object.assign(spec, doc.spec);
    }
  }
  if (doc.specs !== undefined) {
    if (!Array.isArray(doc.specs)) errors.push({ pointer: '/specs', message: 'specs must be a list of Cilium rules', rule: 'type' });
    else spec.specs = doc.specs;
  }
  if (doc.spec === undefined && doc.specs === undefined) {
    errors.push({ pointer: '/spec', message: 'a Cilium policy needs spec or specs', rule: 'required' });
  }
  if (errors.length > 0) return { ok: false, errors };
  fillPortlessPorts(doc.spec, '/spec', notes);
  if (Array.isArray(doc.specs)) doc.specs.forEach((rule: unknown, i) => fillPortlessPorts(rule, appendPointer('/specs', i), notes));

  let name = named.name;
  if (clusterwide) {
    if (named.namespace !== undefined) notes.push('ignored /metadata/namespace: CiliumClusterwideNetworkPolicy is cluster-scoped');
  } else {
    const namespace = named.namespace ?? 'default';
    spec.namespace = namespace;
    name = `${namespace}.${named.name}`;
  }
  const metadata = doc.metadata as Record<string, unknown>;
  return {
    ok: true,
    policy: {
      name,
      labels: metadata.labels,
      spec,
      notes,
      pointerMap: [
        { fleet: '/metadata', source: '/metadata', keepSuffix: true },
        { fleet: '/spec', source: '/spec', keepSuffix: true },
        { fleet: '/spec/specs', source: '/specs', keepSuffix: true },
        { fleet: '/spec/namespace', source: '/metadata/namespace', keepSuffix: false },
      ],
    },
  };
}
