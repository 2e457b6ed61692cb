/**
 * The given/want tables of compile-bundle.test.ts (inputs over test-cluster.ts), in a module of their
 * own so the compile pin (scripts/generate-compile-pin.ts, compile-pin.test.ts) compiles the same inputs.
 */
import { collectImportedPolicies, importPolicyDocuments } from '../../../core/policy/import/import-policy-documents.js';
import type { BundledPolicy } from '../../../openapi/types.js';
import { policy, type Rendered } from './test-cluster.js';
import type { CompileInput } from './types.js';

export interface Case {
  name: string;
  given: BundledPolicy[];
  o?: Partial<CompileInput>;
  want: Partial<Rendered>;
}

export const DB = { matchLabels: { app: 'db' } };
export const WEB = { matchLabels: { app: 'web' } };
export const tcp = (port: string, endPort?: number) => ({ ports: [{ port, protocol: 'TCP' as const, ...(endPort ? { endPort } : {}) }] });

export const cases: Case[] = [
  {
    name: 'no policy: endpoints managed, nothing default-denied, no entries',
    given: [],
    want: { endpoints: ['11 web@shop', '12 db@shop'], policy: [] },
  },
  {
    name: 'namespaced policy: fromEndpoints is scoped to the policy namespace (web@other not allowed)',
    given: [policy('shop.db', { namespace: 'shop', endpointSelector: DB, ingress: [{ fromEndpoints: [WEB], toPorts: [tcp('5432')] }] })],
    want: {
      endpoints: ['11 web@shop', '12 db@shop deny-in'],
      policy: ['db@shop in web@shop tcp/5432 allow shop.db/ingress/0'],
    },
  },
  {
    name: 'namespaced policy: endpointSelector only selects pods of its namespace',
    given: [policy('other.web', { namespace: 'other', endpointSelector: WEB, ingress: [{ fromEndpoints: [{}] }] })],
    want: { endpoints: ['11 web@shop', '12 db@shop'], policy: [] },
  },
  {
    name: 'clusterwide policy: {} selects every pod of the cluster, but no reserved identity',
    given: [policy('db', { endpointSelector: DB, ingress: [{ fromEndpoints: [{}], toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }] }] })],
    want: {
      policy: [
        'db@shop in client@other udp/53 allow db/ingress/0',
        'db@shop in db@shop udp/53 allow db/ingress/0',
        'db@shop in web@other udp/53 allow db/ingress/0',
        'db@shop in web@shop udp/53 allow db/ingress/0',
      ],
    },
  },
  {
    name: 'label sources: k8s:, any: and none all select the same pods',
    given: [policy('db', { endpointSelector: { matchLabels: { 'k8s:app': 'db' } }, ingress: [{ fromEndpoints: [{ matchLabels: { 'any:app': 'client' } }, { matchLabels: { app: 'client' } }] }] })],
    want: { policy: ['db@shop in client@other any allow db/ingress/0'] },
  },
  {
    name: 'namespace selector: pods of namespaces labelled team=blue, across namespaces',
    given: [policy('shop.db', { namespace: 'shop', endpointSelector: DB, ingress: [{ fromEndpoints: [{ matchLabels: { 'k8s:io.cilium.k8s.namespace.labels.team': 'blue' } }] }] })],
    want: { policy: ['db@shop in client@other any allow shop.db/ingress/0', 'db@shop in web@other any allow shop.db/ingress/0'] },
  },
  {
    name: 'explicit pod namespace in a namespaced policy reaches that namespace',
    given: [policy('shop.db', { namespace: 'shop', endpointSelector: DB, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web', 'k8s:io.kubernetes.pod.namespace': 'other' } }] }] })],
    want: { policy: ['db@shop in web@other any allow shop.db/ingress/0'] },
  },
  {
    name: 'service account selector',
    given: [policy('shop.db', { namespace: 'shop', endpointSelector: DB, ingress: [{ fromEndpoints: [{ matchLabels: { 'io.cilium.k8s.policy.serviceaccount': 'web-sa' } }], toPorts: [tcp('5432')] }] })],
    want: { policy: ['db@shop in web@shop tcp/5432 allow shop.db/ingress/0'] },
  },
  {
    name: 'ports: TCP range split into prefix blocks, ANY = TCP+UDP, port 0 = every port of the protocol',
    given: [
      policy('db', {
        endpointSelector: DB,
        ingress: [{ fromEndpoints: [WEB], toPorts: [{ ports: [{ port: '8080', endPort: 8090, protocol: 'TCP' }, { port: '53' }, { port: '0', protocol: 'UDP' }] }] }],
      }),
    ],
    want: {
      policy: [
        'db@shop in web@other tcp/53 allow db/ingress/0',
        'db@shop in web@other tcp/8080/13 allow db/ingress/0',
        'db@shop in web@other tcp/8088/15 allow db/ingress/0',
        'db@shop in web@other tcp/8090 allow db/ingress/0',
        'db@shop in web@other udp allow db/ingress/0',
        'db@shop in web@other udp/53 allow db/ingress/0',
        'db@shop in web@shop tcp/53 allow db/ingress/0',
        'db@shop in web@shop tcp/8080/13 allow db/ingress/0',
        'db@shop in web@shop tcp/8088/15 allow db/ingress/0',
        'db@shop in web@shop tcp/8090 allow db/ingress/0',
        'db@shop in web@shop udp allow db/ingress/0',
        'db@shop in web@shop udp/53 allow db/ingress/0',
      ],
    },
  },
  {
    name: 'L4-only rule (no peer) = any peer on those ports; empty rule {} allows nothing but default-denies',
    given: [policy('web', { endpointSelector: WEB, egress: [{ toPorts: [tcp('443')] }, {}] })],
    want: { endpoints: ['11 web@shop deny-out', '12 db@shop'], policy: ['web@shop out * tcp/443 allow web/egress/0'] },
  },
  {
    name: 'ICMP types (IPv4) by number and name',
    given: [policy('db', { endpointSelector: DB, ingress: [{ fromEntities: ['cluster'], icmps: [{ fields: [{ type: 8 }, { type: 'TimeExceeded', family: 'IPv4' }] }] }] })],
    want: {
      policy: [
        'db@shop in client@other icmp/11 allow db/ingress/0',
        'db@shop in client@other icmp/8 allow db/ingress/0',
        'db@shop in db@shop icmp/11 allow db/ingress/0',
        'db@shop in db@shop icmp/8 allow db/ingress/0',
        'db@shop in health icmp/11 allow db/ingress/0',
        'db@shop in health icmp/8 allow db/ingress/0',
        'db@shop in host icmp/11 allow db/ingress/0',
        'db@shop in host icmp/8 allow db/ingress/0',
        'db@shop in ingress icmp/11 allow db/ingress/0',
        'db@shop in ingress icmp/8 allow db/ingress/0',
        'db@shop in init icmp/11 allow db/ingress/0',
        'db@shop in init icmp/8 allow db/ingress/0',
        'db@shop in kube-apiserver icmp/11 allow db/ingress/0',
        'db@shop in kube-apiserver icmp/8 allow db/ingress/0',
        'db@shop in remote-node icmp/11 allow db/ingress/0',
        'db@shop in remote-node icmp/8 allow db/ingress/0',
        'db@shop in unmanaged icmp/11 allow db/ingress/0',
        'db@shop in unmanaged icmp/8 allow db/ingress/0',
        'db@shop in web@other icmp/11 allow db/ingress/0',
        'db@shop in web@other icmp/8 allow db/ingress/0',
        'db@shop in web@shop icmp/11 allow db/ingress/0',
        'db@shop in web@shop icmp/8 allow db/ingress/0',
      ],
    },
  },
  {
    name: 'entities: all = the any-peer family, host, world (+ CIDR identities)',
    given: [
      policy('web', {
        endpointSelector: WEB,
        egress: [{ toEntities: ['all'], toPorts: [tcp('80')] }, { toEntities: ['host'] }, { toEntities: ['world'], toPorts: [tcp('443')] }, { toCIDR: ['8.8.8.8/32'], toPorts: [tcp('53')] }],
      }),
    ],
    want: {
      policy: [
        'web@shop out * tcp/80 allow web/egress/0',
        'web@shop out cidr:8.8.8.8/32 tcp/443 allow web/egress/2',
        'web@shop out cidr:8.8.8.8/32 tcp/53 allow web/egress/3',
        'web@shop out host any allow web/egress/1',
        'web@shop out world tcp/443 allow web/egress/2',
        'web@shop out world-ipv4 tcp/443 allow web/egress/2',
        'web@shop out world-ipv6 tcp/443 allow web/egress/2',
      ],
    },
  },
  {
    name: 'CIDR set with except: prefix masked, except mapped back to world, pods keep their identity',
    given: [policy('web', { endpointSelector: WEB, egress: [{ toCIDRSet: [{ cidr: '10.9.9.9/8', except: ['10.0.2.0/24'] }] }] })],
    want: {
      policy: ['web@shop out cidr:10.0.0.0/8 any allow web/egress/0'],
      ipcache: [
        '10.0.0.0/8 cidr:10.0.0.0/8',
        '10.0.1.1/32 web@shop',
        '10.0.1.2/32 db@shop',
        '10.0.1.3/32 web@shop',
        '10.0.2.0/24 world',
        '10.0.2.1/32 client@other',
        '10.0.2.2/32 web@other',
        '192.168.0.1/32 host',
        '192.168.0.2/32 remote-node',
        'fd00:10::1:1/128 web@shop',
        'fd00:10::1:2/128 db@shop',
        'fd00:10::1:3/128 web@shop',
        'fd00:10::2:1/128 client@other',
        'fd00:192::1/128 host',
        'fd00:192::2/128 remote-node',
      ],
    },
  },
  {
    name: 'nested CIDRs: an except of one rule allowed by another keeps a CIDR identity selected only by that one',
    given: [
      policy('web', {
        endpointSelector: WEB,
        egress: [{ toCIDRSet: [{ cidr: '20.0.0.0/8', except: ['20.1.0.0/16'] }], toPorts: [tcp('80')] }, { toCIDR: ['20.1.0.0/16'], toPorts: [tcp('443')] }],
      }),
    ],
    want: {
      policy: ['web@shop out cidr:20.0.0.0/8 tcp/80 allow web/egress/0', 'web@shop out cidr:20.1.0.0/16 tcp/443 allow web/egress/1'],
    },
  },
  {
    name: 'deny beats allow in one family: the longer allow key is written with the covering deny',
    given: [
      policy('db', {
        endpointSelector: DB,
        ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [tcp('80')] }],
        ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }] }] }],
      }),
    ],
    want: {
      endpoints: ['11 web@shop', '12 db@shop deny-in'],
      policy: ['db@shop in client@other tcp deny db/ingressDeny/0', 'db@shop in client@other tcp/80 deny db/ingressDeny/0'],
    },
  },
  {
    name: 'deny across families needs no rewrite (the kernel takes the max of peer and any-peer)',
    given: [
      policy('db', {
        endpointSelector: DB,
        ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [tcp('80')] }],
        ingressDeny: [{ fromEntities: ['all'], toPorts: [tcp('80')] }],
      }),
    ],
    want: { policy: ['db@shop in * tcp/80 deny db/ingressDeny/0', 'db@shop in client@other tcp/80 allow db/ingress/0'] },
  },
  {
    name: 'a shorter allow under a longer deny keeps allow; the deny key stays deny',
    given: [
      policy('db', {
        endpointSelector: DB,
        ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }],
        ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [tcp('22')] }],
      }),
    ],
    want: { policy: ['db@shop in client@other any allow db/ingress/0', 'db@shop in client@other tcp/22 deny db/ingressDeny/0'] },
  },
  {
    name: 'enableDefaultDeny false: selected but not default-deny in that direction',
    given: [policy('db', { endpointSelector: DB, enableDefaultDeny: { ingress: false }, ingressDeny: [{ fromEntities: ['world'] }] })],
    want: { endpoints: ['11 web@shop', '12 db@shop'], policy: ['db@shop in world any deny db/ingressDeny/0', 'db@shop in world-ipv4 any deny db/ingressDeny/0', 'db@shop in world-ipv6 any deny db/ingressDeny/0'] },
  },
  {
    name: 'default deny wins over another policy with enableDefaultDeny false',
    given: [
      policy('a', { endpointSelector: DB, enableDefaultDeny: { ingress: false }, ingress: [{ fromEndpoints: [WEB] }] }),
      policy('b', { endpointSelector: DB, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] }),
    ],
    want: { endpoints: ['11 web@shop', '12 db@shop deny-in'] },
  },
  {
    name: 'audit mode alone: default deny and audit bits, deny rules become audit-deny, allows kept',
    given: [
      policy('db', {
        endpointSelector: DB,
        ingress: [{ fromEndpoints: [WEB], toPorts: [tcp('5432')] }],
        ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }],
      }, { mode: 'audit' }),
    ],
    want: {
      endpoints: ['11 web@shop', '12 db@shop deny-in,audit-in'],
      policy: [
        'db@shop in client@other any audit-deny db/ingressDeny/0',
        'db@shop in web@other tcp/5432 allow db/ingress/0',
        'db@shop in web@shop tcp/5432 allow db/ingress/0',
      ],
    },
  },
  {
    name: 'audit policy next to an enforce policy never loosens: its allows are dropped, the enforce default deny stands',
    given: [
      policy('enforce', { endpointSelector: DB, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] }),
      policy('trial', { endpointSelector: DB, ingress: [{ fromEndpoints: [WEB] }], ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [tcp('22')] }] }, { mode: 'audit' }),
    ],
    want: {
      endpoints: ['11 web@shop', '12 db@shop deny-in'],
      policy: ['db@shop in client@other any allow enforce/ingress/0', 'db@shop in client@other tcp/22 audit-deny trial/ingressDeny/0'],
    },
  },
  {
    name: 'audit denies never loosen an enforce default deny: clipped to what enforce allows',
    given: [
      policy('enforce', { endpointSelector: DB, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [tcp('80')] }] }),
      policy('trial', { endpointSelector: DB, ingressDeny: [{ fromEntities: ['all'], toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }] }] }] }, { mode: 'audit' }),
    ],
    want: {
      endpoints: ['11 web@shop', '12 db@shop deny-in'],
      // no "* tcp audit-deny": it would forward every TCP packet the enforce default deny drops
      policy: ['db@shop in client@other tcp/80 audit-deny trial/ingressDeny/0'],
    },
  },
  {
    name: 'audit default deny is not counted where an enforce deny selects the endpoint (the audit bit would soften it)',
    given: [
      policy('enforce', { endpointSelector: DB, enableDefaultDeny: { ingress: false }, ingressDeny: [{ fromEntities: ['world'] }] }),
      policy('trial', { endpointSelector: DB, ingress: [{ fromEndpoints: [WEB] }] }, { mode: 'audit' }),
    ],
    want: { endpoints: ['11 web@shop', '12 db@shop'] },
  },
  {
    name: 'fromRequires narrows every allow of the selected endpoint',
    given: [
      policy('req', { namespace: 'shop', endpointSelector: DB, ingress: [{ fromRequires: [{ matchLabels: { app: 'web' } }] }] }),
      policy('allow', { endpointSelector: DB, ingress: [{ fromEntities: ['cluster'], toPorts: [tcp('80')] }, { toPorts: [tcp('81')] }] }),
    ],
    want: { policy: ['db@shop in web@shop tcp/80 allow allow/ingress/0', 'db@shop in web@shop tcp/81 allow allow/ingress/1'] },
  },
  {
    name: 'specs: each rule has its own pointer',
    given: [policy('multi', { specs: [{ endpointSelector: WEB, egress: [{ toEndpoints: [DB] }] }, { endpointSelector: DB, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web', 'k8s:io.kubernetes.pod.namespace': 'shop' } }] }] }] })],
    want: { policy: ['db@shop in web@shop any allow multi/specs/1/ingress/0', 'web@shop out db@shop any allow multi/specs/0/egress/0'] },
  },
  {
    name: 'degraded, fail closed: toFQDNs and L7 http contribute no allow; http {} and dns * are plain L4 allows',
    given: [
      policy('web', {
        endpointSelector: WEB,
        egress: [
          { toFQDNs: [{ matchName: 'api.example.com' }], toPorts: [tcp('443')] },
          { toEndpoints: [DB], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/' }] } }] },
          { toEndpoints: [DB], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{}] } }] },
          { toEntities: ['cluster'], toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '*' }] } }] },
        ],
      }),
    ],
    want: {
      endpoints: ['11 web@shop deny-out', '12 db@shop'],
      degraded: [
        'web/egress/0/toFQDNs: FQDN rules need the DNS proxy, which this node does not run (agent --no-dns-proxy, or no node address for it); contributes no allow (fail closed)',
        'web/egress/1/toPorts/0/rules/http: L7 http rules need a proxy the datapath does not have; no L4 allow for these ports (fail closed)',
      ],
    },
  },
  {
    name: 'degraded: named port (allow: none; deny: whole protocol), toServices deny → every peer, nodeSelector, authentication',
    given: [
      policy('db', {
        endpointSelector: DB,
        ingress: [{ fromEndpoints: [WEB], toPorts: [{ ports: [{ port: 'postgres', protocol: 'TCP' }] }] }, { fromEndpoints: [WEB], authentication: { mode: 'required' } }],
        ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: 'ssh', protocol: 'TCP' }] }] }],
        egressDeny: [{ toServices: [{ k8sService: { serviceName: 'x', namespace: 'y' } }], toPorts: [tcp('25')] }],
      }),
      policy('hosts', { nodeSelector: {}, ingress: [{ fromEntities: ['cluster'] }] }),
    ],
    want: {
      endpoints: ['11 web@shop', '12 db@shop deny-in,deny-out'],
      policy: ['db@shop in client@other tcp deny db/ingressDeny/0', 'db@shop out * tcp/25 deny db/egressDeny/0'],
      degraded: [
        'db/egressDeny/0/toServices: service backends are not resolved by the agent; the deny applies to every peer (fail closed)',
        'db/ingress/0/toPorts/0/ports/0: named port "postgres" cannot be resolved by the agent; no allow (fail closed)',
        'db/ingress/1/authentication: mutual authentication (required) is not supported; contributes no allow (fail closed)',
        'db/ingressDeny/0/toPorts/0/ports/0: named port "ssh" cannot be resolved by the agent; the deny covers every port of the protocol (fail closed)',
        'hosts/nodeSelector: host policies (nodeSelector) are not enforced: fleetnet polices pod veths only; the rule has no effect',
      ],
    },
  },
  // ---- IPv6, the same policy as IPv4 ---------------------------------------------------------
  {
    name: 'IPv6 CIDR set with except: canonical prefix with a CIDR identity, the except back to world-ipv6',
    given: [policy('web', { endpointSelector: WEB, egress: [{ toCIDRSet: [{ cidr: '2001:DB8:0::1/32', except: ['2001:db8:1::/48'] }], toPorts: [tcp('443')] }] })],
    want: {
      policy: ['web@shop out cidr:2001:db8::/32 tcp/443 allow web/egress/0'],
      ipcache: [
        '10.0.1.1/32 web@shop',
        '10.0.1.2/32 db@shop',
        '10.0.1.3/32 web@shop',
        '10.0.2.1/32 client@other',
        '10.0.2.2/32 web@other',
        '192.168.0.1/32 host',
        '192.168.0.2/32 remote-node',
        '2001:db8::/32 cidr:2001:db8::/32',
        '2001:db8:1::/48 world-ipv6',
        'fd00:10::1:1/128 web@shop',
        'fd00:10::1:2/128 db@shop',
        'fd00:10::1:3/128 web@shop',
        'fd00:10::2:1/128 client@other',
        'fd00:192::1/128 host',
        'fd00:192::2/128 remote-node',
      ],
      degraded: [],
    },
  },
  {
    name: 'IPv6 and IPv4 prefixes in one rule; a pod address inside a v6 prefix keeps its identity; ::/0 is a prefix like 0.0.0.0/0 (the kernel never applies it to IPv4)',
    given: [
      policy('web', {
        endpointSelector: WEB,
        egress: [{ toCIDR: ['8.8.8.8/32', '2001:4860:4860::8888'], toPorts: [tcp('53')] }, { toCIDRSet: [{ cidr: 'fd00::/8' }, { cidr: '::/0', except: ['fd00::/8'] }] }],
      }),
    ],
    want: {
      policy: [
        'web@shop out cidr:2001:4860:4860::8888/128 any allow web/egress/1',
        'web@shop out cidr:2001:4860:4860::8888/128 tcp/53 allow web/egress/0',
        'web@shop out cidr:8.8.8.8/32 tcp/53 allow web/egress/0',
        'web@shop out cidr:::/0 any allow web/egress/1',
        'web@shop out cidr:fd00::/8 any allow web/egress/1',
      ],
      ipcache: [
        '8.8.8.8/32 cidr:8.8.8.8/32',
        '10.0.1.1/32 web@shop',
        '10.0.1.2/32 db@shop',
        '10.0.1.3/32 web@shop',
        '10.0.2.1/32 client@other',
        '10.0.2.2/32 web@other',
        '192.168.0.1/32 host',
        '192.168.0.2/32 remote-node',
        '::/0 cidr:::/0',
        '2001:4860:4860::8888/128 cidr:2001:4860:4860::8888/128',
        'fd00::/8 cidr:fd00::/8',
        'fd00:10::1:1/128 web@shop',
        'fd00:10::1:2/128 db@shop',
        'fd00:10::1:3/128 web@shop',
        'fd00:10::2:1/128 client@other',
        'fd00:192::1/128 host',
        'fd00:192::2/128 remote-node',
      ],
    },
  },
  {
    name: 'entities by family: world = 2, 9, 10 and every CIDR identity; world-ipv4 = 2, 9 and IPv4 ones; world-ipv6 = 10 and IPv6 ones',
    given: [
      policy('web', {
        endpointSelector: WEB,
        egress: [
          { toEntities: ['world'], toPorts: [tcp('1')] },
          { toEntities: ['world-ipv4'], toPorts: [tcp('4')] },
          { toEntities: ['world-ipv6'], toPorts: [tcp('6')] },
          { toCIDR: ['9.9.9.9/32', '2620:fe::fe/128'], toPorts: [tcp('53')] },
        ],
      }),
    ],
    want: {
      policy: [
        'web@shop out cidr:2620:fe::fe/128 tcp/1 allow web/egress/0',
        'web@shop out cidr:2620:fe::fe/128 tcp/53 allow web/egress/3',
        'web@shop out cidr:2620:fe::fe/128 tcp/6 allow web/egress/2',
        'web@shop out cidr:9.9.9.9/32 tcp/1 allow web/egress/0',
        'web@shop out cidr:9.9.9.9/32 tcp/4 allow web/egress/1',
        'web@shop out cidr:9.9.9.9/32 tcp/53 allow web/egress/3',
        'web@shop out world tcp/1 allow web/egress/0',
        'web@shop out world tcp/4 allow web/egress/1',
        'web@shop out world-ipv4 tcp/1 allow web/egress/0',
        'web@shop out world-ipv4 tcp/4 allow web/egress/1',
        'web@shop out world-ipv6 tcp/1 allow web/egress/0',
        'web@shop out world-ipv6 tcp/6 allow web/egress/2',
      ],
      degraded: [],
    },
  },
  {
    name: 'ICMPv6 types (icmps family IPv6) are ICMPv6 entries next to the IPv4 ones; denies too',
    given: [
      policy('db', {
        endpointSelector: DB,
        ingress: [{ fromEndpoints: [WEB], icmps: [{ fields: [{ type: 'EchoRequest' }, { type: 'EchoRequest', family: 'IPv6' }] }] }],
        ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], icmps: [{ fields: [{ type: 128, family: 'IPv6' }] }] }],
      }),
    ],
    want: {
      policy: [
        'db@shop in client@other icmpv6/128 deny db/ingressDeny/0',
        'db@shop in web@other icmp/8 allow db/ingress/0',
        'db@shop in web@other icmpv6/128 allow db/ingress/0',
        'db@shop in web@shop icmp/8 allow db/ingress/0',
        'db@shop in web@shop icmpv6/128 allow db/ingress/0',
      ],
      degraded: [],
    },
  },
  {
    name: 'an IPv4-mapped IPv6 prefix cannot be told from IPv4 in the datapath: reported, fails closed; ::/0 next to 0.0.0.0/0 needs no guard',
    given: [
      policy('web', {
        endpointSelector: WEB,
        egress: [{ toCIDR: ['::ffff:10.0.0.0/104'] }, { toCIDRSet: [{ cidr: '::/0', except: ['::ffff:0:0/96'] }] }, { toCIDR: ['0.0.0.0/0', '::/0'], toPorts: [tcp('80')] }],
        egressDeny: [{ toCIDR: ['::ffff:1.2.3.4/128'], toPorts: [tcp('22')] }],
      }),
    ],
    want: {
      policy: ['web@shop out * tcp/22 deny web/egressDeny/0', 'web@shop out cidr:0.0.0.0/0 tcp/80 allow web/egress/2', 'web@shop out cidr:::/0 tcp/80 allow web/egress/2'],
      degraded: [
        'web/egress/0/toCIDR/0: "::ffff:10.0.0.0/104" is an IPv4-mapped IPv6 prefix, which the datapath cannot tell from IPv4 (it keys IPv4 as ::ffff:a.b.c.d); write the IPv4 prefix; contributes no allow (fail closed)',
        'web/egress/1/toCIDRSet/0: "::ffff:0:0/96" is an IPv4-mapped IPv6 prefix, which the datapath cannot tell from IPv4 (it keys IPv4 as ::ffff:a.b.c.d); write the IPv4 prefix; contributes no allow (fail closed)',
        'web/egressDeny/0/toCIDR/0: "::ffff:1.2.3.4/128" is an IPv4-mapped IPv6 prefix, which the datapath cannot tell from IPv4 (it keys IPv4 as ::ffff:a.b.c.d); write the IPv4 prefix; the deny applies to every peer (fail closed)',
      ],
    },
  },
  {
    name: 'an IPv4-mapped pod or apiserver address is its IPv4 address',
    given: [],
    o: { peers: [{ ip: '::ffff:10.0.9.9', podName: 'm', namespace: 'other', labels: { app: 'client' } }], endpoints: [], nodes: [], kubeApiserver: ['::ffff:10.0.0.1'] },
    want: { ipcache: ['10.0.0.1/32 kube-apiserver', '10.0.9.9/32 client@other'] },
  },
  // ---- kube-apiserver and unaddressed entities -----------------------------------------------
  {
    name: 'kube-apiserver with addresses: /32 and /128 in the ipcache, allows and denies enforced, nothing degraded',
    given: [policy('web', { endpointSelector: WEB, egress: [{ toEntities: ['kube-apiserver'], toPorts: [tcp('443')] }], egressDeny: [{ toEntities: ['kube-apiserver'], toPorts: [tcp('22')] }] })],
    o: { kubeApiserver: ['10.1.0.1', 'FD00:1:0::1'] },
    want: {
      policy: ['web@shop out kube-apiserver tcp/22 deny web/egressDeny/0', 'web@shop out kube-apiserver tcp/443 allow web/egress/0'],
      ipcache: [
        '10.0.1.1/32 web@shop',
        '10.0.1.2/32 db@shop',
        '10.0.1.3/32 web@shop',
        '10.0.2.1/32 client@other',
        '10.0.2.2/32 web@other',
        '10.1.0.1/32 kube-apiserver',
        '192.168.0.1/32 host',
        '192.168.0.2/32 remote-node',
        'fd00:1::1/128 kube-apiserver',
        'fd00:10::1:1/128 web@shop',
        'fd00:10::1:2/128 db@shop',
        'fd00:10::1:3/128 web@shop',
        'fd00:10::2:1/128 client@other',
        'fd00:192::1/128 host',
        'fd00:192::2/128 remote-node',
      ],
      degraded: [],
    },
  },
  {
    name: 'kube-apiserver without addresses: the allow and the deny are both reported',
    given: [policy('web', { endpointSelector: WEB, egress: [{ toEntities: ['kube-apiserver'], toPorts: [tcp('443')] }], egressDeny: [{ toEntities: ['kube-apiserver'], toPorts: [tcp('22')] }] })],
    want: {
      degraded: [
        'web/egress/0/toEntities/0: no addresses of the kube-apiserver entity are known to the agent; contributes no allow (fail closed)',
        'web/egressDeny/0/toEntities/0: no addresses of the kube-apiserver entity are known to the agent; the deny has no effect (no packet carries this identity)',
      ],
    },
  },
  {
    name: 'apiserver on a remote node: its address becomes kube-apiserver, which remote-node selects too (Cilium labels identity 7 with both)',
    given: [policy('web', { endpointSelector: WEB, egress: [{ toEntities: ['remote-node'], toPorts: [tcp('10250')] }, { toEntities: ['kube-apiserver'], toPorts: [tcp('443')] }] })],
    o: { kubeApiserver: ['192.168.0.2'] },
    want: {
      policy: [
        'web@shop out kube-apiserver tcp/10250 allow web/egress/0',
        'web@shop out kube-apiserver tcp/443 allow web/egress/1',
        'web@shop out remote-node tcp/10250 allow web/egress/0',
      ],
      ipcache: [
        '10.0.1.1/32 web@shop',
        '10.0.1.2/32 db@shop',
        '10.0.1.3/32 web@shop',
        '10.0.2.1/32 client@other',
        '10.0.2.2/32 web@other',
        '192.168.0.1/32 host',
        '192.168.0.2/32 kube-apiserver',
        'fd00:10::1:1/128 web@shop',
        'fd00:10::1:2/128 db@shop',
        'fd00:10::1:3/128 web@shop',
        'fd00:10::2:1/128 client@other',
        'fd00:192::1/128 host',
        'fd00:192::2/128 remote-node',
      ],
      degraded: [],
    },
  },
  {
    name: 'apiserver on this node: the address stays host, and kube-apiserver selects the host (host carries both labels)',
    given: [policy('web', { endpointSelector: WEB, egress: [{ toEntities: ['kube-apiserver'], toPorts: [tcp('6443')] }], egressDeny: [{ toEndpoints: [{ matchLabels: { 'reserved:kube-apiserver': '' } }], toPorts: [tcp('22')] }] })],
    o: { kubeApiserver: ['fd00:192::1'] },
    want: {
      policy: [
        'web@shop out host tcp/22 deny web/egressDeny/0',
        'web@shop out host tcp/6443 allow web/egress/0',
        'web@shop out kube-apiserver tcp/22 deny web/egressDeny/0',
        'web@shop out kube-apiserver tcp/6443 allow web/egress/0',
      ],
      ipcache: [
        '10.0.1.1/32 web@shop',
        '10.0.1.2/32 db@shop',
        '10.0.1.3/32 web@shop',
        '10.0.2.1/32 client@other',
        '10.0.2.2/32 web@other',
        '192.168.0.1/32 host',
        '192.168.0.2/32 remote-node',
        'fd00:10::1:1/128 web@shop',
        'fd00:10::1:2/128 db@shop',
        'fd00:10::1:3/128 web@shop',
        'fd00:10::2:1/128 client@other',
        'fd00:192::1/128 host',
        'fd00:192::2/128 remote-node',
      ],
      degraded: [],
    },
  },
  {
    name: 'an apiserver address that is also a pod address is kube-apiserver (apiserver before pods)',
    given: [],
    o: { kubeApiserver: ['fd00:10::2:1'] },
    want: { ipcache: ['10.0.1.1/32 web@shop', '10.0.1.2/32 db@shop', '10.0.1.3/32 web@shop', '10.0.2.1/32 client@other', '10.0.2.2/32 web@other', '192.168.0.1/32 host', '192.168.0.2/32 remote-node', 'fd00:10::1:1/128 web@shop', 'fd00:10::1:2/128 db@shop', 'fd00:10::1:3/128 web@shop', 'fd00:10::2:1/128 kube-apiserver', 'fd00:192::1/128 host', 'fd00:192::2/128 remote-node'] },
  },
  {
    name: 'denies on entities without addresses (ingress, health, init, unmanaged) are reported like allows; world-ipv6 is addressed now',
    given: [
      policy('db', {
        endpointSelector: DB,
        ingress: [{ fromEntities: ['health', 'world-ipv6'] }],
        ingressDeny: [{ fromEntities: ['ingress', 'init'] }, { fromEntities: ['unmanaged', 'world'], toPorts: [tcp('22')] }],
      }),
    ],
    want: {
      degraded: [
        'db/ingress/0/fromEntities/0: no addresses of the health entity are known to the agent; contributes no allow (fail closed)',
        'db/ingressDeny/0/fromEntities/0: no addresses of the ingress entity are known to the agent; the deny has no effect (no packet carries this identity)',
        'db/ingressDeny/0/fromEntities/1: no addresses of the init entity are known to the agent; the deny has no effect (no packet carries this identity)',
        'db/ingressDeny/1/fromEntities/0: no addresses of the unmanaged entity are known to the agent; the deny has no effect (no packet carries this identity)',
      ],
    },
  },
];

/** NetworkPolicy specs imported into namespace shop (compile-bundle.test.ts's second table). */
export const importNp = (spec: Record<string, unknown>): BundledPolicy => {
  const doc = JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np', namespace: 'shop' }, spec });
  const [p] = collectImportedPolicies(importPolicyDocuments(doc, 'json'));
  if (!p) throw new Error('not imported');
  return policy(p.metadata.name, p.spec);
};
export const npCases: Array<{ name: string; given: Record<string, unknown>; want: Partial<Rendered> }> = [
  {
    name: 'podSelector peer = same namespace; namespaceSelector peer = any namespace with those labels',
    given: {
      podSelector: { matchLabels: { app: 'db' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }, { namespaceSelector: { matchLabels: { team: 'blue' } } }], ports: [{ port: 5432 }] }],
    },
    want: {
      endpoints: ['11 web@shop', '12 db@shop deny-in'],
      policy: [
        'db@shop in client@other tcp/5432 allow shop.np/ingress/1',
        'db@shop in web@other tcp/5432 allow shop.np/ingress/1',
        'db@shop in web@shop tcp/5432 allow shop.np/ingress/0',
      ],
    },
  },
  {
    name: 'default deny both directions for every pod of the namespace',
    given: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    want: { endpoints: ['11 web@shop deny-in,deny-out', '12 db@shop deny-in,deny-out'], policy: [] },
  },
  {
    name: 'ipBlock with except',
    given: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '20.0.0.0/8', except: ['20.1.0.0/16'] } }] }] },
    want: { policy: ['web@shop out cidr:20.0.0.0/8 any allow shop.np/egress/0'] },
  },
];
