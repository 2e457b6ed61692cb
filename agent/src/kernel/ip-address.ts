/**
 * The datapath's 16-byte address form (fleetnet.h "Addresses"): IPv6 as is, IPv4 as the IPv4-mapped
 * address ::ffff:a.b.c.d, so an IPv4 prefix /n is the 128-bit prefix /(96 + n). Parsing follows
 * core/policy/rules/cidr.ts (the API's CIDR syntax), so what the API accepts the kernel can hold.
 */
import { formatIpv6, parsePrefix } from '../../../core/policy/rules/cidr.js';

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

/** Formats 16 bytes at b[o..] of a PACKET address (conntrack): IPv4-mapped as the IPv4 dotted quad
 *  (that is how IPv4 is stored), else RFC 5952 text. */
export function formatAddress16(b: Buffer, o = 0): string {
  if (isV4Mapped(b, o)) return `${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  return formatIpv6(b.subarray(o, o + 16));
}

/** Formats a 16-byte-form prefix of the given family as that family's CIDR text ("10.1.0.0/16",
 *  "fd00::/64"; an IPv6 prefix inside ::ffff:0:0/96 stays IPv6: "::ffff:10.0.0.0/104"). */
export function formatPrefix16(b: Buffer, o: number, prefixLen: number, family: 4 | 6): string {
  if (family === 4) return `${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}/${prefixLen - V4_MAPPED_PREFIX}`;
  return `${formatIpv6(b.subarray(o, o + 16))}/${prefixLen}`;
}
