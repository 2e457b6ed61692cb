import { describe, expect, it } from 'vitest';
import type { NetworkPolicySpec } from '../../openapi/types.js';
import { validatePolicySpec } from './validate-policy-spec.js';

const sel = { matchLabels: { app: 'web' } };
const tcp = (port: string, extra: Record<string, unknown> = {}) => ({ ports: [{ port, protocol: 'TCP' as const }], ...extra });

describe('validatePolicySpec', () => {
  const cases: Array<{ name: string; given: NetworkPolicySpec; want: Array<[string, string]> }> = [
    // subject and directions
    { name: 'minimal valid', given: { endpointSelector: sel, ingress: [{}] }, want: [] },
    { name: 'host policy valid', given: { nodeSelector: {}, ingress: [{ fromEntities: ['remote-node'] }] }, want: [] },
    { name: 'no selector', given: { ingress: [{}] }, want: [['/spec', 'rule-subject']] },
    { name: 'both selectors', given: { endpointSelector: {}, nodeSelector: {}, ingress: [{}] }, want: [['/spec/nodeSelector', 'rule-subject']] },
    { name: 'no direction', given: { endpointSelector: sel }, want: [['/spec', 'rule-direction']] },
    { name: 'specs only', given: { specs: [{ endpointSelector: sel, egress: [{}] }] }, want: [] },
    { name: 'specs entry without selector', given: { specs: [{ egress: [{}] }] }, want: [['/spec/specs/0', 'rule-subject']] },
    { name: 'empty specs and no rule', given: { specs: [], mode: 'audit' }, want: [['/spec', 'rule-subject'], ['/spec', 'rule-direction']] },
    { name: 'partial inline rule beside specs', given: { ingress: [{}], specs: [{ endpointSelector: sel, egress: [{}] }] }, want: [['/spec', 'rule-subject']] },
    // namespace
    { name: 'namespace pin same', given: { namespace: 'ns1', endpointSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'ns1' } }, ingress: [{}] }, want: [] },
    { name: 'namespace pin other', given: { namespace: 'ns1', endpointSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'ns2' } }, ingress: [{}] }, want: [['/spec/endpointSelector/matchLabels/k8s:io.kubernetes.pod.namespace', 'namespace-pin']] },
    { name: 'namespace pin by expression', given: { namespace: 'ns1', endpointSelector: { matchExpressions: [{ key: 'io.kubernetes.pod.namespace', operator: 'In', values: ['ns2'] }] }, ingress: [{}] }, want: [['/spec/endpointSelector/matchExpressions/0', 'namespace-pin']] },
    { name: 'peers may name other namespaces', given: { namespace: 'ns1', endpointSelector: {}, ingress: [{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'ns2' } }] }] }, want: [] },
    { name: 'nodeSelector with namespace', given: { namespace: 'ns1', nodeSelector: {}, ingress: [{}] }, want: [['/spec/nodeSelector', 'rule-subject']] },
    // selectors
    { name: 'selector values', given: { endpointSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, ingress: [{}] }, want: [['/spec/endpointSelector/matchExpressions/0/values', 'selector-values']] },
    { name: 'peer selector key', given: { endpointSelector: sel, ingress: [{ fromEndpoints: [{ matchLabels: { 'bad key': 'x' } }] }] }, want: [['/spec/ingress/0/fromEndpoints/0/matchLabels/bad key', 'label-key']] },
    { name: 'cluster selector takes no sources', given: { endpointSelector: sel, ingress: [{}], targets: { clusterSelector: { matchLabels: { 'k8s:env': 'x' } } } }, want: [['/spec/targets/clusterSelector/matchLabels/k8s:env', 'label-key']] },
    // peers
    { name: 'combined peers', given: { endpointSelector: sel, egress: [{ toCIDR: ['20.1.1.1/32'], toCIDRSet: [{ cidr: '10.0.0.0/8' }] }] }, want: [['/spec/egress/0/toCIDRSet', 'peer-combination']] },
    { name: 'requires combine freely', given: { endpointSelector: sel, ingress: [{ fromRequires: [sel], fromEndpoints: [sel] }] }, want: [] },
    { name: 'cidr except', given: { endpointSelector: sel, ingress: [{ fromCIDRSet: [{ cidr: '10.0.0.0/8' }, { cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] }] }] }, want: [['/spec/ingress/0/fromCIDRSet/1/except/0', 'cidr-except']] },
    { name: 'bad fromCIDR', given: { endpointSelector: sel, ingressDeny: [{ fromCIDR: ['300.0.0.0/8'] }] }, want: [['/spec/ingressDeny/0/fromCIDR/0', 'cidr']] },
    { name: 'unknown entity', given: { endpointSelector: sel, egress: [{ toEntities: ['World'] }] }, want: [['/spec/egress/0/toEntities/0', 'entity']] },
    { name: 'fqdn name', given: { endpointSelector: sel, egress: [{ toFQDNs: [{ matchName: 'a..b' }, { matchName: 'api.twitter.com.' }] }] }, want: [['/spec/egress/0/toFQDNs/0/matchName', 'fqdn-match-name']] },
    { name: 'fqdn patterns', given: { endpointSelector: sel, egress: [{ toFQDNs: [{ matchPattern: '*' }, { matchPattern: '**.cilium.io' }, { matchPattern: 'special*service.api.cilium.io' }, { matchPattern: 'a.**.io' }, { matchPattern: 'a b' }] }] }, want: [['/spec/egress/0/toFQDNs/3/matchPattern', 'fqdn-match-pattern'], ['/spec/egress/0/toFQDNs/4/matchPattern', 'fqdn-match-pattern']] },
    { name: 'fqdn both', given: { endpointSelector: sel, egress: [{ toFQDNs: [{ matchName: 'a.io', matchPattern: '*.a.io' }] }] }, want: [['/spec/egress/0/toFQDNs/0/matchPattern', 'fqdn-selector']] },
    { name: 'service selector', given: { endpointSelector: sel, egress: [{ toServices: [{ k8sServiceSelector: { selector: { matchExpressions: [{ key: 'x', operator: 'Exists', values: ['y'] }] } } }] }] }, want: [['/spec/egress/0/toServices/0/k8sServiceSelector/selector/matchExpressions/0/values', 'selector-values']] },
    // ports
    { name: 'port range ok', given: { endpointSelector: sel, egress: [{ toPorts: [{ ports: [{ port: '80', endPort: 444, protocol: 'TCP' }] }] }] }, want: [] },
    { name: 'endPort below port', given: { endpointSelector: sel, egress: [{ toPorts: [{ ports: [{ port: '80', endPort: 79 }] }] }] }, want: [['/spec/egress/0/toPorts/0/ports/0/endPort', 'port-range']] },
    { name: 'endPort with named port', given: { endpointSelector: sel, egress: [{ toPorts: [{ ports: [{ port: 'http', endPort: 90 }] }] }] }, want: [['/spec/egress/0/toPorts/0/ports/0/endPort', 'port-range']] },
    { name: 'endPort with port 0', given: { endpointSelector: sel, egress: [{ toPorts: [{ ports: [{ port: '0', endPort: 90 }] }] }] }, want: [['/spec/egress/0/toPorts/0/ports/0/endPort', 'port-range']] },
    { name: 'port out of range', given: { endpointSelector: sel, egress: [{ toPorts: [{ ports: [{ port: '65536' }] }] }] }, want: [['/spec/egress/0/toPorts/0/ports/0/port', 'port']] },
    { name: 'port leading zero', given: { endpointSelector: sel, egress: [{ toPorts: [{ ports: [{ port: '080' }] }] }] }, want: [['/spec/egress/0/toPorts/0/ports/0/port', 'port']] },
    { name: 'named ports', given: { endpointSelector: sel, egress: [{ toPorts: [{ ports: [{ port: 'http-alt' }, { port: 'HTTP' }, { port: 'a--b' }, { port: '-a' }] }] }] }, want: [['/spec/egress/0/toPorts/0/ports/1/port', 'port'], ['/spec/egress/0/toPorts/0/ports/2/port', 'port'], ['/spec/egress/0/toPorts/0/ports/3/port', 'port']] },
    { name: 'VRRP takes port 0 only', given: { nodeSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '0', protocol: 'VRRP' }, { port: '112', protocol: 'IGMP' }] }] }] }, want: [['/spec/egress/0/toPorts/0/ports/1/port', 'port']] },
    { name: 'deny ports checked', given: { endpointSelector: sel, egressDeny: [{ toPorts: [{ ports: [{ port: '99999' }] }] }] }, want: [['/spec/egressDeny/0/toPorts/0/ports/0/port', 'port']] },
    // icmp
    { name: 'icmp names', given: { endpointSelector: sel, egress: [{ icmps: [{ fields: [{ type: 8 }, { type: 'EchoRequest', family: 'IPv6' }, { type: 'PacketTooBig' }, { type: 256 }] }] }] }, want: [['/spec/egress/0/icmps/0/fields/2/type', 'icmp-type'], ['/spec/egress/0/icmps/0/fields/3/type', 'icmp-type']] },
    { name: 'icmp with toPorts', given: { endpointSelector: sel, egress: [{ icmps: [{ fields: [{ type: 8 }] }], toPorts: [tcp('80')] }] }, want: [['/spec/egress/0/icmps', 'icmp-with-ports']] },
    // L7
    { name: 'http ok', given: { endpointSelector: sel, ingress: [{ toPorts: [tcp('80', { rules: { http: [{ method: 'GET', path: '/public$', headers: ['X-My-Header: true'] }] } })] }] }, want: [] },
    { name: 'http bad regex', given: { endpointSelector: sel, ingress: [{ toPorts: [tcp('80', { rules: { http: [{ path: '/a(' }] } })] }] }, want: [['/spec/ingress/0/toPorts/0/rules/http/0/path', 'http-regex']] },
    { name: 'http on UDP', given: { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'UDP' }], rules: { http: [{}] } }] }] }, want: [['/spec/ingress/0/toPorts/0/ports/0/protocol', 'l7-protocol']] },
    { name: 'http without protocol', given: { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{}] } }] }] }, want: [['/spec/ingress/0/toPorts/0/ports/0/port', 'l7-protocol']] },
    { name: 'L7 on port 0', given: { endpointSelector: sel, egress: [{ toPorts: [tcp('0', { rules: { http: [{}] } })] }] }, want: [['/spec/egress/0/toPorts/0/ports/0/port', 'l7-port']] },
    { name: 'dns ok', given: { endpointSelector: sel, egress: [{ toEndpoints: [{}], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*' }] } }] }] }, want: [] },
    { name: 'dns on ingress', given: { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '*' }] } }] }] }, want: [['/spec/ingress/0/toPorts/0/rules/dns', 'l7-direction']] },
    { name: 'dns without port', given: { endpointSelector: sel, egress: [{ toPorts: [{ rules: { dns: [{ matchName: 'a.io' }] } }] }] }, want: [['/spec/egress/0/toPorts/0/rules/dns', 'l7-dns-port']] },
    { name: 'dns with range', given: { endpointSelector: sel, egress: [{ toPorts: [{ ports: [{ port: '53', endPort: 54, protocol: 'UDP' }], rules: { dns: [{ matchName: 'a.io' }] } }] }] }, want: [['/spec/egress/0/toPorts/0/ports/0/endPort', 'l7-dns-port']] },
    { name: 'two L7 kinds', given: { endpointSelector: sel, egress: [{ toPorts: [tcp('80', { rules: { http: [{}], kafka: [{}] } })] }] }, want: [['/spec/egress/0/toPorts/0/rules', 'l7-kind']] },
    { name: 'l7 without l7proto', given: { endpointSelector: sel, egress: [{ toPorts: [tcp('80', { rules: { l7: [{ a: 'b' }] } })] }] }, want: [['/spec/egress/0/toPorts/0/rules/l7', 'l7-proto']] },
    { name: 'host policy L7', given: { nodeSelector: {}, ingress: [{ toPorts: [tcp('80', { rules: { http: [{}] } })] }] }, want: [['/spec/ingress/0/toPorts/0/rules', 'l7-host']] },
    { name: 'kafka', given: { endpointSelector: sel, ingress: [{ toPorts: [tcp('9092', { rules: { kafka: [{ role: 'produce', topic: 'deathstar-plans' }, { apiKey: 'apiversions' }, { apiKey: 'nope' }, { role: 'consume', apiKey: 'fetch' }] } })] }] }, want: [['/spec/ingress/0/toPorts/0/rules/kafka/2/apiKey', 'kafka'], ['/spec/ingress/0/toPorts/0/rules/kafka/3/apiKey', 'kafka']] },
    { name: 'listener on ingress', given: { endpointSelector: sel, ingress: [{ toPorts: [tcp('80', { listener: { envoyConfig: { name: 'c' }, name: 'l' } })] }] }, want: [['/spec/ingress/0/toPorts/0/listener', 'listener']] },
    { name: 'listener on wildcard port (egress) ok', given: { endpointSelector: sel, egress: [{ toCIDRSet: [{ cidr: '0.0.0.0/0' }], toPorts: [tcp('0', { listener: { envoyConfig: { name: 'c' }, name: 'l' } })] }] }, want: [] },
    { name: 'serverNames with L7 need TLS termination', given: { endpointSelector: sel, egress: [{ toPorts: [tcp('443', { serverNames: ['one.one.one.one'], rules: { http: [{}] } })] }] }, want: [['/spec/egress/0/toPorts/0/serverNames', 'server-name']] },
    { name: 'empty serverName', given: { endpointSelector: sel, egress: [{ toPorts: [tcp('443', { serverNames: [''] })] }] }, want: [['/spec/egress/0/toPorts/0/serverNames/0', 'server-name']] },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    expect(validatePolicySpec(given).map((e) => [e.pointer, e.rule])).toEqual(want);
  });

  it('uses the given base pointer', () => {
    expect(validatePolicySpec({ ingress: [{}] }, '/items/3/spec')[0]?.pointer).toBe('/items/3/spec');
  });
});
