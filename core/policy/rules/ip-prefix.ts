/**
 * IP addresses and prefixes of both families as the compiler keys them (pure).
 *
 * Contract:
 * - Parsing is core's (`parsePrefix`: Go netip rules, a bare address is a host prefix /32 or /128).
 * - A Prefix is MASKED (host bits cleared) and carries its canonical text `addr/bits`: IPv4 as a
 *   dotted quad, IPv6 as RFC 5952 (lowercase hex, no leading zeros, the longest run of two or more
 *   zero groups — the first of equal runs — as `::`, an IPv4-mapped address as `::ffff:a.b.c.d`),
 *   which is Go's netip text. Two spellings of one prefix have one canonical text, so they are one
 *   ipcache key, one CIDR identity, one label.
 * - Order (`comparePrefixes`): IPv4 before IPv6, then by address bytes, then by prefix length.
 * - The datapath keys IPv4 as the IPv4-mapped IPv6 address ::ffff:a.b.c.d in its one 128-bit trie
 *   (agent/src/kernel/ip-address.ts): an IPv6 prefix inside ::ffff:0:0/96 is the same key as an IPv4
 *   prefix (`isV4Mapped`). An IPv6 prefix shorter than /96 around that block (`::/0`) is harmless:
 *   the kernel ignores an entry of the other family. A bare IPv4-mapped address is its IPv4 address.
 */
import { formatIpv6, parsePrefix, prefixContains, type ParsedPrefix } from './cidr.js';

export interface Prefix extends ParsedPrefix {
  /** canonical `addr/bits` of the masked prefix */
  text: string;
  /** canonical text of the masked address */
  addr: string;
}

/** Canonical text of an address given as 4 or 16 bytes. */
export function formatAddress(family: 4 | 6, bytes: readonly number[]): string {
  return family === 4 ? bytes.slice(0, 4).join('.') : formatIpv6(bytes);
}

/** Parsed texts, most recent first out when full: a compile parses the same addresses many times (a
 *  node's learned FQDN addresses: thousands per compile). Results are frozen, so sharing is safe. */
const MASKED = new Map<string, Prefix | undefined>();
const MASKED_MAX = 65_536;

/** Parses `addr` or `addr/bits` of either family and masks host bits; undefined when invalid. The
 *  result is frozen (shared between callers). */
export function maskPrefix(text: string): Prefix | undefined {
  if (MASKED.has(text)) return MASKED.get(text);
  const out = parseMasked(text);
  if (MASKED.size >= MASKED_MAX) MASKED.clear();
  MASKED.set(text, out);
  return out;
}

function parseMasked(text: string): Prefix | undefined {
  const p = parsePrefix(text.trim());
  if (typeof p === 'string') return undefined;
  const bytes = p.bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, p.bits - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  const addr = formatAddress(p.family, bytes);
  return Object.freeze({ family: p.family, bytes: Object.freeze(bytes) as number[], bits: p.bits, addr, text: `${addr}/${p.bits}` });
}

/** ::ffff:0:0/96, where the datapath keeps IPv4. */
export const V4_MAPPED_BLOCK: Prefix = maskPrefix('::ffff:0:0/96')!;

/** An IPv6 prefix inside ::ffff:0:0/96: the datapath cannot tell it from IPv4. */
export function isV4Mapped(p: ParsedPrefix): boolean {
  return p.family === 6 && prefixContains(V4_MAPPED_BLOCK, p);
}

/** A bare address of either family as its host prefix (/32, /128); an IPv4-mapped IPv6 address is
 *  its IPv4 address; undefined when invalid or a prefix. */
export function hostPrefix(address: string): Prefix | undefined {
  if (address.includes('/')) return undefined;
  const h = maskPrefix(address);
  return h && isV4Mapped(h) ? maskPrefix(h.bytes.slice(12).join('.')) : h;
}

/** Canonical text of a bare address; undefined when invalid. */
export function canonicalAddress(address: string): string | undefined {
  return hostPrefix(address)?.addr;
}

export function comparePrefixes(a: ParsedPrefix, b: ParsedPrefix): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) {
    const d = (a.bytes[i] ?? 0) - (b.bytes[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.bits - b.bits;
}

/** Orders address or prefix texts by comparePrefixes (invalid texts last, by text). */
export function compareAddressTexts(a: string, b: string): number {
  const pa = maskPrefix(a);
  const pb = maskPrefix(b);
  if (pa && pb) return comparePrefixes(pa, pb);
  if (pa || pb) return pa ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Is `inner` inside `outer` (same family, at least as long, same masked network)? */
export function containsPrefix(outer: ParsedPrefix, inner: ParsedPrefix): boolean {
  return prefixContains(outer, inner);
}
