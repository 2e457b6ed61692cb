/**
 * Fixed sample bundles over the test cluster (test-cluster.ts): used by compile-properties.test.ts and
 * pinned by the compile pin (scripts/generate-compile-pin.ts).
 */
import type { BundledPolicy } from '../../../openapi/types.js';
import { policy } from './test-cluster.js';
import type { CompileInput } from './types.js';

export const SAMPLE: BundledPolicy[] = [
  policy('shop.db', { namespace: 'shop', endpointSelector: { matchLabels: { app: 'db' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }] }] }),
  policy('egress', { endpointSelector: {}, egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.0.2.0/24'] }] }, { toEntities: ['cluster'], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }] }] }], egressDeny: [{ toCIDR: ['10.0.3.0/24'] }] }),
  policy('audit', { endpointSelector: { matchLabels: { app: 'web' } }, ingressDeny: [{ fromEntities: ['world'] }], ingress: [{ fromEntities: ['all'], toPorts: [{ ports: [{ port: '8080', endPort: 8090, protocol: 'TCP' }] }] }] }, { mode: 'audit' }),
  policy('v6', { endpointSelector: { matchLabels: { app: 'db' } }, egress: [{ toCIDRSet: [{ cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] }], icmps: [{ fields: [{ type: 'EchoRequest', family: 'IPv6' }] }] }, { toEntities: ['world-ipv6', 'kube-apiserver'] }] }),
];

export const DNS_SAMPLE: BundledPolicy[] = [
  policy('dns', {
    endpointSelector: {},
    egress: [
      { toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'other' } }], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*.example.com' }, { matchName: 'api.github.com' }] } }] },
      { toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '**.svc.cluster.local' }] } }] },
      { toFQDNs: [{ matchPattern: '*.example.com' }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] },
    ],
  }),
  policy('fqdn.web', { namespace: 'shop', endpointSelector: { matchLabels: { app: 'web' } }, egress: [{ toFQDNs: [{ matchName: 'api.github.com' }] }, { toEntities: ['cluster'], toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }] }], egressDeny: [{ toCIDR: ['140.82.0.0/16'], toPorts: [{ ports: [{ port: '22', protocol: 'TCP' }] }] }] }),
];
export const LEARNED = [
  { name: 'www.example.com', ips: ['198.51.100.7', '2001:db8::7'] },
  { name: 'cdn.example.net', ips: ['198.51.100.7'] },
  { name: 'api.github.com', ips: ['140.82.112.5', '140.82.112.6', '10.0.2.1'] },
];
export const PROXY: Partial<CompileInput> = { dnsProxy: true, fqdnNames: LEARNED };
export const HTTP_SAMPLE: BundledPolicy[] = [
  policy('http', {
    endpointSelector: {},
    egress: [
      { toEndpoints: [{ matchLabels: { app: 'db' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }, { port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/public/.*' }, { headers: ['X-Debug'] }] } }] },
      { toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }], rules: { http: [{ host: 'api\\.example\\.com', headerMatches: [{ name: 'X-Env', value: 'prod', mismatch: 'LOG' }] }] } }] },
      { toEntities: ['cluster'], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] },
    ],
  }),
  policy('http.audit', { namespace: 'shop', endpointSelector: { matchLabels: { app: 'web' } }, egress: [{ toEndpoints: [{}], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'POST' }] } }] }] }, { mode: 'audit' }),
];
export const BOTH_PROXIES: Partial<CompileInput> = { ...PROXY, httpProxy: true };
