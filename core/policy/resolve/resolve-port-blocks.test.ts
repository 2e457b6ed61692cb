import { describe, expect, it } from 'vitest';

import type { PortRule } from '../../../openapi/types.js';
import { resolvePortBlocks } from './resolve-port-blocks.js';

const NO_PROXY = { dir: 'egress' as const, environment: { kubeApiserverAddressed: false, dnsProxy: false, httpProxy: false } };
const PROXY = { dir: 'egress' as const, environment: { kubeApiserverAddressed: false, dnsProxy: true, httpProxy: false } };

type Rule = Parameters<typeof resolvePortBlocks>[0];
const show = (r: ReturnType<typeof resolvePortBlocks>): { blocks: string[]; degraded: string[] } => ({
  blocks: r.blocks.map((b) => (b.proto === 0 ? 'any' : b.prefixLen === 0 ? `${b.proto}` : `${b.proto}/${b.port}/${b.prefixLen}`)),
  degraded: r.degraded.map((d) => d.pointer),
});

describe('resolvePortBlocks', () => {
  const cases: Array<{ name: string; given: Rule; kind?: 'allow' | 'deny'; want: { blocks: string[]; degraded: string[] } }> = [
    { name: 'no ports: any', given: {}, want: { blocks: ['any'], degraded: [] } },
    { name: 'TCP port', given: { toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }, want: { blocks: ['6/80/16'], degraded: [] } },
    { name: 'ANY port = TCP + UDP', given: { toPorts: [{ ports: [{ port: '53' }] }] }, want: { blocks: ['6/53/16', '17/53/16'], degraded: [] } },
    { name: 'ANY port 0 = any', given: { toPorts: [{ ports: [{ port: '0', protocol: 'ANY' }] }] }, want: { blocks: ['any'], degraded: [] } },
    { name: 'UDP port 0 = UDP', given: { toPorts: [{ ports: [{ port: '0', protocol: 'UDP' }] }] }, want: { blocks: ['17'], degraded: [] } },
    { name: 'range', given: { toPorts: [{ ports: [{ port: '1000', endPort: 1003, protocol: 'TCP' }] }] }, want: { blocks: ['6/1000/14'], degraded: [] } },
    { name: 'port rule without ports = any', given: { toPorts: [{}] }, want: { blocks: ['any'], degraded: [] } },
    { name: 'VRRP', given: { toPorts: [{ ports: [{ port: '0', protocol: 'VRRP' }] }] }, want: { blocks: ['112'], degraded: [] } },
    { name: 'SCTP port, allow: none', given: { toPorts: [{ ports: [{ port: '9', protocol: 'SCTP' }] }] }, want: { blocks: [], degraded: ['/r/toPorts/0/ports/0'] } },
    { name: 'SCTP port, deny: all SCTP', kind: 'deny', given: { toPorts: [{ ports: [{ port: '9', protocol: 'SCTP' }] }] }, want: { blocks: ['132'], degraded: ['/r/toPorts/0/ports/0'] } },
    { name: 'named port, deny ANY: everything', kind: 'deny', given: { toPorts: [{ ports: [{ port: 'http' }] }] }, want: { blocks: ['any'], degraded: ['/r/toPorts/0/ports/0'] } },
    { name: 'ICMPv6 port 0: all of ICMPv6', given: { toPorts: [{ ports: [{ port: '0', protocol: 'ICMPv6' }] }] }, want: { blocks: ['58'], degraded: [] } },
    { name: 'ICMPv6 port number, allow: none', given: { toPorts: [{ ports: [{ port: '128', protocol: 'ICMPv6' }] }] }, want: { blocks: [], degraded: ['/r/toPorts/0/ports/0'] } },
    { name: 'icmps: IPv4 types as ICMP, IPv6 types as ICMPv6 (58)', given: { icmps: [{ fields: [{ type: 'EchoRequest' }, { type: 128, family: 'IPv6' }, { type: 'PacketTooBig', family: 'IPv6' }] }] }, want: { blocks: ['1/8/16', '58/128/16', '58/2/16'], degraded: [] } },
    { name: 'icmps: unknown IPv6 name, allow: none', given: { icmps: [{ fields: [{ type: 'Nope', family: 'IPv6' }] }] }, want: { blocks: [], degraded: ['/r/icmps/0/fields/0'] } },
    { name: 'icmps: unknown IPv6 name, deny: all of ICMPv6', kind: 'deny', given: { icmps: [{ fields: [{ type: 'Nope', family: 'IPv6' }] }] }, want: { blocks: ['58'], degraded: ['/r/icmps/0/fields/0'] } },
    { name: 'icmps: NDP types allowed as written (the kernel passes them anyway)', given: { icmps: [{ fields: [{ type: 'NeighborSolicitation', family: 'IPv6' }] }] }, want: { blocks: ['58/135/16'], degraded: [] } },
    { name: 'icmps: a deny of an NDP type is reported (NDP always passes)', kind: 'deny', given: { icmps: [{ fields: [{ type: 135, family: 'IPv6' }, { type: 128, family: 'IPv6' }] }] }, want: { blocks: ['58/135/16', '58/128/16'], degraded: ['/r/icmps/0/fields/0'] } },
    { name: 'http rule: no allow', given: { toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/a' }] } }] }, want: { blocks: [], degraded: ['/r/toPorts/0/rules/http'] } },
    { name: 'http {} among others: allow-all', given: { toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/a' }, {}] } }] }, want: { blocks: ['6/80/16'], degraded: [] } },
    { name: 'dns *: allow-all', given: { toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*' }] } }] }, want: { blocks: ['6/53/16', '17/53/16'], degraded: [] } },
    { name: 'empty http list: not provably allow-all', given: { toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [] } }] }, want: { blocks: [], degraded: ['/r/toPorts/0/rules/http'] } },
    { name: 'serverNames: no allow', given: { toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }], serverNames: ['a.example'] }] }, want: { blocks: [], degraded: ['/r/toPorts/0/serverNames'] } },
  ];
  it.each(cases)('$name', ({ given, kind, want }) => {
    expect(show(resolvePortBlocks(given, '/r', kind ?? 'allow', NO_PROXY))).toEqual(want);
    expect(resolvePortBlocks(given, '/r', kind ?? 'allow', NO_PROXY).dnsBlocks).toEqual([]);
  });

  const dns = [{ matchName: 'api.github.com' }, { matchPattern: '*.example.com' }];
  const proxyCases: Array<{ name: string; given: Rule; dir?: 'ingress' | 'egress'; want: { blocks: string[]; dnsBlocks: string[]; degraded: string[] } }> = [
    { name: 'dns rules on ANY 53: TCP and UDP redirected', given: { toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns } }] }, want: { blocks: [], dnsBlocks: ['6/53/16', '17/53/16'], degraded: [] } },
    { name: 'dns *: redirected too (visibility, learning)', given: { toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '*' }] } }] }, want: { blocks: [], dnsBlocks: ['17/53/16'], degraded: [] } },
    { name: 'plain port rule next to a dns one stays L4', given: { toPorts: [{ ports: [{ port: '53', protocol: 'TCP' }], rules: { dns } }, { ports: [{ port: '443', protocol: 'TCP' }] }] }, want: { blocks: ['6/443/16'], dnsBlocks: ['6/53/16'], degraded: [] } },
    { name: 'dns on port 0: not redirectable, no allow', given: { toPorts: [{ ports: [{ port: '0', protocol: 'UDP' }], rules: { dns } }] }, want: { blocks: [], dnsBlocks: [], degraded: ['/r/toPorts/0/rules/dns'] } },
    { name: 'dns with a range: no allow', given: { toPorts: [{ ports: [{ port: '53', endPort: 54, protocol: 'UDP' }], rules: { dns } }] }, want: { blocks: [], dnsBlocks: [], degraded: ['/r/toPorts/0/rules/dns'] } },
    { name: 'dns without ports: no allow', given: { toPorts: [{ rules: { dns } }] }, want: { blocks: [], dnsBlocks: [], degraded: ['/r/toPorts/0/rules/dns'] } },
    { name: 'dns on ingress: no allow', dir: 'ingress', given: { toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns } }] }, want: { blocks: [], dnsBlocks: [], degraded: ['/r/toPorts/0/rules/dns'] } },
    { name: 'http rules still fail closed', given: { toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/a' }] } }] }, want: { blocks: [], dnsBlocks: [], degraded: ['/r/toPorts/0/rules/http'] } },
  ];
  it.each(proxyCases)('with the DNS proxy: $name', ({ given, dir, want }) => {
    const got = resolvePortBlocks(given, '/r', 'allow', { ...PROXY, dir: dir ?? 'egress' });
    expect({ ...show(got), dnsBlocks: got.dnsBlocks.map((d) => `${d.block.proto}/${d.block.port}/${d.block.prefixLen}`) }).toEqual(want);
    for (const d of got.dnsBlocks) expect(d.dns).toBe((given.toPorts?.[0] as PortRule | undefined)?.rules?.dns);
  });
});
