/**
 * Seeded random policy bundles over the test cluster (test-cluster.ts), for golden pins and property
 * tests of compileBundle.
 *
 * Contracts:
 * - randomBundle(seed) is a pure function of the integer seed (an exact 32-bit LCG, no Math.random):
 *   the same seed gives the same bundle on every run and machine.
 * - Every spec it returns passes the API's checks (the NetworkPolicySpec schema and
 *   validatePolicySpec): random-bundles.test.ts checks 500 seeds and that every feature below occurs.
 * - A bundle holds 1–5 policies (names unique within it) and options for input(): dnsProxy/httpProxy
 *   on or off, learned fqdnNames (the names toFQDNs and DNS rules draw from), sometimes kube-apiserver
 *   addresses.
 * - Unknown ICMP type *names* are never emitted (the validator refuses them); the "unknown" type is a
 *   number 0–255 that no name of its family stands for.
 */
import type {
  BundledPolicy,
  CIDRRule,
  EgressDenyRule,
  EgressRule,
  FQDNSelector,
  IngressDenyRule,
  IngressRule,
  LabelSelector,
  NetworkPolicySpec,
  PortProtocol,
  PortRule,
  Rule,
} from '../../../openapi/types.js';
import { policy } from './test-cluster.js';
import type { CompileInput, LearnedName } from './types.js';

export interface RandomBundle {
  policies: BundledPolicy[];
  /** overrides for test-cluster.ts's input() */
  options: Partial<CompileInput>;
}

/** What the DNS proxy may have learned; toFQDNs and DNS rules name these (and one name never learned). */
export const RANDOM_FQDN_NAMES: readonly LearnedName[] = [
  { name: 'api.example.com', ips: ['203.0.113.10', '2001:db8::10'] },
  { name: 'cdn.example.com', ips: ['198.51.100.7'] },
  { name: 'www.example.org', ips: ['192.0.2.80', '2001:db8::80', '10.0.2.1'] },
];

const NS_KEY = 'k8s:io.kubernetes.pod.namespace';

const SUBJECTS: readonly LabelSelector[] = [
  {},
  { matchLabels: { app: 'web' } },
  { matchLabels: { app: 'db' } },
  { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'db'] }] },
  { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] },
  { matchExpressions: [{ key: 'pod-template-hash', operator: 'Exists' }] },
];

const PEER_SELECTORS: readonly LabelSelector[] = [
  {},
  { matchLabels: { app: 'web' } },
  { matchLabels: { app: 'db' } },
  { matchLabels: { app: 'client' } },
  { matchLabels: { app: 'web', [NS_KEY]: 'other' } },
  { matchLabels: { [NS_KEY]: 'other' } },
  { matchLabels: { [NS_KEY]: 'shop' } },
  { matchLabels: { 'k8s:io.cilium.k8s.namespace.labels.team': 'blue' } },
  { matchExpressions: [{ key: 'app', operator: 'In', values: ['client', 'db'] }] },
  { matchExpressions: [{ key: NS_KEY, operator: 'NotIn', values: ['shop'] }] },
];

const REQUIRES: readonly LabelSelector[] = [
  { matchLabels: { [NS_KEY]: 'shop' } },
  { matchLabels: { 'k8s:io.cilium.k8s.namespace.labels.team': 'red' } },
  { matchExpressions: [{ key: 'app', operator: 'Exists' }] },
];

const ENTITIES: readonly string[] = ['all', 'world', 'world-ipv4', 'world-ipv6', 'cluster', 'host', 'remote-node', 'kube-apiserver', 'none'];

const CIDR_SETS: readonly CIDRRule[] = [
  { cidr: '10.0.0.0/8', except: ['10.0.2.0/24'] },
  { cidr: '203.0.113.0/24', except: ['203.0.113.10/32'] },
  { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '192.168.0.0/16'] },
  { cidr: '198.51.100.0/24' },
  { cidr: '10.0.1.0/24' },
  { cidr: '2001:db8::/32', except: ['2001:db8::10/128'] },
  { cidr: '::/0', except: ['fd00::/8'] },
  { cidr: 'fd00:10::/64', except: ['fd00:10::1:2/128'] },
  { cidr: '2001:db8::/48' },
];

const CIDRS: readonly string[] = ['20.1.1.1/32', '10.0.2.0/24', '192.168.0.0/24', '203.0.113.10/32', '2001:db8::10/128', 'fd00:10::/64', '2001:db8:1::/48'];

const FQDNS: readonly FQDNSelector[] = [
  { matchName: 'api.example.com' },
  { matchName: 'cdn.example.com' },
  { matchName: 'www.example.org' },
  { matchPattern: '*.example.com' },
  { matchName: 'never.example.net' },
];

const DNS_RULES: readonly FQDNSelector[] = [
  { matchName: 'api.example.com' },
  { matchName: 'www.example.org' },
  { matchPattern: '*.example.com' },
  { matchPattern: '*' },
  { matchPattern: '**.example.org' },
];

const HTTP_RULES = [{ method: 'GET', path: '/public/.*' }, { method: 'POST' }, { path: '/api/v1/.*' }, { method: 'GET' }, {}] as const;

type Family = 'IPv4' | 'IPv6';
/** ICMP fields: echo request/reply of each family by number and by name, and an unnamed number */
const ICMP_FIELDS: ReadonlyArray<{ family?: Family; type: number | string }> = [
  { type: 0 },
  { type: 8 },
  { type: 'EchoRequest' },
  { family: 'IPv4', type: 'EchoReply' },
  { type: 200 },
  { family: 'IPv6', type: 128 },
  { family: 'IPv6', type: 129 },
  { family: 'IPv6', type: 'EchoRequest' },
  { family: 'IPv6', type: 250 },
];

const PROTOCOLS: ReadonlyArray<PortProtocol['protocol']> = [undefined, 'ANY', 'TCP', 'UDP', 'SCTP'];

interface Rng {
  /** 0 ≤ result < n */
  int(n: number): number;
  chance(percent: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** 1..max distinct items, in their order in `items` */
  some<T>(items: readonly T[], max: number): T[];
}

/** The LCG of compile-properties.test.ts (glibc constants), exact in 32 bits; draws bits 16–30. */
function createRng(seed: number): Rng {
  let s = (Math.imul(seed | 0, 2654435761) ^ 0x5eed) & 0x7fffffff;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    return s >>> 16;
  };
  next();
  const rng: Rng = {
    int: (n) => next() % n,
    chance: (percent) => next() % 100 < percent,
    pick: (items) => items[next() % items.length] as (typeof items)[number],
    some: (items, max) => {
      const n = 1 + rng.int(Math.min(max, items.length));
      const chosen = new Set<number>();
      while (chosen.size < n) chosen.add(rng.int(items.length));
      return [...chosen].sort((a, b) => a - b).map((i) => items[i] as (typeof items)[number]);
    },
  };
  return rng;
}

const clone = <T>(value: T): T => structuredClone(value);

function randomPort(r: Rng): PortProtocol {
  const protocol = r.pick(PROTOCOLS);
  const withProtocol = (p: PortProtocol): PortProtocol => (protocol === undefined ? p : { ...p, protocol });
  switch (r.int(6)) {
    case 0:
      return withProtocol({ port: '0' });
    case 1:
      return withProtocol({ port: r.pick(['http', 'dns', 'postgres']) });
    case 2:
      return withProtocol(r.pick([{ port: '8000', endPort: 8100 }, { port: '1024', endPort: 65535 }, { port: '5432', endPort: 5432 }]));
    default:
      return withProtocol({ port: r.pick(['53', '80', '443', '5432', '8080']) });
  }
}

function randomPortRules(r: Rng): PortRule[] {
  return Array.from({ length: 1 + r.int(2) }, () => ({ ports: Array.from({ length: 1 + r.int(2) }, () => randomPort(r)) }));
}

function randomIcmps(r: Rng): NonNullable<IngressRule['icmps']> {
  return [{ fields: r.some(ICMP_FIELDS, 3).map(clone) }];
}

/** An L7 port rule: DNS (egress only) on 53 or HTTP on numbered TCP ports. */
function randomL7(r: Rng, direction: 'ingress' | 'egress'): PortRule {
  if (direction === 'egress' && r.chance(50)) {
    const ports = r.some<PortProtocol>([{ port: '53', protocol: 'UDP' }, { port: '53', protocol: 'TCP' }, { port: '53', protocol: 'ANY' }, { port: '53' }], 2);
    return { ports: ports.map(clone), rules: { dns: r.some(DNS_RULES, 3).map(clone) } };
  }
  const ports = r.some<PortProtocol>([{ port: '80', protocol: 'TCP' }, { port: '8080', protocol: 'TCP' }, { port: '443', protocol: 'TCP' }, { port: '8000', endPort: 8003, protocol: 'TCP' }], 2);
  return { ports: ports.map(clone), rules: { http: r.some(HTTP_RULES, 2).map((h) => ({ ...h })) } };
}

type AnyRule = IngressRule & EgressRule;

/** The L3 peer of one rule (at most one kind, as the validator requires), or none. */
function addPeer(r: Rng, rule: AnyRule, direction: 'ingress' | 'egress', deny: boolean): void {
  // toFQDNs only on egress allows (deny rules have none)
  const kind = r.pick(direction === 'egress' && !deny ? ['endpoints', 'entities', 'cidrSet', 'cidr', 'fqdns', 'none'] : ['endpoints', 'entities', 'cidrSet', 'cidr', 'none']);
  const from = direction === 'ingress';
  if (kind === 'endpoints') rule[from ? 'fromEndpoints' : 'toEndpoints'] = r.some(PEER_SELECTORS, 2).map(clone);
  else if (kind === 'entities') rule[from ? 'fromEntities' : 'toEntities'] = r.some(ENTITIES, 2);
  else if (kind === 'cidrSet') rule[from ? 'fromCIDRSet' : 'toCIDRSet'] = r.some(CIDR_SETS, 2).map(clone);
  else if (kind === 'cidr') rule[from ? 'fromCIDR' : 'toCIDR'] = r.some(CIDRS, 2);
  else if (kind === 'fqdns') rule.toFQDNs = r.some(FQDNS, 2).map(clone);
  if (r.chance(10)) rule[from ? 'fromRequires' : 'toRequires'] = [clone(r.pick(REQUIRES))];
}

function randomPeerRule(r: Rng, direction: 'ingress' | 'egress', deny: boolean): AnyRule {
  const rule: AnyRule = {};
  addPeer(r, rule, direction, deny);
  const l4 = r.int(10);
  if (l4 < 2) rule.icmps = randomIcmps(r);
  else if (l4 < 6) rule.toPorts = randomPortRules(r);
  else if (l4 < 9 && !deny) {
    // L7 rules with a peer the proxies handle; toFQDNs + DNS rules is allowed too
    rule.toPorts = [randomL7(r, direction)];
  }
  return rule;
}

function randomRule(r: Rng, namespace: string | undefined): Rule {
  // a namespaced policy may pin its own namespace (never another: the validator refuses that)
  const rule: Rule = { endpointSelector: namespace !== undefined && r.chance(15) ? { matchLabels: { [NS_KEY]: namespace } } : clone(r.pick(SUBJECTS)) };
  const rules = (direction: 'ingress' | 'egress', deny: boolean): AnyRule[] => Array.from({ length: 1 + r.int(2) }, () => randomPeerRule(r, direction, deny));
  // allows in most rules, denies in about a quarter each (denies of broad peers would hide the rest)
  const directions = [...r.some(['ingress', 'egress'] as const, 2), ...(r.chance(25) ? ['ingressDeny' as const] : []), ...(r.chance(25) ? ['egressDeny' as const] : [])];
  for (const d of directions) {
    if (d === 'ingress') rule.ingress = rules('ingress', false) as IngressRule[];
    else if (d === 'egress') rule.egress = rules('egress', false) as EgressRule[];
    else if (d === 'ingressDeny') rule.ingressDeny = rules('ingress', true) as IngressDenyRule[];
    else rule.egressDeny = rules('egress', true) as EgressDenyRule[];
  }
  if (r.chance(15)) rule.enableDefaultDeny = r.pick([{ ingress: false }, { egress: false }, { ingress: false, egress: true }]);
  return rule;
}

function randomSpec(r: Rng, namespace: string | undefined): NetworkPolicySpec {
  const head: NetworkPolicySpec = {};
  if (namespace !== undefined) head.namespace = namespace;
  if (r.chance(40)) head.mode = r.chance(50) ? 'audit' : 'enforce';
  if (r.chance(12)) return { ...head, specs: Array.from({ length: 2 + r.int(2) }, () => randomRule(r, namespace)) };
  return { ...head, ...randomRule(r, namespace) };
}

export function randomBundle(seed: number): RandomBundle {
  const r = createRng(seed);
  const policies: BundledPolicy[] = Array.from({ length: 1 + r.int(5) }, (_, i) => {
    const namespace = r.chance(35) ? r.pick(['shop', 'shop', 'other']) : undefined;
    const name = namespace === undefined ? `p${i}` : `${namespace}.p${i}`;
    return policy(name, randomSpec(r, namespace), { generation: 1 + r.int(3) });
  });
  const options: Partial<CompileInput> = {};
  if (r.chance(75)) options.dnsProxy = r.chance(80);
  if (r.chance(75)) options.httpProxy = r.chance(75);
  if (r.chance(70)) options.fqdnNames = r.some(RANDOM_FQDN_NAMES, 3).map(clone);
  if (r.chance(30)) options.kubeApiserver = r.pick([['192.168.0.1', 'fd00:192::1'], ['10.96.0.1'], ['172.20.0.5', '2001:db8:ffff::5']]);
  return { policies, options };
}
