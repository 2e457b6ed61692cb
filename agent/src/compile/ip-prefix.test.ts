import { describe, expect, it } from 'vitest';

import { cidrLabelKey, selectsPrefix } from '../../../core/policy/resolve/cidr-identities.js';
import { compareAddressTexts, hostPrefix, isV4Mapped, maskPrefix } from '../../../core/policy/rules/ip-prefix.js';

describe('maskPrefix: canonical text of both families (Go netip / RFC 5952)', () => {
  it.each([
    { given: '10.1.2.3/8', want: '10.0.0.0/8' },
    { given: '10.1.2.3', want: '10.1.2.3/32' },
    { given: '0.0.0.0/0', want: '0.0.0.0/0' },
    { given: 'fd00::1', want: 'fd00::1/128' },
    { given: 'FD00:0:0:0:0:0:0:1/128', want: 'fd00::1/128' },
    { given: '2001:db8:0:0:1:0:0:1/128', want: '2001:db8::1:0:0:1/128' }, // first of equal zero runs
    { given: '2001:db8:0:1:0:0:0:1/128', want: '2001:db8:0:1::1/128' }, // longest run; a single 0 stays
    { given: '2001:0db8::/32', want: '2001:db8::/32' },
    { given: '2001:db8:ffff::1/32', want: '2001:db8::/32' }, // host bits masked
    { given: '2001:db8::1/127', want: '2001:db8::/127' },
    { given: '::/0', want: '::/0' },
    { given: '::1', want: '::1/128' },
    { given: '1::', want: '1::/128' },
    { given: '::ffff:10.0.0.1', want: '::ffff:10.0.0.1/128' },
    { given: '64:ff9b::10.0.0.0/104', want: '64:ff9b::a00:0/104' },
    { given: '1:2:3:4:5:6:7:8', want: '1:2:3:4:5:6:7:8/128' },
  ])('$given → $want', ({ given, want }) => expect(maskPrefix(given)?.text).toBe(want));

  it.each(['', '10.0.0', '10.0.0.256', '010.0.0.1', 'fd00::1::2', 'fd00::/129', '10.0.0.0/33', 'fe80::1%eth0', 'x'])('rejects %j', (t) => {
    expect(maskPrefix(t)).toBeUndefined();
  });

  it('hostPrefix takes bare addresses only', () => {
    expect(hostPrefix('fd00::1')?.text).toBe('fd00::1/128');
    expect(hostPrefix('10.0.0.1')?.text).toBe('10.0.0.1/32');
    expect(hostPrefix('10.0.0.0/8')).toBeUndefined();
  });

  it('orders IPv4 before IPv6, then by address, then by prefix length', () => {
    const given = ['fd00::/8', '10.0.0.0/8', '::/0', '10.0.0.0/24', '9.0.0.0/8', 'fd00::1/128', '0.0.0.0/0', '2001:db8::/32'];
    expect([...given].sort(compareAddressTexts)).toEqual(['0.0.0.0/0', '9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/24', '::/0', '2001:db8::/32', 'fd00::/8', 'fd00::1/128']);
  });
});

describe('CIDR selection across families', () => {
  it.each([
    { sel: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] }, q: '2001:db8:2::/48', want: true },
    { sel: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] }, q: '2001:db8:1::/64', want: false },
    { sel: { cidr: '2001:db8::/32', except: [] }, q: '2001:db8::/16', want: false },
    { sel: { cidr: '0.0.0.0/0', except: [] }, q: '::/0', want: false },
    { sel: { cidr: '::/0', except: [] }, q: '10.0.0.0/8', want: false },
    { sel: { cidr: '::/0', except: [] }, q: '::ffff:10.0.0.1/128', want: true },
  ])('$sel.cidr except $sel.except selects $q: $want', ({ sel, q, want }) => expect(selectsPrefix(sel, q)).toBe(want));

  it.each([
    { cidr: '10.0.0.0/8', want: '10.0.0.0/8' },
    { cidr: '2001:db8::/32', want: '2001-db8--0/32' },
    { cidr: '::/0', want: '0--0/0' },
    { cidr: '::1/128', want: '0--1/128' },
    { cidr: 'fd00::1/128', want: 'fd00--1/128' },
  ])("Cilium's CIDR label key of $cidr is $want", ({ cidr, want }) => expect(cidrLabelKey(cidr)).toBe(want));
});

describe('IPv4 inside the kernel trie (::ffff:0:0/96)', () => {
  it.each([
    { given: '::ffff:10.0.0.0/104', mapped: true },
    { given: '::ffff:0:0/96', mapped: true },
    { given: '::/0', mapped: false },
    { given: '::/80', mapped: false },
    { given: '::ffff:0:0/95', mapped: false },
    { given: '::fffe:0:0/95', mapped: false },
    { given: '::/81', mapped: false },
    { given: '64:ff9b::/96', mapped: false },
    { given: '0.0.0.0/0', mapped: false },
  ])('$given: v4-mapped $mapped', ({ given, mapped }) => {
    const p = maskPrefix(given)!;
    expect(isV4Mapped(p)).toBe(mapped);
  });

  it('a bare IPv4-mapped address is its IPv4 address', () => {
    expect(hostPrefix('::ffff:10.1.2.3')?.text).toBe('10.1.2.3/32');
    expect(hostPrefix('::FFFF:a01:203')?.text).toBe('10.1.2.3/32');
  });
});
