import { describe, expect, it } from 'vitest';
import type { BundledPolicy } from '../../../openapi/types.js';
import { buildPodLabelSet } from '../../labels/cilium-labels.js';
import type { FlowSide } from './cluster-evaluator.js';
import { explainFlow } from './explain-flow.js';
import { narrowPolicies, prepareExplainScope } from './explain-scope.js';

const tcp = (port: string) => [{ ports: [{ port, protocol: 'TCP' as const }] }];
const bundled = (name: string, spec: BundledPolicy['spec'], mode: BundledPolicy['mode'] = 'enforce', generation = 1): BundledPolicy => ({ name, generation, mode, spec });

/** Selection by namespace and cluster-wide, allows and denies, audit, nested CIDRs across policies, an
 *  `except` nobody else selects and one another policy selects, entities, and policies selecting no side. */
const POLICIES: BundledPolicy[] = [
  bundled('db-ingress', { namespace: 'shop', endpointSelector: { matchLabels: { app: 'db' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: tcp('5432') }, { fromEntities: ['host'] }] }, 'enforce', 3),
  bundled('db-deny', { namespace: 'shop', endpointSelector: { matchLabels: { app: 'db' } }, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'batch' } }] }] }),
  bundled('api-egress', {
    namespace: 'shop',
    endpointSelector: { matchLabels: { app: 'api' } },
    egress: [
      { toEndpoints: [{ matchLabels: { app: 'db' } }], toPorts: tcp('5432') },
      { toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] }], toPorts: tcp('443') },
      { toEntities: ['kube-apiserver'] },
    ],
  }),
  bundled('web-egress', { endpointSelector: { matchLabels: { app: 'web' } }, egress: [{ toCIDR: ['10.1.0.0/16'] }, { toEndpoints: [{}] }], egressDeny: [{ toCIDRSet: [{ cidr: '10.1.2.0/24' }] }] }),
  bundled('cache-audit', { namespace: 'shop', endpointSelector: { matchLabels: { app: 'cache' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: tcp('6379') }] }, 'audit'),
  bundled('far-cidrs', { namespace: 'ops', endpointSelector: { matchLabels: { app: 'monitor' } }, egress: [{ toCIDR: ['10.1.2.128/25', '10.9.1.0/24', '192.168.0.0/16'] }, { toCIDRSet: [{ cidr: '10.9.0.0/16' }] }] }),
  bundled('lonely-except', { namespace: 'ops', endpointSelector: { matchLabels: { app: 'nobody' } }, egress: [{ toCIDRSet: [{ cidr: '172.16.0.0/12', except: ['172.16.5.0/24'] }] }] }),
  bundled('v6', { endpointSelector: { matchLabels: { app: 'api' } }, egress: [{ toCIDR: ['2001:db8::/32'] }] }),
];

const pod = (app: string, namespace: string): FlowSide => ({ workload: buildPodLabelSet({ labels: { app }, namespace, clusterId: 'c1' }) });
const SIDES: FlowSide[] = [
  pod('api', 'shop'),
  pod('db', 'shop'),
  pod('batch', 'shop'),
  pod('web', 'shop'),
  pod('web', 'edge'),
  pod('cache', 'shop'),
  pod('monitor', 'ops'),
  pod('other', 'shop'),
  ...['10.1.2.200', '10.1.2.5', '10.1.9.9', '10.9.1.1', '10.9.200.1', '10.200.0.1', '8.8.8.8', '172.16.5.5', '172.17.0.1', '192.168.1.1', '2001:db8::1', '2001:db9::1'].map((address) => ({ address })),
  ...['host', 'world', 'kube-apiserver', 'remote-node'].map((entity) => ({ entity })),
];
const PROBES: Array<[number, number]> = [[6, 5432], [6, 443], [6, 6379], [6, 80], [17, 53], [1, 8]];

describe('narrowPolicies', () => {
  it('explainFlow over the narrowed policies equals explainFlow over all of them, for every pair of sides and probe', () => {
    const scope = prepareExplainScope(POLICIES);
    let compared = 0;
    let narrowed = 0;
    for (const source of SIDES) {
      for (const destination of SIDES) {
        const policies = narrowPolicies(scope, [source, destination]);
        if (policies.length < POLICIES.length) narrowed++;
        for (const [protocol, port] of PROBES) {
          const input = { source, destination, protocol, port };
          expect(explainFlow({ ...input, policies }), JSON.stringify({ source, destination, protocol, port })).toEqual(explainFlow({ ...input, policies: POLICIES }));
          compared++;
        }
      }
    }
    expect(compared).toBe(SIDES.length ** 2 * PROBES.length);
    expect(narrowed).toBe(SIDES.length ** 2); // every pair needs fewer than all policies
  });

  it('keeps the policies selecting a side, and for an address those naming or selecting its longest prefix', () => {
    const scope = prepareExplainScope(POLICIES);
    const names = (sides: FlowSide[]) => narrowPolicies(scope, sides).map((p) => p.name);
    expect(names([pod('db', 'shop'), pod('other', 'shop')])).toEqual(['db-ingress', 'db-deny']);
    expect(names([{ entity: 'host' }, { address: '8.8.8.8' }])).toEqual([]);
    // 10.9.1.1: longest prefix 10.9.1.0/24 (far-cidrs), selected by far-cidrs' 10.9.0.0/16; api-egress's 10.0.0.0/8 excepts it
    expect(names([{ address: '10.9.1.1' }])).toEqual(['far-cidrs']);
    // 172.16.5.5: the except nobody selects — its owner is kept, so the address stays world
    expect(names([{ address: '172.16.5.5' }])).toEqual(['lonely-except']);
  });
});
