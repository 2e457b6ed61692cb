/**
 * Deterministic numbering without coordination.
 *
 * Contract: `allocateHashed(names, space)` gives each distinct name the number
 * `space.first + (sha256(name)[0..4] as u32 BE) mod space.size`; names are processed in sorted order
 * (UTF-16 code units) and a name whose slot is taken probes the next slot (wrapping inside the space).
 * Hence: the same SET of names gives the same numbers on every node, whatever the input order; a
 * name's number only depends on other names when their hashes collide (probability ≈ n²/2·size).
 */
import { createHash } from 'node:crypto';

export interface IdSpace {
  first: number;
  size: number;
  /** numbers never handed out (e.g. 0 for rule ids) */
  reserved?: ReadonlySet<number>;
}

/** Workload identities: [256, 2^24) — Cilium's cluster-local range widened to 24 bits. */
export const WORKLOAD_ID_SPACE: IdSpace = { first: 256, size: 2 ** 24 - 256 };
/** CIDR identities: [2^24, 2^25) — Cilium's node-local scope bit (1 << 24). */
export const CIDR_ID_SPACE: IdSpace = { first: 2 ** 24, size: 2 ** 24 };
/** Rule ids: u32 without 0. */
export const RULE_ID_SPACE: IdSpace = { first: 1, size: 2 ** 32 - 1 };

export function hashToU32(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

export function allocateHashed(names: Iterable<string>, space: IdSpace): Map<string, number> {
  const sorted = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length > space.size) throw new RangeError(`cannot number ${sorted.length} names in a space of ${space.size}`);
  const taken = new Set<number>(space.reserved ?? []);
  const out = new Map<string, number>();
  for (const name of sorted) {
    let slot = hashToU32(name) % space.size;
    while (taken.has(space.first + slot)) slot = (slot + 1) % space.size;
    taken.add(space.first + slot);
    out.set(name, space.first + slot);
  }
  return out;
}
