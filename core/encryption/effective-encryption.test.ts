import { describe, expect, it } from 'vitest';
import type { EffectiveEncryption, EncryptionSettingsSpec } from '../../openapi/types.js';
import { computeEffectiveEncryption } from './effective-encryption.js';

const prod = { id: 'aks-prod', labels: { env: 'prod', region: 'weu' } };

describe('computeEffectiveEncryption', () => {
  const spec: EncryptionSettingsSpec = {
    default: { enabled: true, type: 'wireguard', strictMode: { egress: { enabled: false, cidr: '10.0.0.0/8' } } },
    overrides: [
      { name: 'prod-strict', clusterSelector: { matchLabels: { env: 'prod' } }, settings: { strictMode: { egress: { enabled: true } } } },
      { name: 'dev-off', clusterSelector: { matchLabels: { env: 'dev' } }, settings: { enabled: false } },
      { name: 'weu-nodes', clusterSelector: { matchLabels: { region: 'weu' } }, settings: { nodeEncryption: true } },
      { name: 'weu-ipsec', clusterSelector: { matchLabels: { region: 'weu', ipsec: 'yes' } }, settings: { type: 'ipsec', ipsec: { keyRotationDuration: '5m' } } },
    ],
  };
  const cases: Array<{ name: string; given: { spec: EncryptionSettingsSpec | undefined; cluster: { id: string; labels: Record<string, string> }; generation: number | null }; want: EffectiveEncryption }> = [
    {
      name: 'no settings',
      given: { spec: undefined, cluster: prod, generation: null },
      want: { clusterId: 'aks-prod', settings: { enabled: false }, appliedOverrides: [], settingsGeneration: null },
    },
    {
      name: 'overrides merge in order, deeply',
      given: { spec, cluster: prod, generation: 7 },
      want: {
        clusterId: 'aks-prod',
        settings: { enabled: true, type: 'wireguard', nodeEncryption: true, strictMode: { egress: { enabled: true, cidr: '10.0.0.0/8' } } },
        appliedOverrides: ['prod-strict', 'weu-nodes'],
        settingsGeneration: 7,
      },
    },
    {
      name: 'no override matches',
      given: { spec, cluster: { id: 'c2', labels: { env: 'dev' } }, generation: 1 },
      want: {
        clusterId: 'c2',
        settings: { enabled: false, type: 'wireguard', strictMode: { egress: { enabled: false, cidr: '10.0.0.0/8' } } },
        appliedOverrides: ['dev-off'],
        settingsGeneration: 1,
      },
    },
    {
      name: 'type switch drops the WireGuard-only block',
      given: { spec, cluster: { id: 'c3', labels: { region: 'weu', ipsec: 'yes' } }, generation: 2 },
      want: {
        clusterId: 'c3',
        settings: { enabled: true, type: 'ipsec', nodeEncryption: true, ipsec: { keyRotationDuration: '5m' } },
        appliedOverrides: ['weu-nodes', 'weu-ipsec'],
        settingsGeneration: 2,
      },
    },
    {
      name: 'enabled defaults to false',
      given: { spec: { default: { type: 'wireguard' } }, cluster: prod, generation: 3 },
      want: { clusterId: 'aks-prod', settings: { enabled: false, type: 'wireguard' }, appliedOverrides: [], settingsGeneration: 3 },
    },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    expect(computeEffectiveEncryption(given.spec, given.cluster, given.generation)).toEqual(want);
  });

  it('does not modify its input', () => {
    const copy = structuredClone(spec);
    computeEffectiveEncryption(spec, prod, 1);
    expect(spec).toEqual(copy);
  });
});
