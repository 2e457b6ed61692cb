/**
 * Semantic validation of EncryptionSettingsSpec (after the JSON schema has passed).
 *
 * Contracts / decisions:
 * - `ipsec.keyRotationDuration`: a Go duration (go-duration.ts), strictly positive.
 * - Blocks must fit the encryption type an entry ends up with when merged over `default` alone
 *   (`entry.type ?? default.type`): `strictMode` only with wireguard (Cilium's strict mode is
 *   WireGuard-only), `ipsec` only with ipsec. Overrides are checked against `default` only, because
 *   which other overrides also match depends on the cluster; computeEffectiveEncryption drops a block
 *   that no longer fits the effective type (see effective-encryption.ts).
 * - Strict egress mode enabled (after merging over default) needs `strictMode.egress.cidr`, which must
 *   be a CIDR with an explicit prefix length.
 * - Override names are unique; override cluster selectors are valid label selectors (no Cilium sources).
 */
import type { EncryptionConfig, EncryptionSettingsSpec, FieldError } from '../../openapi/types.js';
import { appendPointer } from '../json/json-pointer.js';
import { validateLabelSelector } from '../labels/label-selector.js';
import { parsePrefix } from '../policy/rules/cidr.js';
import { mergeEncryptionConfig } from './effective-encryption.js';
import { parseGoDuration } from './go-duration.js';

export function validateEncryptionSpec(spec: EncryptionSettingsSpec, pointer = '/spec'): FieldError[] {
  const errors: FieldError[] = [];
  const defaultPointer = appendPointer(pointer, 'default');
  errors.push(...validateConfig(spec.default, spec.default, defaultPointer));
  const seen = new Map<string, number>();
  (spec.overrides ?? []).forEach((override, i) => {
    const at = appendPointer(pointer, 'overrides', i);
    const first = seen.get(override.name);
    if (first !== undefined) {
      errors.push({ pointer: appendPointer(at, 'name'), message: `override name "${override.name}" is already used by overrides[${first}]`, rule: 'unique-name' });
    } else {
      seen.set(override.name, i);
    }
    errors.push(...validateLabelSelector(override.clusterSelector, appendPointer(at, 'clusterSelector')));
    errors.push(...validateConfig(override.settings, mergeEncryptionConfig(spec.default, override.settings), appendPointer(at, 'settings')));
  });
  return errors;
}

/** `entry` is what was written (pointers point into it); `merged` is the entry merged over default. */
function validateConfig(entry: EncryptionConfig, merged: EncryptionConfig, pointer: string): FieldError[] {
  const errors: FieldError[] = [];
  const type = merged.type;
  if (entry.strictMode !== undefined && type !== 'wireguard') {
    errors.push({
      pointer: appendPointer(pointer, 'strictMode'),
      message: `strictMode is WireGuard-only, but the encryption type here is ${type ?? 'not set'}`,
      rule: 'strict-mode-type',
    });
  }
  if (entry.ipsec !== undefined && type !== 'ipsec') {
    errors.push({ pointer: appendPointer(pointer, 'ipsec'), message: `ipsec settings need type ipsec, but the type here is ${type ?? 'not set'}`, rule: 'ipsec-type' });
  }
  const rotation = entry.ipsec?.keyRotationDuration;
  if (rotation !== undefined) {
    const at = appendPointer(pointer, 'ipsec', 'keyRotationDuration');
    const ns = parseGoDuration(rotation);
    if (typeof ns === 'string') errors.push({ pointer: at, message: ns, rule: 'go-duration' });
    else if (ns <= 0) errors.push({ pointer: at, message: 'keyRotationDuration must be greater than zero', rule: 'go-duration' });
  }
  const cidr = entry.strictMode?.egress?.cidr;
  if (cidr !== undefined) {
    const parsed = parsePrefix(cidr);
    const at = appendPointer(pointer, 'strictMode', 'egress', 'cidr');
    if (typeof parsed === 'string') errors.push({ pointer: at, message: `invalid CIDR "${cidr}": ${parsed}`, rule: 'cidr' });
    else if (!cidr.includes('/')) errors.push({ pointer: at, message: 'the strict-mode CIDR needs an explicit prefix length (e.g. 10.0.0.0/8)', rule: 'cidr' });
  }
  if (entry.strictMode?.egress !== undefined && merged.strictMode?.egress?.enabled === true && merged.strictMode.egress.cidr === undefined) {
    errors.push({ pointer: appendPointer(pointer, 'strictMode', 'egress', 'cidr'), message: 'strict egress mode needs the pod CIDR to enforce (cidr)', rule: 'strict-mode-cidr' });
  }
  return errors;
}
