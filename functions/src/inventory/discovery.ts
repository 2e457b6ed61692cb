/**
 * Discovery (opt-in, FLEETNET_INVENTORY_DISCOVER=true): the Cluster fleetnet registers for a managed
 * cluster no registered cluster names. Pure.
 * - name: the managed cluster's name, lower-cased, every character outside [a-z0-9-] turned into "-", trimmed
 *   of "-" and cut to 63 (empty → "aks"); when taken, cut to 56 and suffixed "-" + the first 6 hex digits of
 *   SHA-256 of the lower-cased resource id.
 * - labels: every ARM tag whose key is a valid label key and whose value a valid label value, as it is
 *   (other tags are skipped: ARM tags allow characters labels do not); then `fleetnet.io/discovered: arm`
 *   and `topology.kubernetes.io/region: <location>` (when valid), which win over tags of the same keys.
 * - spec: `armResourceId` only (no agent identities: an admin binds them; no remediation opt-in).
 */
import { createHash } from 'node:crypto';
import type { ManagedCluster } from '@azure/arm-containerservice';
import type { Cluster } from '../../../openapi/types.js';
import { describeLabelKeyProblem, describeLabelValueProblem } from '../../../core/labels/label-syntax.js';

export const DISCOVERED_LABEL = 'fleetnet.io/discovered';
export const REGION_LABEL = 'topology.kubernetes.io/region';

export function discoveredCluster(managed: ManagedCluster, taken: ReadonlySet<string>): Cluster {
  const id = managed.id ?? '';
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(managed.tags ?? {})) {
    if (describeLabelKeyProblem(key) === undefined && describeLabelValueProblem(value) === undefined) labels[key] = value;
  }
  labels[DISCOVERED_LABEL] = 'arm';
  const region = managed.location?.toLowerCase();
  if (region && describeLabelValueProblem(region) === undefined) labels[REGION_LABEL] = region;
  return {
    apiVersion: 'fleetnet.io/v1',
    kind: 'Cluster',
    metadata: { name: clusterNameFor(managed.name ?? '', id, taken), labels },
    spec: { armResourceId: id },
  };
}

export function clusterNameFor(armName: string, resourceId: string, taken: ReadonlySet<string>): string {
  const base = armName.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '') || 'aks';
  if (!taken.has(base)) return base;
  const suffix = createHash('sha256').update(resourceId.toLowerCase()).digest('hex').slice(0, 6);
  return `${base.slice(0, 56).replace(/-+$/, '')}-${suffix}`;
}
