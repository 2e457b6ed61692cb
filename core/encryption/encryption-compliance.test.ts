import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import type { EncryptionConfig } from '../../openapi/types.js';
import { encryptionCompliance, type ArmEncryptionFacts, type ComplianceOptions, type EncryptionCompliance } from './encryption-compliance.js';

const WG: EncryptionConfig = { enabled: true, type: 'wireguard' };
const ACNS_WG: ArmEncryptionFacts = { networkDataplane: 'cilium', advancedNetworkingEnabled: true, transitEncryption: 'WireGuard' };

describe('encryptionCompliance', () => {
  it.each<{ name: string; desired: EncryptionConfig; actual: ArmEncryptionFacts | undefined; options?: ComplianceOptions; want: Partial<EncryptionCompliance> & { state: EncryptionCompliance['state'] } }>([
    { name: 'not read: Unknown', desired: WG, actual: undefined, want: { state: 'Unknown' } },
    { name: 'WireGuard wanted and reported', desired: WG, actual: ACNS_WG, want: { state: 'Compliant', differences: [] } },
    { name: 'type defaults to wireguard', desired: { enabled: true }, actual: ACNS_WG, want: { state: 'Compliant' } },
    {
      name: 'WireGuard wanted, ACNS on without encryption: Drifted on the transit field',
      desired: WG,
      actual: { networkDataplane: 'cilium', advancedNetworkingEnabled: true, transitEncryption: 'None' },
      want: { state: 'Drifted', differences: [{ field: 'networkProfile.advancedNetworking.security.transitEncryption.type', desired: 'WireGuard', actual: 'None' }] },
    },
    {
      name: 'ACNS off and the cluster opted in: Drifted on both fields',
      desired: WG,
      actual: { networkDataplane: 'cilium' },
      options: { acnsMayBeEnabled: true },
      want: {
        state: 'Drifted',
        differences: [
          { field: 'networkProfile.advancedNetworking.enabled', desired: true, actual: null },
          { field: 'networkProfile.advancedNetworking.security.transitEncryption.type', desired: 'WireGuard', actual: null },
        ],
      },
    },
    { name: 'ACNS off, no opt-in: Unsupported', desired: WG, actual: { networkDataplane: 'cilium', advancedNetworkingEnabled: false }, want: { state: 'Unsupported', reasons: ['Advanced Container Networking Services are off, and the cluster has not opted in to turning them on'] } },
    {
      name: 'IPsec, nodeEncryption, strictMode, azure dataplane: every reason',
      desired: { enabled: true, type: 'ipsec', nodeEncryption: true, strictMode: { egress: { enabled: true, cidr: '10.0.0.0/8' } } },
      actual: { networkDataplane: 'azure', advancedNetworkingEnabled: true },
      want: {
        state: 'Unsupported',
        reasons: [
          'IPsec: AKS offers WireGuard transit encryption only',
          'nodeEncryption: AKS transit encryption covers pod-to-pod traffic only',
          'WireGuard strictMode: not exposed through ARM',
          'networkDataplane is azure: transit encryption needs the cilium dataplane',
        ],
      },
    },
    { name: 'no dataplane reported means azure', desired: WG, actual: { advancedNetworkingEnabled: true }, want: { state: 'Unsupported', reasons: ['networkDataplane is azure: transit encryption needs the cilium dataplane'] } },
    { name: 'encryption off and none reported', desired: { enabled: false }, actual: { networkDataplane: 'cilium' }, want: { state: 'Compliant' } },
    { name: 'encryption off but WireGuard on: Drifted', desired: {}, actual: ACNS_WG, want: { state: 'Drifted', differences: [{ field: 'networkProfile.advancedNetworking.security.transitEncryption.type', desired: 'None', actual: 'WireGuard' }] } },
  ])('$name', ({ desired, actual, options, want }) => {
    expect(encryptionCompliance(desired, actual, options)).toMatchObject(want);
  });

  it('reads the facts as ARM returns them (the AKS example of transit encryption)', () => {
    const example = JSON.parse(readFileSync(new URL('../../../shared/fixtures/arm/AdvancedNetworkingTransitEncryption.json', import.meta.url), 'utf8')) as {
      responses: { '200': { body: { properties: { networkProfile: { networkDataplane?: string; advancedNetworking?: { enabled?: boolean; security?: { transitEncryption?: { type?: string } } } } } } } };
    };
    const profile = example.responses['200'].body.properties.networkProfile;
    const facts: ArmEncryptionFacts = {
      ...(profile.networkDataplane ? { networkDataplane: profile.networkDataplane } : {}),
      ...(profile.advancedNetworking?.enabled !== undefined ? { advancedNetworkingEnabled: profile.advancedNetworking.enabled } : {}),
      ...(profile.advancedNetworking?.security?.transitEncryption?.type ? { transitEncryption: profile.advancedNetworking.security.transitEncryption.type } : {}),
    };
    expect(facts).toEqual(ACNS_WG);
    expect(encryptionCompliance(WG, facts).state).toBe('Compliant');
  });
});
