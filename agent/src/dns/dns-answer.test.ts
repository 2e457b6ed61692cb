import type { Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { followAnswerChain } from './dns-answer.js';

const a = (name: string, data: string, ttl = 300): Answer => ({ type: 'A', name, data, ttl });
const aaaa = (name: string, data: string, ttl = 300): Answer => ({ type: 'AAAA', name, data, ttl });
const cname = (name: string, data: string, ttl = 300): Answer => ({ type: 'CNAME', name, data, ttl });

describe('followAnswerChain', () => {
  const cases: { name: string; qname: string; records: Answer[]; want: { names: string[]; ips: string[]; ttl: number } }[] = [
    { name: 'address records of the name', qname: 'api.example.com', records: [a('api.example.com', '10.0.0.1', 60), aaaa('api.example.com', 'fd00::1', 30)], want: { names: ['api.example.com'], ips: ['10.0.0.1', 'fd00::1'], ttl: 30 } },
    { name: 'case and trailing dot ignored', qname: 'API.Example.com.', records: [a('api.EXAMPLE.com.', '10.0.0.1', 60)], want: { names: ['api.example.com'], ips: ['10.0.0.1'], ttl: 60 } },
    {
      name: 'CNAME chain: every name, the end addresses, minimum TTL along the chain',
      qname: 'www.example.com',
      records: [cname('www.example.com', 'cdn.example.net', 20), cname('cdn.example.net', 'edge.example.org', 600), a('edge.example.org', '192.0.2.1', 300)],
      want: { names: ['www.example.com', 'cdn.example.net', 'edge.example.org'], ips: ['192.0.2.1'], ttl: 20 },
    },
    {
      name: 'records off the chain are ignored (unrelated names, addresses of an intermediate name)',
      qname: 'www.example.com',
      records: [a('evil.example.com', '6.6.6.6', 1), cname('www.example.com', 'cdn.example.net', 100), a('www.example.com', '7.7.7.7', 1), a('cdn.example.net', '192.0.2.2', 50)],
      want: { names: ['www.example.com', 'cdn.example.net'], ips: ['192.0.2.2'], ttl: 50 },
    },
    { name: 'CNAME loop ends the chain', qname: 'a.test', records: [cname('a.test', 'b.test', 10), cname('b.test', 'a.test', 10)], want: { names: ['a.test', 'b.test'], ips: [], ttl: 10 } },
    { name: 'no records', qname: 'none.test', records: [], want: { names: ['none.test'], ips: [], ttl: 0 } },
    { name: 'duplicate addresses once', qname: 'd.test', records: [a('d.test', '10.0.0.1', 5), a('d.test', '10.0.0.1', 9)], want: { names: ['d.test'], ips: ['10.0.0.1'], ttl: 5 } },
    { name: 'other record types do not count', qname: 'mx.test', records: [{ type: 'TXT', name: 'mx.test', data: 'x', ttl: 1 }], want: { names: ['mx.test'], ips: [], ttl: 0 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(followAnswerChain(c.qname, c.records)).toEqual({ qname: c.want.names[0], ...c.want });
    });
  }
});
