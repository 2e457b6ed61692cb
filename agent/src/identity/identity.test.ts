import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1EndpointSlice, V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { realEndpointSlice, realNode, realPod } from '../../../test/helpers/fake-kube-api.js';
import { routeIfindexResolver } from './ifindex-resolver.js';
import { isEndpointPod, kubeApiserverAddresses, nodeToClusterNode, podToPeer, podWorkload } from './pod-endpoints.js';
import { readEndpointsFile } from './static-source.js';

const pod = (p: Parameters<typeof realPod>[0]) => realPod(p) as unknown as V1Pod;

describe('pod → endpoint', () => {
  it.each([
    { name: 'running pod of a Deployment', given: { name: 'web-7d9f8b6c5d-x1', namespace: 'shop', node: 'n1', ip: '10.0.0.5', labels: { app: 'web' }, deployment: 'web', serviceAccount: 'web-sa' }, want: { ip: '10.0.0.5', ips: ['10.0.0.5'], podName: 'web-7d9f8b6c5d-x1', namespace: 'shop', labels: { app: 'web', 'pod-template-hash': '7d9f8b6c5d' }, serviceAccount: 'web-sa', nodeName: 'n1', workload: { kind: 'Deployment', name: 'web' } } },
    { name: 'bare pod', given: { name: 'debug', namespace: 'default', node: 'n2', ip: '10.0.1.9' }, want: { ip: '10.0.1.9', ips: ['10.0.1.9'], podName: 'debug', namespace: 'default', labels: {}, serviceAccount: 'default', nodeName: 'n2' } },
    { name: 'hostNetwork pod is not an endpoint', given: { name: 'kube-proxy', namespace: 'kube-system', node: 'n1', ip: '10.224.0.4', hostNetwork: true }, want: undefined },
    { name: 'finished pod is not an endpoint', given: { name: 'job-1', namespace: 'default', node: 'n1', ip: '10.0.0.7', phase: 'Succeeded' }, want: undefined },
    { name: 'IPv6-only pod is an endpoint, its IPv6 address primary', given: { name: 'v6', namespace: 'default', node: 'n1', ip: 'fd00::5' }, want: { ip: 'fd00::5', ips: ['fd00::5'], podName: 'v6', namespace: 'default', labels: {}, serviceAccount: 'default', nodeName: 'n1' } },
    { name: 'dual-stack pod listed IPv6 first: the IPv4 address is primary, ips in the API order', given: { name: 'ds', namespace: 'default', node: 'n1', ip: 'fd00::6', ips: ['fd00::6', '10.0.0.6'] }, want: { ip: '10.0.0.6', ips: ['fd00::6', '10.0.0.6'], podName: 'ds', namespace: 'default', labels: {}, serviceAccount: 'default', nodeName: 'n1' } },
    { name: 'garbage in podIPs is ignored', given: { name: 'g', namespace: 'default', node: 'n1', ip: '10.0.0.7', ips: ['10.0.0.7', 'not-an-ip', 'fd00::7/64'] }, want: { ip: '10.0.0.7', ips: ['10.0.0.7'], podName: 'g', namespace: 'default', labels: {}, serviceAccount: 'default', nodeName: 'n1' } },
  ])('$name', ({ given, want }) => {
    expect(podToPeer(pod(given))).toEqual(want);
  });

  it('pending pod without an IP is skipped; StatefulSet owner is reported as is', () => {
    const p = pod({ name: 'db-0', namespace: 'db', node: 'n1', ip: '10.0.0.8' });
    p.status!.podIP = undefined;
    p.status!.podIPs = [];
    expect(isEndpointPod(p)).toBe(false);
    p.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'x', controller: true }];
    expect(podWorkload(p)).toEqual({ kind: 'StatefulSet', name: 'db' });
  });
});

describe('node and kube-apiserver addresses', () => {
  it('node: InternalIP and ExternalIP of both families, IPv4 first; Hostname ignored', () => {
    const node = realNode('n1', ['fd00::4', '10.224.0.4'], ['20.1.2.3', '2001:db8::4']) as unknown as V1Node;
    expect(nodeToClusterNode(node, 'n1')).toEqual({ name: 'n1', ips: ['10.224.0.4', '20.1.2.3', '2001:db8::4', 'fd00::4'], local: true });
    expect(nodeToClusterNode(node, 'n2')).toEqual({ name: 'n1', ips: ['10.224.0.4', '20.1.2.3', '2001:db8::4', 'fd00::4'] });
  });

  const slice = (p: Parameters<typeof realEndpointSlice>[0]) => realEndpointSlice(p) as unknown as V1EndpointSlice;
  it.each([
    { name: 'none', given: [], want: [] },
    { name: 'one IPv4 slice', given: [slice({ addressType: 'IPv4', endpoints: [{ addresses: ['172.18.0.2'] }] })], want: ['172.18.0.2'] },
    {
      name: 'both families, not-ready left out, ready unset counts as ready, FQDN slices ignored, duplicates once',
      given: [
        slice({ name: 'kubernetes-v6', addressType: 'IPv6', endpoints: [{ addresses: ['fd00::2'] }, { addresses: ['fd00::3'], ready: false }] }),
        slice({ addressType: 'IPv4', endpoints: [{ addresses: ['172.18.0.3', '172.18.0.2'] }, { addresses: ['172.18.0.2'] }] }),
        { addressType: 'IPv4', endpoints: [{ addresses: ['172.18.0.9'] }] } as V1EndpointSlice,
        slice({ name: 'kubernetes-fqdn', addressType: 'FQDN', endpoints: [{ addresses: ['api.example.com'] }] }),
      ],
      want: ['172.18.0.2', '172.18.0.3', '172.18.0.9', 'fd00::2'],
    },
  ])('kubeApiserverAddresses: $name', ({ given, want }) => expect(kubeApiserverAddresses(given)).toEqual(want));
});

describe('static endpoints file', () => {
  it('reads YAML and JSON, resolves missing ifindexes, adds local endpoints to peers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetnet-static-'));
    try {
      const yamlPath = join(dir, 'e.yaml');
      await writeFile(yamlPath, `endpoints:\n  - {podName: web, namespace: shop, ip: 10.200.1.2, labels: {app: web}}\n  - {podName: api, namespace: shop, ip: 10.200.2.2, labels: {app: api}, ifindex: 42, serviceAccount: api}\npeers:\n  - {podName: db, namespace: data, ip: 10.9.0.1, labels: {app: db}, nodeName: other}\nnamespaceLabels:\n  shop: {team: a}\n`);
      const s = await readEndpointsFile(yamlPath, async (ip) => (ip === '10.200.1.2' ? 7 : undefined));
      expect(s.endpoints.map((e) => [e.podName, e.ifindex])).toEqual([['web', 7], ['api', 42]]);
      expect(s.peers.map((p) => p.podName)).toEqual(['web', 'api', 'db']);
      expect(s.namespaceLabels).toEqual({ shop: { team: 'a' } });
      expect(s.nodes).toEqual([]);
      expect(s.kubeApiserver).toEqual([]);
      const jsonPath = join(dir, 'e.json');
      await writeFile(jsonPath, JSON.stringify({ endpoints: [{ podName: 'x', namespace: 'n', ip: '10.1.1.1', labels: {}, ifindex: 3 }] }));
      expect((await readEndpointsFile(jsonPath)).endpoints).toEqual([{ podName: 'x', namespace: 'n', ip: '10.1.1.1', labels: {}, ifindex: 3 }]);
      await expect(readEndpointsFile(yamlPath, async () => undefined)).rejects.toThrow(/no ifindex for shop\/web/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('dual-stack: ips of both families, a v6-only pod (primary from ips), node addresses, kubeApiserver; bad addresses are errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetnet-static-'));
    try {
      const path = join(dir, 'e.yaml');
      await writeFile(
        path,
        [
          'endpoints:',
          '  - {podName: web, namespace: shop, ip: 10.200.1.2, ips: [10.200.1.2, "fd00:200::1:2"], labels: {app: web}, ifindex: 5}',
          '  - {podName: v6, namespace: shop, ips: ["fd00:200::2:2"], labels: {app: v6}}',
          'peers:',
          '  - {podName: db, namespace: data, ips: ["fd00:9::1", 10.9.0.1], labels: {app: db}}',
          'nodes:',
          '  - {name: n1, ips: [10.200.0.1, "fd00:200::1"], local: true}',
          'kubeApiserver: [10.200.0.10, "fd00:200::10"]',
          '',
        ].join('\n'),
      );
      const resolved: string[] = [];
      const s = await readEndpointsFile(path, async (ip) => (resolved.push(ip), 9));
      expect(resolved).toEqual(['fd00:200::2:2']);
      expect(s.endpoints.map((e) => [e.podName, e.ip, e.ips, e.ifindex])).toEqual([['web', '10.200.1.2', ['10.200.1.2', 'fd00:200::1:2'], 5], ['v6', 'fd00:200::2:2', ['fd00:200::2:2'], 9]]);
      expect(s.peers.find((p) => p.podName === 'db')).toMatchObject({ ip: '10.9.0.1', ips: ['fd00:9::1', '10.9.0.1'] });
      expect(s.nodes).toEqual([{ name: 'n1', ips: ['10.200.0.1', 'fd00:200::1'], local: true }]);
      expect(s.kubeApiserver).toEqual(['10.200.0.10', 'fd00:200::10']);
      for (const [bad, msg] of [
        ['endpoints: [{podName: x, namespace: n, labels: {}, ifindex: 1}]', /x needs ip or ips/],
        ['endpoints: [{podName: x, namespace: n, ips: [10.0.0.300], ifindex: 1}]', /"10.0.0.300" is not an IPv4 or IPv6 address/],
        ['kubeApiserver: [kubernetes.default]', /kubeApiserver: "kubernetes.default" is not an IPv4 or IPv6 address/],
        ['nodes: [{name: n1, ips: ["10.0.0.0/8"]}]', /node n1: "10.0.0.0\/8" is not an IPv4 or IPv6 address/],
      ] as const) {
        await writeFile(path, bad);
        await expect(readEndpointsFile(path)).rejects.toThrow(msg);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('routeIfindexResolver', () => {
  it('ip route get → dev → ifindex, through nsenter when a netns is given', async () => {
    const calls: string[][] = [];
    const resolve = routeIfindexResolver({
      netnsPath: '/run/netns/node-x',
      runner: async (cmd, args) => {
        calls.push([cmd, ...args]);
        if (args.includes('route')) return JSON.stringify([{ dst: '10.200.1.2', dev: 'hv1', prefsrc: '10.200.1.1', flags: [], uid: 0, cache: [] }]);
        return JSON.stringify([{ ifindex: 17, ifname: 'hv1' }]);
      },
    });
    expect(await resolve('10.200.1.2')).toBe(17);
    expect(calls[0]).toEqual(['nsenter', '--net=/run/netns/node-x', '--', 'ip', '-j', 'route', 'get', '10.200.1.2']);
    expect(calls[1]).toEqual(['nsenter', '--net=/run/netns/node-x', '--', 'ip', '-j', 'link', 'show', 'dev', 'hv1']);
    const none = routeIfindexResolver({ runner: async () => { throw new Error('RTNETLINK answers: Network is unreachable'); } });
    expect(await none('10.9.9.9')).toBeUndefined();
  });
});
