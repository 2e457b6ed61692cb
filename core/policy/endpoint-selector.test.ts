import { describe, expect, it } from 'vitest';
import type { LabelSelector } from '../../openapi/types.js';
import { buildPodLabelSet } from '../labels/cilium-labels.js';
import { matchesEndpointSelector, scopePeerSelector, scopeSubjectSelector } from './endpoint-selector.js';

const web = buildPodLabelSet({
  labels: { app: 'web', 'pod-template-hash': 'abc' },
  namespace: 'shop',
  serviceAccount: 'web-sa',
  namespaceLabels: { team: 'blue' },
  clusterId: 'c1',
});

describe('buildPodLabelSet', () => {
  it('produces the canonical Cilium label set (per-replica keys dropped)', () => {
    expect(web).toEqual([
      'k8s:app=web',
      'k8s:io.cilium.k8s.namespace.labels.team=blue',
      'k8s:io.cilium.k8s.policy.cluster=c1',
      'k8s:io.cilium.k8s.policy.serviceaccount=web-sa',
      'k8s:io.kubernetes.pod.namespace=shop',
    ]);
  });
});

describe('matchesEndpointSelector', () => {
  const cases: Array<{ name: string; given: LabelSelector; labels?: readonly string[]; want: boolean }> = [
    { name: 'key without source', given: { matchLabels: { app: 'web' } }, want: true },
    { name: 'k8s: source', given: { matchLabels: { 'k8s:app': 'web' } }, want: true },
    { name: 'any: source', given: { matchLabels: { 'any:app': 'web' } }, want: true },
    { name: 'other source does not match', given: { matchLabels: { 'container:app': 'web' } }, want: false },
    { name: 'wrong value', given: { matchLabels: { app: 'db' } }, want: false },
    { name: 'namespace label', given: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'shop' } }, want: true },
    { name: 'service account', given: { matchLabels: { 'io.cilium.k8s.policy.serviceaccount': 'web-sa' } }, want: true },
    { name: 'namespace labels', given: { matchLabels: { 'io.cilium.k8s.namespace.labels.team': 'blue' } }, want: true },
    { name: 'cluster', given: { matchLabels: { 'io.cilium.k8s.policy.cluster': 'c2' } }, want: false },
    { name: 'excluded per-replica key is not a label', given: { matchExpressions: [{ key: 'pod-template-hash', operator: 'Exists' }] }, want: false },
    { name: 'In', given: { matchExpressions: [{ key: 'k8s:app', operator: 'In', values: ['db', 'web'] }] }, want: true },
    { name: 'NotIn listed', given: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, want: false },
    { name: 'NotIn absent', given: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['x'] }] }, want: true },
    { name: 'DoesNotExist', given: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, want: true },
    { name: 'unknown operator fails closed', given: { matchExpressions: [{ key: 'app', operator: 'in' as 'In', values: ['web'] }] }, want: false },
    { name: 'reserved label', given: { matchLabels: { 'reserved:host': '' } }, labels: ['reserved:host='], want: true },
    { name: 'reserved label without source', given: { matchLabels: { host: '' } }, labels: ['reserved:host='], want: true },
    { name: 'empty selector', given: {}, want: true },
  ];
  it.each(cases)('$name', ({ given, labels, want }) => {
    expect(matchesEndpointSelector(given, labels ?? web)).toBe(want);
  });
});

describe('scoping', () => {
  const other = buildPodLabelSet({ labels: { app: 'web' }, namespace: 'other', namespaceLabels: { team: 'blue' } });
  const host = ['reserved:host='];
  const cases: Array<{ name: string; given: LabelSelector; ns?: string; want: [boolean, boolean, boolean] /* web(shop), other, host */ }> = [
    { name: 'namespaced {} = pods of the namespace', given: {}, ns: 'shop', want: [true, false, false] },
    { name: 'clusterwide {} = every pod, no reserved', given: {}, want: [true, true, false] },
    { name: 'explicit namespace kept', given: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'other' } }, ns: 'shop', want: [false, true, false] },
    { name: 'namespace labels reach across namespaces', given: { matchLabels: { 'io.cilium.k8s.namespace.labels.team': 'blue' } }, ns: 'shop', want: [true, true, false] },
    { name: 'reserved selector unscoped', given: { matchLabels: { 'reserved:host': '' } }, ns: 'shop', want: [false, false, true] },
  ];
  it.each(cases)('$name', ({ given, ns, want }) => {
    const s = scopePeerSelector(given, ns);
    expect([matchesEndpointSelector(s, web), matchesEndpointSelector(s, other), matchesEndpointSelector(s, host)]).toEqual(want);
  });
  it('subject of a namespaced policy is pinned, clusterwide is not', () => {
    expect(matchesEndpointSelector(scopeSubjectSelector({ matchLabels: { app: 'web' } }, 'shop'), other)).toBe(false);
    expect(matchesEndpointSelector(scopeSubjectSelector({ matchLabels: { app: 'web' } }, undefined), other)).toBe(true);
  });
});
