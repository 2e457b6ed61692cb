import { describe, expect, it } from 'vitest';
import type { EncryptionSettingsSpec } from '../../openapi/types.js';
import { validateEncryptionSpec } from './validate-encryption-spec.js';

const wg = { enabled: true, type: 'wireguard' as const };
const ipsec = { enabled: true, type: 'ipsec' as const };

describe('validateEncryptionSpec', () => {
  const cases: Array<{ name: string; given: EncryptionSettingsSpec; want: Array<[string, string]> }> = [
    { name: 'disabled default', given: { default: { enabled: false } }, want: [] },
    { name: 'wireguard strict mode', given: { default: { ...wg, strictMode: { egress: { enabled: true, cidr: '10.0.0.0/8' } } } }, want: [] },
    { name: 'strict mode without wireguard', given: { default: { ...ipsec, strictMode: { ingress: { enabled: true } } } }, want: [['/spec/default/strictMode', 'strict-mode-type']] },
    { name: 'strict egress needs cidr', given: { default: { ...wg, strictMode: { egress: { enabled: true } } } }, want: [['/spec/default/strictMode/egress/cidr', 'strict-mode-cidr']] },
    { name: 'strict cidr syntax', given: { default: { ...wg, strictMode: { egress: { enabled: true, cidr: '10.0.0.0/40' } } } }, want: [['/spec/default/strictMode/egress/cidr', 'cidr']] },
    { name: 'strict cidr needs prefix', given: { default: { ...wg, strictMode: { egress: { enabled: true, cidr: '10.0.0.1' } } } }, want: [['/spec/default/strictMode/egress/cidr', 'cidr']] },
    { name: 'ipsec rotation ok', given: { default: { ...ipsec, ipsec: { keyRotationDuration: '24h0m0s' } } }, want: [] },
    { name: 'ipsec rotation syntax', given: { default: { ...ipsec, ipsec: { keyRotationDuration: '1 day' } } }, want: [['/spec/default/ipsec/keyRotationDuration', 'go-duration']] },
    { name: 'ipsec rotation zero', given: { default: { ...ipsec, ipsec: { keyRotationDuration: '0s' } } }, want: [['/spec/default/ipsec/keyRotationDuration', 'go-duration']] },
    { name: 'ipsec block with wireguard', given: { default: { ...wg, ipsec: { keyRotationDuration: '5m' } } }, want: [['/spec/default/ipsec', 'ipsec-type']] },
    {
      name: 'override inherits type from default',
      given: { default: wg, overrides: [{ name: 'strict', clusterSelector: { matchLabels: { env: 'prod' } }, settings: { strictMode: { ingress: { enabled: true } } } }] },
      want: [],
    },
    {
      name: 'override switches type and keeps strict mode',
      given: { default: wg, overrides: [{ name: 'x', clusterSelector: {}, settings: { type: 'ipsec', strictMode: { ingress: { enabled: true } } } }] },
      want: [['/spec/overrides/0/settings/strictMode', 'strict-mode-type']],
    },
    {
      name: 'override enabling strict egress inherits cidr',
      given: { default: { ...wg, strictMode: { egress: { enabled: false, cidr: '10.0.0.0/8' } } }, overrides: [{ name: 'x', clusterSelector: {}, settings: { strictMode: { egress: { enabled: true } } } }] },
      want: [],
    },
    {
      name: 'duplicate override names and bad selector',
      given: {
        default: wg,
        overrides: [
          { name: 'a', clusterSelector: {}, settings: {} },
          { name: 'a', clusterSelector: { matchExpressions: [{ key: 'env', operator: 'In' }] }, settings: {} },
        ],
      },
      want: [['/spec/overrides/1/name', 'unique-name'], ['/spec/overrides/1/clusterSelector/matchExpressions/0/values', 'selector-values']],
    },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    expect(validateEncryptionSpec(given).map((e) => [e.pointer, e.rule])).toEqual(want);
  });
});
