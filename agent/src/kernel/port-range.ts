/** A block of destination ports expressed as an LPM prefix over the 16-bit port. */
export interface PortBlock {
  /** first port of the block (host number 0..65535); its low 16 - prefixLen bits are zero */
  port: number;
  /** significant leading bits of the port: 16 = exactly `port`, 0 = every port */
  prefixLen: number;
}

/**
 * Splits the inclusive range [first, last] into the fewest prefix-aligned blocks, in ascending
 * order. The policy map matches ports by prefix, so a range becomes one entry per block.
 * Example: 8080..8090 → 8080/13 (8080–8087), 8088/15 (8088–8089), 8090/16.
 */
export function splitPortRange(first: number, last: number): PortBlock[] {
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > 0xffff || first > last) {
    throw new RangeError(`invalid port range ${first}-${last}`);
  }
  const blocks: PortBlock[] = [];
  let port = first;
  while (port <= last) {
    let size = port === 0 ? 0x10000 : port & -port; // largest block aligned at `port`
    while (port + size - 1 > last) size /= 2;
    blocks.push({ port, prefixLen: 16 - Math.log2(size) });
    port += size;
  }
  return blocks;
}
