/**
 * CIDR syntax and `except` containment, mirroring Cilium's api.CIDR / api.CIDRRule validation
 * (Go net/netip parsing rules).
 *
 * Decisions (documented for the API):
 * - IPv4 dotted quads with no leading zeros (netip rejects `010.0.0.1`); IPv6 per RFC 4291 text form
 *   (hex groups, one `::`, optional trailing dotted quad), no zone (`%eth0`).
 * - Prefix length is decimal without leading zeros, 0–32 (IPv4) or 0–128 (IPv6).
 * - A bare address is a host prefix (/32 or /128) everywhere, as the contract's CIDR type says
 *   (Cilium only allows that in toCIDR/fromCIDR; accepting it in CIDR sets is unambiguous).
 * - Host bits may be set (`10.0.0.1/8`): Cilium accepts this (netip.ParsePrefix does not require a
 *   masked prefix) and uses the masked network; fleetnet does the same, so the compiler must mask.
 * - An `except` must be the same family, have a prefix at least as long as its `cidr`, and lie inside
 *   it (newest Cilium checks exactly this).
 */
import type { CIDRRule, FieldError } from '../../../openapi/types.js';
import { appendPointer } from '../../json/json-pointer.js';
import { validateLabelSelector } from '../../labels/label-selector.js';

export interface ParsedPrefix {
  family: 4 | 6;
  /** Network address bytes (4 or 16), host bits as written (not masked). */
  bytes: number[];
  bits: number;
}

function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

function parseIPv6(text: string): number[] | undefined {
  if (text.includes('%')) return undefined;
  let s = text;
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    // A trailing dotted quad stands for the last two groups.
    const v4 = parseIPv4(last);
    if (!v4) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    s = s.slice(0, lastColon + 1) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[] | undefined;
  const gap = s.indexOf('::');
  if (gap >= 0) {
    if (gap !== s.lastIndexOf('::')) return undefined;
    const left = parseGroups(s.slice(0, gap));
    const right = parseGroups(s.slice(gap + 2));
    if (!left || !right || left.length + right.length > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    groups = parseGroups(s);
    if (!groups || groups.length !== 8) return undefined;
  }
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * Canonical text of 16 IPv6 address bytes, as Go's netip prints it (RFC 5952): lowercase hex without
 * leading zeros, the longest run of two or more zero groups (the first of equal runs) as `::`, and an
 * IPv4-mapped address as `::ffff:a.b.c.d`. The inverse of parsePrefix for IPv6.
 */
export function formatIpv6(bytes: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes[12] ?? 0}.${bytes[13] ?? 0}.${bytes[14] ?? 0}.${bytes[15] ?? 0}`;
  }
  let best = -1;
  let bestLen = 1; // a single zero group is never compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** Parses `addr` or `addr/bits`; returns a reason string when invalid. */
export function parsePrefix(text: string): ParsedPrefix | string {
  if (text === '') return 'must not be empty';
  const slash = text.indexOf('/');
  const addrText = slash >= 0 ? text.slice(0, slash) : text;
  const isV6 = addrText.includes(':');
  const bytes = isV6 ? parseIPv6(addrText) : parseIPv4(addrText);
  if (!bytes) return `"${addrText}" is not a valid IP${isV6 ? 'v6' : 'v4'} address`;
  const family = isV6 ? 6 : 4;
  const max = isV6 ? 128 : 32;
  if (slash < 0) return { family, bytes, bits: max };
  const bitsText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(bitsText) || Number(bitsText) > max) {
    return `prefix length "${bitsText}" must be a decimal number from 0 to ${max}`;
  }
  return { family, bytes, bits: Number(bitsText) };
}

/** True when `inner` lies inside `outer` (same family, inner.bits ≥ outer.bits, same masked network). */
export function prefixContains(outer: ParsedPrefix, inner: ParsedPrefix): boolean {
  if (outer.family !== inner.family || inner.bits < outer.bits) return false;
  for (let bit = 0; bit < outer.bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((outer.bytes[byte] ?? 0) & mask) !== ((inner.bytes[byte] ?? 0) & mask)) return false;
  }
  return true;
}

export function validateCidr(text: string, pointer: string): FieldError[] {
  const parsed = parsePrefix(text);
  if (typeof parsed === 'string') return [{ pointer, message: `invalid CIDR "${text}": ${parsed}`, rule: 'cidr' }];
  return [];
}

/**
 * A CIDR set entry: exactly one of `cidr`, `cidrGroupRef`, `cidrGroupSelector` (as Cilium requires);
 * `except` only with `cidr`, each inside it.
 */
export function validateCidrRule(rule: CIDRRule, pointer: string): FieldError[] {
  const errors: FieldError[] = [];
  const sources = (['cidr', 'cidrGroupRef', 'cidrGroupSelector'] as const).filter((k) => rule[k] !== undefined);
  if (sources.length === 0) {
    errors.push({ pointer, message: 'one of cidr, cidrGroupRef or cidrGroupSelector is required', rule: 'cidr-rule-source' });
  } else if (sources.length > 1) {
    errors.push({
      pointer: appendPointer(pointer, sources[1] as string),
      message: `only one of cidr, cidrGroupRef or cidrGroupSelector may be set (found ${sources.join(', ')})`,
      rule: 'cidr-rule-source',
    });
  }
  if (rule.cidrGroupSelector) {
    errors.push(...validateLabelSelector(rule.cidrGroupSelector, appendPointer(pointer, 'cidrGroupSelector'), { allowSourcePrefix: true }));
  }
  if (rule.cidr === undefined) {
    if (rule.except && rule.except.length > 0) {
      errors.push({ pointer: appendPointer(pointer, 'except'), message: 'except is only allowed together with cidr', rule: 'cidr-except' });
    }
    return errors;
  }
  const outer = parsePrefix(rule.cidr);
  if (typeof outer === 'string') {
    errors.push({ pointer: appendPointer(pointer, 'cidr'), message: `invalid CIDR "${rule.cidr}": ${outer}`, rule: 'cidr' });
  }
  (rule.except ?? []).forEach((text, i) => {
    const at = appendPointer(pointer, 'except', i);
    const inner = parsePrefix(text);
    if (typeof inner === 'string') {
      errors.push({ pointer: at, message: `invalid CIDR "${text}": ${inner}`, rule: 'cidr' });
    } else if (typeof outer !== 'string' && !prefixContains(outer, inner)) {
      const why = outer.family !== inner.family ? 'is a different address family' : inner.bits < outer.bits ? 'is wider than it' : 'lies outside it';
      errors.push({ pointer: at, message: `except "${text}" must lie inside cidr "${rule.cidr}" (it ${why})`, rule: 'cidr-except' });
    }
  });
  return errors;
}
