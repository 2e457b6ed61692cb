import { createHash } from 'node:crypto';
import type { BundledPolicy, DesiredState, EncryptionSettingsSpec, Labels, NetworkPolicy } from '../../openapi/types.js';
import { computeEffectiveEncryption } from '../encryption/effective-encryption.js';
import { canonicalJson } from '../policy/canonical-json.js';
import { targetsCluster } from '../policy/select-clusters.js';

export interface ClusterFacts {
  id: string;
  labels: Labels;
}

export interface EncryptionInput {
  spec: EncryptionSettingsSpec;
  generation: number;
}

/** A desired-state bundle without its revision number, plus the hash that identifies its content. */
export interface BundleContent {
  body: Omit<DesiredState, 'revision'>;
  /** SHA-256 (hex) of the canonical JSON of `body`: equal hashes ⇔ equal bundles. */
  contentHash: string;
}

/**
 * The compiled bundle of one cluster (pure): the policies whose targets select the cluster, ordered by
 * name, each with its generation, mode and spec (targets removed: they do not affect a node), and the
 * cluster's effective encryption. Deterministic: the same inputs give byte-identical canonical JSON.
 */
export function buildDesiredState(
  cluster: ClusterFacts,
  policies: readonly NetworkPolicy[],
  encryption: EncryptionInput | undefined,
): BundleContent {
  const bundled: BundledPolicy[] = policies
    .filter((policy) => targetsCluster(policy.spec.targets, cluster))
    .map((policy) => {
      const { targets: _targets, ...spec } = policy.spec;
      return {
        name: policy.metadata.name,
        generation: policy.metadata.generation ?? 1,
        mode: policy.spec.mode ?? 'enforce',
        spec,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const body: BundleContent['body'] = {
    apiVersion: 'fleetnet.io/v1',
    kind: 'DesiredState',
    clusterId: cluster.id,
    policies: bundled,
    encryption: computeEffectiveEncryption(encryption?.spec, cluster, encryption?.generation ?? null),
  };
  return { body, contentHash: createHash('sha256').update(canonicalJson(body)).digest('hex') };
}
