/**
 * Effective encryption of one cluster.
 *
 * Contracts:
 * - No settings → `{enabled: false}`, no overrides applied, settingsGeneration null.
 * - Otherwise start from `default`, then every override whose clusterSelector matches the cluster's
 *   labels, in list order, deep-merged over the result so far: objects merge key by key, scalars
 *   replace. Names of the applied overrides are listed in that order.
 * - `enabled` is always present in the result (false when never set).
 * - A block that does not fit the effective type is dropped (strictMode unless wireguard, ipsec unless
 *   ipsec): it can only arise from combining overrides, and Cilium ignores such settings anyway.
 */
import type { EffectiveEncryption, EncryptionConfig, EncryptionSettingsSpec } from '../../openapi/types.js';
import { isPlainObject } from '../json/plain-object.js';
import { matchesLabelSelector } from '../labels/label-selector.js';

export interface EncryptionCluster {
  id: string;
  labels: Record<string, string>;
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = Object.hasOwn(out, key) ? deepMerge(out[key], value) : structuredClone(value);
  }
  return out;
}

/** `over` deep-merged over `base` (neither is modified). */
export function mergeEncryptionConfig(base: EncryptionConfig, over: EncryptionConfig): EncryptionConfig {
  return deepMerge(base, over) as EncryptionConfig;
}

export function computeEffectiveEncryption(
  spec: EncryptionSettingsSpec | undefined,
  cluster: EncryptionCluster,
  generation: number | null,
): EffectiveEncryption {
  if (!spec) return { clusterId: cluster.id, settings: { enabled: false }, appliedOverrides: [], settingsGeneration: null };
  let settings = mergeEncryptionConfig({}, spec.default);
  const appliedOverrides: string[] = [];
  for (const override of spec.overrides ?? []) {
    if (!matchesLabelSelector(override.clusterSelector, cluster.labels)) continue;
    settings = mergeEncryptionConfig(settings, override.settings);
    appliedOverrides.push(override.name);
  }
  if (settings.type !== 'wireguard') delete settings.strictMode;
  if (settings.type !== 'ipsec') delete settings.ipsec;
  settings = { ...settings, enabled: settings.enabled ?? false };
  return { clusterId: cluster.id, settings, appliedOverrides, settingsGeneration: generation };
}
