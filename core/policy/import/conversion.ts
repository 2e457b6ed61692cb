/** Shared shapes and helpers of the import converters. */
import type { FieldError } from '../../../openapi/types.js';
import { appendPointer } from '../../json/json-pointer.js';
import { isPlainObject } from '../../json/plain-object.js';
import type { PointerMapEntry } from './pointer-map.js';

/** A source policy turned into the parts of a fleet NetworkPolicy (not yet validated). */
export interface ConvertedPolicy {
  /** Fleet name, before validation against ResourceName. */
  name: string;
  /** Where the name comes from, for messages (default: metadata.name, or <namespace>.<name>). */
  nameSource?: string;
  /** Source pointer an invalid or duplicate name is reported at (default `/metadata/name`). */
  namePointer?: string;
  /** metadata.labels of the source, copied to the fleet policy. */
  labels?: unknown;
  /** The fleet spec without mode/targets (added by the importer). */
  spec: Record<string, unknown>;
  pointerMap: PointerMapEntry[];
  /** Applied after pointerMap, e.g. to restore field names as written (bare rules). */
  toSourcePointer?: (pointer: string) => string;
  /** Things ignored on the way, reported in the outcome's reason. */
  notes: string[];
}

export type ConversionResult = { ok: true; policy: ConvertedPolicy } | { ok: false; errors: FieldError[] };

/** Object metadata fields Kubernetes defines (ObjectMeta); anything else is ignored with a note. */
export const OBJECT_META_FIELDS: readonly string[] = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation',
  'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations',
  'ownerReferences', 'finalizers', 'managedFields',
];

/**
 * Kubernetes decodes `null` for an optional field as "unset": drop null-valued object properties,
 * recursively (array elements are kept so indices still match the source).
 */
export function dropNullProperties(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNullProperties);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== null) out[key] = dropNullProperties(item);
  }
  return out;
}

/** Notes for envelope fields outside `allowed` (top level) and outside ObjectMeta (metadata). */
export function noteIgnoredEnvelopeFields(doc: Record<string, unknown>, allowed: readonly string[]): string[] {
  const notes: string[] = [];
  for (const key of Object.keys(doc)) {
    if (!allowed.includes(key)) notes.push(`ignored ${appendPointer('', key)}: not a field of this kind (Kubernetes prunes it)`);
  }
  const metadata = doc.metadata;
  if (isPlainObject(metadata)) {
    for (const key of Object.keys(metadata)) {
      if (!OBJECT_META_FIELDS.includes(key)) notes.push(`ignored ${appendPointer('/metadata', key)}: not an ObjectMeta field (Kubernetes prunes it)`);
    }
  }
  return notes;
}

/** Reads metadata.name / metadata.namespace; errors point at the offending field. */
export function readObjectName(doc: Record<string, unknown>): { name: string; namespace?: string } | { errors: FieldError[] } {
  const metadata = doc.metadata;
  if (!isPlainObject(metadata)) return { errors: [{ pointer: '/metadata', message: 'metadata is required', rule: 'required' }] };
  const errors: FieldError[] = [];
  if (typeof metadata.name !== 'string' || metadata.name === '') {
    errors.push({ pointer: '/metadata/name', message: 'metadata.name is required', rule: 'required' });
  }
  if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') {
    errors.push({ pointer: '/metadata/namespace', message: 'metadata.namespace must be a string', rule: 'type' });
  }
  if (errors.length > 0) return { errors };
  return typeof metadata.namespace === 'string' && metadata.namespace !== ''
    ? { name: metadata.name as string, namespace: metadata.namespace }
    : { name: metadata.name as string };
}
