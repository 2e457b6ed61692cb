/** Flow summaries and batches for the flow suites: hand-made ones and a deterministic generator. */
import { randomUUID } from 'node:crypto';
import type { FlowEndpoint, FlowSummary, FlowSummaryBatch } from '../../openapi/types.js';

export function endpoint(namespace: string, workload: string, identity: number, extra: Partial<FlowEndpoint> = {}): FlowEndpoint {
  return {
    identity,
    namespace,
    pod_name: `${workload}-7d9f-${identity % 97}`,
    labels: [`k8s:app=${workload}`, `k8s:io.kubernetes.pod.namespace=${namespace}`],
    workloads: [{ name: workload, kind: 'Deployment' }],
    ...extra,
  };
}

export const WORLD: FlowEndpoint = { identity: 2, labels: ['reserved:world'] };

export function summary(overrides: Partial<FlowSummary> = {}): FlowSummary {
  return {
    source: endpoint('shop', 'web', 1001),
    destination: endpoint('shop', 'api', 1002),
    l4: { protocol: 'TCP', destination_port: 8080 },
    traffic_direction: 'INGRESS',
    verdict: 'FORWARDED',
    packets: 10,
    bytes: 1000,
    flows: 1,
    ...overrides,
  };
}

export const KUBE_DNS: FlowEndpoint = endpoint('kube-system', 'coredns', 1500, { labels: ['k8s:k8s-app=kube-dns', 'k8s:io.kubernetes.pod.namespace=kube-system'] });

/** An L7 DNS summary as the agent's dnsSummaries makes it: a query from shop/web to kube-dns over UDP/53. */
export function dnsSummary(dns: Partial<NonNullable<FlowSummary['l7']>['dns']> = {}, overrides: Partial<FlowSummary> = {}): FlowSummary {
  return summary({
    destination: KUBE_DNS,
    l4: { protocol: 'UDP', destination_port: 53 },
    traffic_direction: 'EGRESS',
    policy: { name: 'web-dns', revision: 1 },
    l7: { type: 'RESPONSE', latency_ns: 1_200_000, dns: { query: 'api.github.com.', qtypes: ['A'], rcode: 0, ips: ['140.82.121.5', '140.82.121.6'], ttl: 60, ...dns } },
    packets: 3,
    bytes: 0,
    flows: 0,
    ...overrides,
  });
}

/** An L7 HTTP summary as the agent's httpSummaries makes it: GET requests from shop/web to shop/api on TCP/8080 answered 404. */
export function httpSummary(http: Partial<NonNullable<NonNullable<FlowSummary['l7']>['http']>> = {}, overrides: Partial<FlowSummary> = {}): FlowSummary {
  return summary({
    traffic_direction: 'EGRESS',
    policy: { name: 'web-api', revision: 2 },
    l7: { type: 'RESPONSE', latency_ns: 3_400_000, http: { method: 'GET', code: 404, url: '/v1/items', protocol: 'HTTP/1.1', ...http } },
    packets: 5,
    bytes: 0,
    flows: 0,
    ...overrides,
  });
}

export function batch(summaries: FlowSummary[], sequence: number, end: string, extra: Partial<FlowSummaryBatch> = {}): FlowSummaryBatch {
  const endMs = Date.parse(end);
  return {
    batchId: randomUUID(),
    sequence,
    window: { start: new Date(endMs - 60_000).toISOString(), end: new Date(endMs).toISOString() },
    summaries,
    ...extra,
  };
}

/** mulberry32: a small deterministic PRNG so generated data is the same on every run. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMESPACES = ['shop', 'payments', 'search', 'infra'];
const WORKLOADS = ['web', 'api', 'db', 'cache', 'worker', 'gateway'];
const PORTS = [80, 443, 5432, 6379, 8080, 53];
const POLICIES = [{ name: 'web-allow-api', revision: 3 }, { name: 'deny-egress', revision: 1 }, { name: 'default-deny', revision: 7 }];

const DNS_QUERIES = ['api.github.com.', 'login.microsoftonline.com.', 'db.payments.svc.cluster.local.', 'exfil.evil.example.', 'nope.example.'];

/**
 * `count` varied summaries (namespaces, workloads, identities, ports, verdicts, policies, world peers); with
 * `dnsShare` > 0, about that share are L7 DNS summaries (queries to kube-dns: forwarded with rcode 0 or 3, or
 * refused). Without it the sequence is the same as it always was.
 */
export function generateSummaries(count: number, random: () => number, options: { dnsShare?: number } = {}): FlowSummary[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const dnsShare = options.dnsShare ?? 0;
  const dns = (): FlowSummary => {
    const query = pick(DNS_QUERIES);
    const refused = query.startsWith('exfil.');
    const rcode = refused ? 5 : query.startsWith('nope.') ? 3 : 0;
    const ns = pick(NAMESPACES);
    const wl = pick(WORKLOADS);
    return dnsSummary(
      { query, rcode, qtypes: [pick(['A', 'AAAA'])], ips: rcode === 0 ? [`10.200.0.${Math.floor(random() * 250)}`] : [], ttl: rcode === 0 ? 30 : 0 },
      {
        source: endpoint(ns, wl, 1000 + NAMESPACES.indexOf(ns) * 10 + WORKLOADS.indexOf(wl)),
        packets: 1 + Math.floor(random() * 50),
        ...(refused ? { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', policy: undefined } : {}),
      },
    );
  };
  const peer = (): FlowEndpoint => {
    if (random() < 0.05) return WORLD;
    const ns = pick(NAMESPACES);
    const wl = pick(WORKLOADS);
    return endpoint(ns, wl, 1000 + NAMESPACES.indexOf(ns) * 10 + WORKLOADS.indexOf(wl));
  };
  return Array.from({ length: count }, () => {
    if (dnsShare > 0 && random() < dnsShare) return JSON.parse(JSON.stringify(dns())) as FlowSummary;
    const verdict = pick(['FORWARDED', 'FORWARDED', 'FORWARDED', 'DROPPED', 'AUDIT'] as const);
    const protocol = random() < 0.8 ? 'TCP' : 'UDP';
    const s: FlowSummary = {
      source: peer(),
      destination: peer(),
      l4: { protocol, destination_port: pick(PORTS) },
      traffic_direction: random() < 0.5 ? 'INGRESS' : 'EGRESS',
      verdict,
      packets: 1 + Math.floor(random() * 1000),
      bytes: Math.floor(random() * 1_000_000),
      flows: Math.floor(random() * 20),
    };
    if (verdict !== 'FORWARDED') {
      s.drop_reason_desc = random() < 0.5 ? 'POLICY_DENIED' : 'POLICY_DENY';
      if (s.drop_reason_desc === 'POLICY_DENY') s.policy = pick(POLICIES);
    } else if (random() < 0.7) {
      s.policy = pick(POLICIES);
    }
    return s;
  });
}
