import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { realPod } from '../../../test/helpers/fake-kube-api.js';
import { routeIfindexResolver } from './ifindex-resolver.js';
import { isEndpointPod, podToPeer, podWorkload } from './pod-endpoints.js';
import { readEndpointsFile } from './static-source.js';

const pod = (p: Parameters<typeof realPod>[0]) => realPod(p) as unknown as V1Pod;

describe('pod → endpoint', () => {
  it.each([
    { name: 'running pod of a Deployment', given: { name: 'web-7d9f8b6c5d-x1', namespace: 'shop', node: 'n1', ip: '10.0.0.5', labels: { app: 'web' }, deployment: 'web', serviceAccount: 'web-sa' }, want: { ip: '10.0.0.5', podName: 'web-7d9f8b6c5d-x1', namespace: 'shop', labels: { app: 'web', 'pod-template-hash': '7d9f8b6c5d' }, serviceAccount: 'web-sa', nodeName: 'n1', workload: { kind: 'Deployment', name: 'web' } } },
    { name: 'bare pod', given: { name: 'debug', namespace: 'default', node: 'n2', ip: '10.0.1.9' }, want: { ip: '10.0.1.9', podName: 'debug', namespace: 'default', labels: {}, serviceAccount: 'default', nodeName: 'n2' } },
    { name: 'hostNetwork pod is not an endpoint', given: { name: 'kube-proxy', namespace: 'kube-system', node: 'n1', ip: '10.224.0.4', hostNetwork: true }, want: undefined },
    { name: 'finished pod is not an endpoint', given: { name: 'job-1', namespace: 'default', node: 'n1', ip: '10.0.0.7', phase: 'Succeeded' }, want: undefined },
    { name: 'IPv6-only pod is not an endpoint (IPv4 datapath)', given: { name: 'v6', namespace: 'default', node: 'n1', ip: 'fd00::5' }, want: undefined },
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
      const jsonPath = join(dir, 'e.json');
      await writeFile(jsonPath, JSON.stringify({ endpoints: [{ podName: 'x', namespace: 'n', ip: '10.1.1.1', labels: {}, ifindex: 3 }] }));
      expect((await readEndpointsFile(jsonPath)).endpoints).toEqual([{ podName: 'x', namespace: 'n', ip: '10.1.1.1', labels: {}, ifindex: 3 }]);
      await expect(readEndpointsFile(yamlPath, async () => undefined)).rejects.toThrow(/no ifindex for shop\/web/);
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
