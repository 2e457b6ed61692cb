/**
 * The datapath's 16-byte address form (fleetnet.h "Addresses"): IPv6 as is, IPv4 as the IPv4-mapped
 * address ::ffff:a.b.c.d, so an IPv4 prefix /n is the 128-bit prefix /(96 + n). Parsing follows
 * core/policy/rules/cidr.ts (the API's CIDR syntax), so what the API accepts the kernel can hold.
 */
import { parsePrefix } from '../../../core/policy/rules/cidr.js';

/** prefix length of the IPv4-mapped block ::ffff:0:0/96 */
export const V4_MAPPED_PREFIX = 96;

export interface Prefix16 {
  /** 16 bytes, network order; host bits zero */
  bytes: Buffer;
  /** 0..128 in the 16-byte form */
  prefixLen: number;
  family: 4 | 6;
}

/** Parses an IPv4 or IPv6 address or prefix ("10.0.0.0/8", "fd00::1", "2001:db8::/32"); throws a
 *  RangeError for invalid text or host bits set past the prefix. */
export function parsePrefix16(text: string): Prefix16 {
  const p = parsePrefix(text);
  if (typeof p === 'string') throw new RangeError(`invalid address or prefix ${text}: ${p}`);
  const bytes = Buffer.alloc(16);
  let prefixLen = p.bits;
  if (p.family === 4) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    Buffer.from(p.bytes).copy(bytes, 12);
    prefixLen += V4_MAPPED_PREFIX;
  } else {
    Buffer.from(p.bytes).copy(bytes, 0);
  }
  for (let bit = prefixLen; bit < 128; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) throw new RangeError(`host bits set in ${text}`);
  }
  return { bytes, prefixLen, family: p.family };
}

function isV4Mapped(b: Buffer, o: number): boolean {
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return false;
  return b[o + 10] === 0xff && b[o + 11] === 0xff;
}

/** Formats 16 bytes at b[o..]: IPv4-mapped as a dotted quad, else RFC 5952 text (lowercase, the
 *  longest run of two or more zero groups compressed to ::). */
export function formatAddress16(b: Buffer, o = 0): string {
  if (isV4Mapped(b, o)) return `${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(o + i * 2));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Formats a 16-byte-form prefix as the family's own CIDR text ("10.1.0.0/16", "fd00::/64"). */
export function formatPrefix16(b: Buffer, o: number, prefixLen: number): string {
  if (isV4Mapped(b, o) && prefixLen >= V4_MAPPED_PREFIX) return `${formatAddress16(b, o)}/${prefixLen - V4_MAPPED_PREFIX}`;
  return `${formatAddress16(b, o)}/${prefixLen}`;
}
