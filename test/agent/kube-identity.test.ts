/**
 * The Kubernetes identity source (@kubernetes/client-node ListWatch) against a local server speaking
 * the list/watch protocol with real Pod/Namespace/Node/EndpointSlice shapes: initial list, watch
 * events, field selector for local pods, label selector for the apiserver's EndpointSlices,
 * dual-stack and IPv6-only pods and nodes, stream end → resume, 410 Gone (ERROR event and HTTP 410)
 * → relist.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeEndpointSource } from '../../agent/src/identity/kube-source.js';
import type { EndpointSnapshot } from '../../agent/src/identity/types.js';
import { realEndpointSlice, realNamespace, realNode, realPod, startFakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.js';

let kube: FakeKubeApi;
let source: KubeEndpointSource;
const snapshots: EndpointSnapshot[] = [];
const ifindexes: Record<string, number> = { '10.0.1.10': 21, '10.0.1.11': 22, '10.0.1.12': 23, 'fd00:1::20': 24 };

async function until(cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
const last = () => snapshots.at(-1) ?? source.snapshot();
const localNames = () => last().endpoints.map((e) => e.podName);
const peerNames = () => last().peers.map((e) => e.podName).sort();

beforeAll(async () => {
  kube = await startFakeKubeApi();
  kube.upsert('namespaces', realNamespace('shop', { team: 'payments' }));
  kube.upsert('namespaces', realNamespace('data'));
  kube.upsert('nodes', realNode('node-1', ['fd00:224::4', '10.224.0.4']));
  kube.upsert('nodes', realNode('node-2', '10.224.0.5', ['20.1.2.3']));
  kube.upsert('pods', realPod({ name: 'web-7d9f8b6c5d-aaaaa', namespace: 'shop', node: 'node-1', ip: '10.0.1.10', ips: ['10.0.1.10', 'fd00:1::10'], labels: { app: 'web' }, deployment: 'web', serviceAccount: 'web' }));
  kube.upsert('pods', realPod({ name: 'db-0', namespace: 'data', node: 'node-2', ip: '10.0.2.10', labels: { app: 'db' } }));
  kube.upsert('pods', realPod({ name: 'v6-only', namespace: 'shop', node: 'node-1', ip: 'fd00:1::20', labels: { app: 'v6' } }));
  kube.upsert('endpointslices', realEndpointSlice({ addressType: 'IPv4', endpoints: [{ addresses: ['172.18.0.2'] }, { addresses: ['172.18.0.3'], ready: false }] }));
  kube.upsert('endpointslices', realEndpointSlice({ name: 'kubernetes-ipv6', addressType: 'IPv6', endpoints: [{ addresses: ['fd00:18::2'] }] }));
  kube.upsert('endpointslices', realEndpointSlice({ name: 'web-abcde', service: 'web', addressType: 'IPv4', endpoints: [{ addresses: ['10.0.1.10'] }] }));
  kube.upsert('endpointslices', realEndpointSlice({ namespace: 'shop', addressType: 'IPv4', endpoints: [{ addresses: ['10.9.9.9'] }] }));
  kube.upsert('pods', realPod({ name: 'kube-proxy-x', namespace: 'kube-system', node: 'node-1', ip: '10.224.0.4', hostNetwork: true }));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: kube.url, skipTLSVerify: true }],
    users: [{ name: 'agent', token: 'test-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'agent' }],
    currentContext: 'fake',
  });
  source = new KubeEndpointSource({
    kubeConfig: kc,
    nodeName: 'node-1',
    resolveIfindex: async (ip) => ifindexes[ip],
    onChange: (s) => snapshots.push(s),
    debounceMs: 20,
    resolveRetryMs: 100,
  });
  await source.start();
});
afterAll(async () => {
  await source?.stop();
  await kube?.close();
});

describe('Kubernetes identity source', () => {
  it('lists local pods with the field selector, peers cluster-wide (both families), namespace labels, node addresses', () => {
    const s = source.snapshot();
    expect(s.endpoints).toEqual([
      {
        ifindex: 21,
        ip: '10.0.1.10',
        ips: ['10.0.1.10', 'fd00:1::10'],
        podName: 'web-7d9f8b6c5d-aaaaa',
        namespace: 'shop',
        labels: { app: 'web', 'pod-template-hash': '7d9f8b6c5d' },
        serviceAccount: 'web',
        workload: { kind: 'Deployment', name: 'web' },
      },
      { ifindex: 24, ip: 'fd00:1::20', ips: ['fd00:1::20'], podName: 'v6-only', namespace: 'shop', labels: { app: 'v6' }, serviceAccount: 'default' },
    ]);
    expect(s.peers.map((p) => [p.podName, p.nodeName])).toEqual([['web-7d9f8b6c5d-aaaaa', 'node-1'], ['db-0', 'node-2'], ['v6-only', 'node-1']]);
    expect(s.namespaceLabels.shop).toEqual({ 'kubernetes.io/metadata.name': 'shop', team: 'payments' });
    expect(s.nodes).toEqual([{ name: 'node-1', ips: ['10.224.0.4', 'fd00:224::4'], local: true }, { name: 'node-2', ips: ['10.224.0.5', '20.1.2.3'] }]);
    expect(kube.requests.some((r) => r.startsWith('GET /api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1'))).toBe(true);
    expect(kube.requests.some((r) => /watch=true/.test(r) && /fieldSelector=spec.nodeName%3Dnode-1/.test(r))).toBe(true);
  });

  it('kube-apiserver: ready addresses of the default/kubernetes EndpointSlices (label selector), both families', () => {
    expect(source.snapshot().kubeApiserver).toEqual(['172.18.0.2', 'fd00:18::2']);
    const slices = kube.requests.filter((r) => r.startsWith('GET /apis/discovery.k8s.io/v1/namespaces/default/endpointslices'));
    expect(slices.some((r) => !/watch=true/.test(r) && /labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes/.test(r))).toBe(true);
    expect(slices.some((r) => /watch=true/.test(r) && /labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes/.test(r))).toBe(true);
  });

  it('kube-apiserver addresses follow the EndpointSlices: a new address, a not-ready one, a deleted slice', async () => {
    kube.upsert('endpointslices', realEndpointSlice({ addressType: 'IPv4', endpoints: [{ addresses: ['172.18.0.2'], ready: false }, { addresses: ['172.18.0.4'] }] }));
    await until(() => last().kubeApiserver.join() === '172.18.0.4,fd00:18::2');
    kube.remove('endpointslices', 'default', 'kubernetes-ipv6');
    await until(() => last().kubeApiserver.join() === '172.18.0.4');
    kube.upsert('endpointslices', realEndpointSlice({ name: 'kubernetes-ipv6', addressType: 'IPv6', endpoints: [{ addresses: ['fd00:18::2'] }] }));
    await until(() => last().kubeApiserver.join() === '172.18.0.4,fd00:18::2');
  });

  it('follows watch events: add, modify (labels), delete; namespace label changes', async () => {
    kube.upsert('pods', realPod({ name: 'api-1', namespace: 'shop', node: 'node-1', ip: '10.0.1.11', labels: { app: 'api' } }));
    await until(() => localNames().includes('api-1'));
    kube.upsert('pods', realPod({ name: 'api-1', namespace: 'shop', node: 'node-1', ip: '10.0.1.11', labels: { app: 'api', tier: 'gold' } }));
    await until(() => last().endpoints.find((e) => e.podName === 'api-1')?.labels.tier === 'gold');
    kube.upsert('namespaces', realNamespace('data', { pci: 'true' }));
    await until(() => last().namespaceLabels.data?.pci === 'true');
    kube.remove('pods', 'shop', 'api-1');
    await until(() => !localNames().includes('api-1') && !peerNames().includes('api-1'));
  });

  it('a local pod whose veth is not routable yet is retried until it resolves', async () => {
    kube.upsert('pods', realPod({ name: 'late', namespace: 'shop', node: 'node-1', ip: '10.0.1.99', labels: { app: 'late' } }));
    await until(() => peerNames().includes('late'));
    expect(localNames()).not.toContain('late');
    ifindexes['10.0.1.99'] = 99;
    await until(() => localNames().includes('late'));
  });

  it('resumes when the watch stream ends, without relisting', async () => {
    const lists = () => kube.requests.filter((r) => r.startsWith('GET /api/v1/pods') && !r.includes('watch=true')).length;
    const before = lists();
    kube.closeWatches();
    await until(() => kube.openWatches() === 5);
    kube.upsert('pods', realPod({ name: 'after-close', namespace: 'shop', node: 'node-2', ip: '10.0.2.20' }));
    await until(() => peerNames().includes('after-close'));
    expect(lists()).toBe(before);
  });

  it('410 Gone as an ERROR event → relist, and changes missed meanwhile are seen', async () => {
    const lists = () => kube.requests.filter((r) => r.startsWith('GET /api/v1/pods') && !r.includes('watch=true')).length;
    const before = lists();
    kube.closeWatches();
    kube.upsert('pods', realPod({ name: 'missed', namespace: 'shop', node: 'node-1', ip: '10.0.1.12' }));
    kube.remove('pods', 'data', 'db-0');
    kube.compact(); // the resume point is gone
    await until(() => localNames().includes('missed') && !peerNames().includes('db-0'));
    expect(lists()).toBeGreaterThan(before);
  });

  it('410 Gone as an HTTP status → relist', async () => {
    kube.staleAsHttp410 = true;
    try {
      kube.closeWatches();
      kube.upsert('pods', realPod({ name: 'missed-2', namespace: 'data', node: 'node-3', ip: '10.0.3.5' }));
      kube.compact();
      await until(() => peerNames().includes('missed-2'));
    } finally {
      kube.staleAsHttp410 = false;
    }
  });
});
