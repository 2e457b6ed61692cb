/**
 * Port blocks: the L4 part of a verdict row. A block is a protocol plus a prefix over the 16-bit
 * destination port (for ICMP/ICMPv6 the "port" is the message type), exactly the shape the kernel's
 * policy map matches by longest prefix, so resolution and encoding agree block for block.
 *
 * Contract:
 * - `proto` 0 = every protocol (then `port` = `prefixLen` = 0); `prefixLen` 0 = every port of `proto`;
 *   otherwise the block holds the ports whose leading `prefixLen` bits equal `port`'s.
 * - Two blocks either nest or are disjoint (prefixes), which is what lets attribution say "the most
 *   specific block" and audit clipping intersect blocks without splitting them.
 * - Ranges are never merged back: a port range is the aligned blocks splitPortRange gives.
 */

/** proto 0 = any protocol (then port = prefixLen = 0); prefixLen 0 = any port of proto. */
export interface PortBlock {
  proto: number;
  port: number;
  prefixLen: number;
}

/** A prefix of the 16-bit port: `port` with its low 16 - prefixLen bits zero. */
export interface PortPrefix {
  /** first port of the block (host number 0..65535); its low 16 - prefixLen bits are zero */
  port: number;
  /** significant leading bits of the port: 16 = exactly `port`, 0 = every port */
  prefixLen: number;
}

/** Every protocol, every port. */
export const ANY_BLOCK: PortBlock = { proto: 0, port: 0, prefixLen: 0 };

/**
 * Splits the inclusive range [first, last] into the fewest prefix-aligned blocks, in ascending
 * order. The policy map matches ports by prefix, so a range becomes one entry per block.
 * Example: 8080..8090 → 8080/13 (8080–8087), 8088/15 (8088–8089), 8090/16.
 */
export function splitPortRange(first: number, last: number): PortPrefix[] {
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > 0xffff || first > last) {
    throw new RangeError(`invalid port range ${first}-${last}`);
  }
  const blocks: PortPrefix[] = [];
  let port = first;
  while (port <= last) {
    let size = port === 0 ? 0x10000 : port & -port; // largest block aligned at `port`
    while (port + size - 1 > last) size /= 2;
    blocks.push({ port, prefixLen: 16 - Math.log2(size) });
    port += size;
  }
  return blocks;
}

/** Does block `outer` contain block `inner`? */
export function blockContains(outer: PortBlock, inner: PortBlock): boolean {
  if (outer.proto === 0) return true;
  if (outer.proto !== inner.proto) return false;
  if (outer.prefixLen > inner.prefixLen) return false;
  if (outer.prefixLen === 0) return true;
  const shift = 16 - outer.prefixLen;
  return outer.port >>> shift === inner.port >>> shift;
}

/** Does the block hold a packet of `proto` to `port` (ICMP: the type)? */
export function blockHolds(block: PortBlock, proto: number, port: number): boolean {
  return blockContains(block, { proto, port, prefixLen: 16 });
}

/** How specific a block is, ordered as the kernel's key lengths: any protocol (0) < a protocol's every
 *  port (1) < a port prefix (1 + prefixLen). */
export function blockSpecificity(b: PortBlock): number {
  return b.proto === 0 ? 0 : 1 + b.prefixLen;
}

/** The block as an inclusive port range (for display): every port of the protocol is 0–65535. */
export function blockRange(b: PortBlock): { proto: number; first: number; last: number } {
  if (b.proto === 0 || b.prefixLen === 0) return { proto: b.proto, first: 0, last: 0xffff };
  return { proto: b.proto, first: b.port, last: b.port + 2 ** (16 - b.prefixLen) - 1 };
}

export const blockKey = (b: PortBlock): string => `${b.proto}/${b.port}/${b.prefixLen}`;
