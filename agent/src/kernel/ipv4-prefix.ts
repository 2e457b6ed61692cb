/** An IPv4 prefix; `addr` is the dotted quad with all bits past prefixLen zero. */
export interface Ipv4Prefix {
  addr: string;
  /** 0..32 */
  prefixLen: number;
}

/** Parses "a.b.c.d" into the address as an unsigned 32-bit number (first octet most significant). */
export function parseIpv4(addr: string): number {
  const parts = addr.split('.');
  if (parts.length !== 4) throw new RangeError(`invalid IPv4 address ${addr}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new RangeError(`invalid IPv4 address ${addr}`);
    n = n * 256 + Number(p);
  }
  return n;
}

/** Formats an unsigned 32-bit number as "a.b.c.d". */
export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** Parses "a.b.c.d/len" (or a bare address = /32); throws if host bits are set. */
export function parseIpv4Prefix(cidr: string): Ipv4Prefix {
  const [addr = '', len = '32'] = cidr.split('/');
  const prefixLen = Number(len);
  if (!/^\d{1,2}$/.test(len) || prefixLen > 32) throw new RangeError(`invalid prefix length in ${cidr}`);
  const n = parseIpv4(addr);
  const mask = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
  if ((n & ~mask) >>> 0 !== 0) throw new RangeError(`host bits set in ${cidr}`);
  return { addr, prefixLen };
}
