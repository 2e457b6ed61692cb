/**
 * Sets of batch sequence numbers kept as sorted, disjoint, non-adjacent inclusive ranges `[from, to]`
 * (an agent's batches are consecutive, so a node-hour usually holds one range).
 */
export type SequenceRange = [number, number];

export function rangesContain(ranges: readonly SequenceRange[], seq: number): boolean {
  return ranges.some(([from, to]) => seq >= from && seq <= to);
}

/** The union of range lists, normalised (sorted, merged when overlapping or adjacent). */
export function mergeRanges(...lists: ReadonlyArray<readonly SequenceRange[]>): SequenceRange[] {
  const all = lists.flat().map(([a, b]) => [a, b] as SequenceRange).sort((x, y) => x[0] - y[0]);
  const out: SequenceRange[] = [];
  for (const [from, to] of all) {
    const last = out.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

export function addToRanges(ranges: readonly SequenceRange[], seq: number): SequenceRange[] {
  return mergeRanges(ranges, [[seq, seq]]);
}

/** Holes between the ranges (what was never received between the first and the last seen). */
export function gapsBetween(ranges: readonly SequenceRange[]): Array<{ from: number; to: number }> {
  const merged = mergeRanges(ranges);
  const gaps: Array<{ from: number; to: number }> = [];
  for (let i = 1; i < merged.length; i++) gaps.push({ from: merged[i - 1]![1] + 1, to: merged[i]![0] - 1 });
  return gaps;
}
