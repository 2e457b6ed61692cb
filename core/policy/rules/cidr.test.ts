import { describe, expect, it } from 'vitest';
import type { CIDRRule } from '../../../openapi/types.js';
import { parsePrefix, validateCidr, validateCidrRule } from './cidr.js';

describe('parsePrefix', () => {
  const ok: Array<{ given: string; want: { family: 4 | 6; bits: number } }> = [
    { given: '10.0.0.0/8', want: { family: 4, bits: 8 } },
    { given: '10.0.0.1/8', want: { family: 4, bits: 8 } }, // host bits set: accepted like Cilium
    { given: '192.168.1.1', want: { family: 4, bits: 32 } },
    { given: '0.0.0.0/0', want: { family: 4, bits: 0 } },
    { given: '2001:db8::/32', want: { family: 6, bits: 32 } },
    { given: '::', want: { family: 6, bits: 128 } },
    { given: '::1/128', want: { family: 6, bits: 128 } },
    { given: '1:2:3:4:5:6:7::', want: { family: 6, bits: 128 } },
    { given: '::ffff:10.0.0.1/120', want: { family: 6, bits: 120 } },
    { given: 'fe80::1:2:3:4:5:6', want: { family: 6, bits: 128 } },
  ];
  it.each(ok)('accepts $given', ({ given, want }) => {
    expect(parsePrefix(given)).toMatchObject(want);
  });
  const bad = ['', '10.0.0/8', '10.0.0.256', '010.0.0.1', '10.0.0.0/33', '10.0.0.0/08', '10.0.0.0/', '10.0.0.0/-1',
    '2001:db8::/129', '1::2::3', ':1::', '1:2:3:4:5:6:7:8:9', '12345::', 'fe80::1%eth0', 'g::1', '1:2:3:4:5:6:7', 'host.example.com'];
  it.each(bad)('rejects "%s"', (given) => {
    expect(typeof parsePrefix(given)).toBe('string');
  });
  it('reads a trailing dotted quad as the last two groups', () => {
    const parsed = parsePrefix('::ffff:1.2.3.4');
    expect(typeof parsed !== 'string' && parsed.bytes.slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
  });
});

describe('validateCidrRule', () => {
  const cases: Array<{ name: string; given: CIDRRule; want: Array<[string, string]> }> = [
    { name: 'valid with except', given: { cidr: '10.0.0.0/8', except: ['10.96.0.0/12', '10.1.2.3'] }, want: [] },
    { name: 'except outside', given: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] }, want: [['/r/except/0', 'cidr-except']] },
    { name: 'except wider', given: { cidr: '10.0.0.0/8', except: ['10.0.0.0/4'] }, want: [['/r/except/0', 'cidr-except']] },
    { name: 'except other family', given: { cidr: '10.0.0.0/8', except: ['::/0'] }, want: [['/r/except/0', 'cidr-except']] },
    { name: 'except equal is fine', given: { cidr: '10.0.0.0/8', except: ['10.0.0.0/8'] }, want: [] },
    { name: 'except with host bits in cidr', given: { cidr: '10.1.2.3/8', except: ['10.9.0.0/16'] }, want: [] },
    { name: 'bad except syntax', given: { cidr: '10.0.0.0/8', except: ['10.0.0.0/40'] }, want: [['/r/except/0', 'cidr']] },
    { name: 'bad cidr', given: { cidr: 'ten/8' }, want: [['/r/cidr', 'cidr']] },
    { name: 'no source', given: {}, want: [['/r', 'cidr-rule-source']] },
    { name: 'two sources', given: { cidr: '10.0.0.0/8', cidrGroupRef: 'g' }, want: [['/r/cidrGroupRef', 'cidr-rule-source']] },
    { name: 'except without cidr', given: { cidrGroupRef: 'g', except: ['10.0.0.0/8'] }, want: [['/r/except', 'cidr-except']] },
    { name: 'group selector checked', given: { cidrGroupSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }, want: [['/r/cidrGroupSelector/matchExpressions/0/values', 'selector-values']] },
    { name: 'ipv6', given: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] }, want: [] },
  ];
  it.each(cases)('$name', ({ given, want }) => {
    expect(validateCidrRule(given, '/r').map((e) => [e.pointer, e.rule])).toEqual(want);
  });
  it('validateCidr accepts bare addresses and reports syntax', () => {
    expect(validateCidr('20.1.1.1', '/c')).toEqual([]);
    expect(validateCidr('20.1.1.1/33', '/c')[0]?.message).toMatch(/prefix length/);
  });
});
