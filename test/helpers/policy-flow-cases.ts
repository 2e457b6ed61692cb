/**
 * One table of policies and flows for the real-packet suite (test/datapath/compile-apply.test.ts) and
 * for explain (core/policy/explain/explain-flow.test.ts): three dual-stack pods, bundles V1–V4, and per
 * bundle the TCP probes with what must happen. The datapath suite checks the packets against `want`
 * AND against explainFlow's verdict for the same probe; the explain test checks explainFlow against
 * `want` without root.
 */
import type { BundledPolicy } from '../../openapi/types.js';
import { buildPodLabelSet } from '../../core/labels/cilium-labels.js';
import { explainFlow } from '../../core/policy/explain/explain-flow.js';
import type { FlowSide } from '../../core/policy/explain/cluster-evaluator.js';

export const CLUSTER_ID = 'test';
export const NAMESPACE_LABELS: Record<string, Record<string, string>> = { shop: { team: 'red' }, other: { team: 'blue' } };

export type PodName = 'web1' | 'db' | 'web3';
/** pod i of the topology: namespace and labels */
export const PODS: Record<PodName, { index: number; namespace: string; labels: Record<string, string>; serviceAccount?: string }> = {
  web1: { index: 1, namespace: 'shop', labels: { app: 'web' }, serviceAccount: 'web-sa' },
  db: { index: 2, namespace: 'shop', labels: { app: 'db' } },
  web3: { index: 3, namespace: 'other', labels: { app: 'web' } },
};
export const NAMES = Object.keys(PODS) as PodName[];
export const ip = (p: PodName): string => `10.200.${PODS[p].index}.2`;
export const ip6 = (p: PodName): string => `fd00:200:${PODS[p].index}::2`;
export const FAMILIES = [4, 6] as const;
export type Family = (typeof FAMILIES)[number];

export const V1: BundledPolicy[] = [
  {
    name: 'shop.db',
    generation: 1,
    mode: 'enforce',
    spec: {
      namespace: 'shop',
      endpointSelector: { matchLabels: { app: 'db' } },
      ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
    },
  },
  {
    name: 'web-from-blue',
    generation: 1,
    mode: 'enforce',
    spec: {
      endpointSelector: { matchLabels: { 'k8s:app': 'web' } },
      ingress: [{ fromEndpoints: [{ matchLabels: { 'io.cilium.k8s.namespace.labels.team': 'blue' } }] }],
    },
  },
];

export const V2: BundledPolicy[] = [
  {
    name: 'shop.db',
    generation: 2,
    mode: 'enforce',
    spec: {
      namespace: 'shop',
      endpointSelector: { matchLabels: { app: 'db' } },
      ingress: [
        { fromEndpoints: [{ matchLabels: { app: 'web', 'k8s:io.kubernetes.pod.namespace': 'other' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }, { port: '81', protocol: 'TCP' }] }] },
      ],
    },
  },
];

export const V3: BundledPolicy[] = [
  {
    name: 'shop.db',
    generation: 3,
    mode: 'enforce',
    spec: {
      namespace: 'shop',
      endpointSelector: { matchLabels: { app: 'db' } },
      ingress: [{ fromEntities: ['cluster'], toPorts: [{ ports: [{ port: '80', endPort: 81, protocol: 'TCP' }] }] }],
      ingressDeny: [{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'other' } }], toPorts: [{ ports: [{ port: '81', protocol: 'TCP' }] }] }],
    },
  },
  {
    name: 'web3-from-sa',
    generation: 1,
    mode: 'enforce',
    spec: {
      endpointSelector: { matchLabels: { app: 'web', 'k8s:io.kubernetes.pod.namespace': 'other' } },
      ingress: [{ fromEndpoints: [{ matchLabels: { 'io.cilium.k8s.policy.serviceaccount': 'web-sa' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
    },
  },
  {
    name: 'shop.web-trial',
    generation: 1,
    mode: 'audit',
    spec: { namespace: 'shop', endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{}] },
  },
];

/** web1 may reach everything but the API server (played by web3: its addresses are the cluster's
 *  kube-apiserver addresses), whose port 80 it is denied. */
export const V4: BundledPolicy[] = [
  {
    name: 'shop.web-no-apiserver',
    generation: 1,
    mode: 'enforce',
    spec: {
      namespace: 'shop',
      endpointSelector: { matchLabels: { app: 'web' } },
      egress: [{ toEntities: ['all'] }],
      egressDeny: [{ toEntities: ['kube-apiserver'], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
    },
  },
];

export interface Probe {
  from: PodName;
  to: PodName;
  port: number;
  want: 'pass' | 'drop';
}

export const V1_PROBES: Probe[] = [
  { from: 'web1', to: 'db', port: 80, want: 'pass' }, // app=web in the policy's namespace
  { from: 'web1', to: 'db', port: 81, want: 'drop' }, // port not allowed, db is default-deny
  { from: 'web3', to: 'db', port: 80, want: 'drop' }, // app=web, but another namespace (CNP scoping)
  { from: 'web3', to: 'web1', port: 80, want: 'pass' }, // namespace "other" has team=blue
  { from: 'db', to: 'web1', port: 80, want: 'drop' }, // namespace "shop" is team=red
  { from: 'web1', to: 'web3', port: 81, want: 'drop' },
];

export const V2_PROBES: Probe[] = [
  { from: 'web1', to: 'db', port: 80, want: 'drop' },
  { from: 'web3', to: 'db', port: 80, want: 'pass' },
  { from: 'web3', to: 'db', port: 81, want: 'pass' },
  { from: 'db', to: 'web1', port: 80, want: 'pass' }, // web-from-blue is gone: web1 is unselected
  { from: 'web1', to: 'web3', port: 81, want: 'pass' },
];

export const V3_PROBES: Probe[] = [
  { from: 'web1', to: 'db', port: 80, want: 'pass' }, // cluster entity, port range 80-81
  { from: 'web1', to: 'db', port: 81, want: 'pass' },
  { from: 'web3', to: 'db', port: 80, want: 'pass' },
  { from: 'web3', to: 'db', port: 81, want: 'drop' }, // deny over allow
  { from: 'web1', to: 'web3', port: 80, want: 'pass' }, // service account web-sa
  { from: 'db', to: 'web3', port: 80, want: 'drop' },
  { from: 'web1', to: 'web3', port: 81, want: 'drop' },
  { from: 'db', to: 'web1', port: 81, want: 'pass' }, // audit policy: default deny only counted
];

/** V4's probes; web3's addresses are the kube-apiserver's there, so the kernel sees web3 as the
 *  kube-apiserver identity (explain: the `kube-apiserver` entity). */
export const V4_PROBES: Probe[] = [
  { from: 'web1', to: 'web3', port: 80, want: 'drop' },
  { from: 'web1', to: 'web3', port: 81, want: 'pass' },
  { from: 'web1', to: 'db', port: 80, want: 'pass' },
];

/** The pod as explain's workload side: the label set the agent builds for it. */
export function podSide(p: PodName): FlowSide {
  const pod = PODS[p];
  return { workload: buildPodLabelSet({ labels: pod.labels, namespace: pod.namespace, serviceAccount: pod.serviceAccount, namespaceLabels: NAMESPACE_LABELS[pod.namespace], clusterId: CLUSTER_ID }) };
}

/** explainFlow's answer for a probe, as the packet's fate: forwarded and audit pass, dropped drops.
 *  `apiserver`: the pod whose addresses are the kube-apiserver's (explained as that entity). */
export function explainProbe(policies: readonly BundledPolicy[], probe: Probe, o: { apiserver?: PodName } = {}): 'pass' | 'drop' {
  const side = (p: PodName): FlowSide => (p === o.apiserver ? { entity: 'kube-apiserver' } : podSide(p));
  const e = explainFlow({ policies, source: side(probe.from), destination: side(probe.to), protocol: 6, port: probe.port });
  return e.verdict === 'dropped' ? 'drop' : 'pass';
}
