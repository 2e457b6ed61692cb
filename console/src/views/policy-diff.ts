/**
 * A line diff of two policy revisions for the console's side-by-side view.
 *
 * - prettyCanonical(): the canonical JSON (core/policy/canonical-json.ts: keys sorted, the form ETags and
 *   idempotency compare) pretty-printed with two spaces, so two equal specs print the same lines.
 * - diffLines(): a longest-common-subsequence line diff (common prefix and suffix trimmed first). Lines are
 *   numbered from 1 on each side. When the part between the common prefix and suffix exceeds
 *   MAX_LCS_CELLS (n × m), it is reported as all removed then all added: still a correct diff, not a
 *   minimal one.
 * - sideBySide(): rows for two columns; a run of removed lines is paired with the run of added lines that
 *   follows it (a changed line shows on one row), unchanged lines sit on both sides.
 */
import { canonicalJson } from '../../../core/policy/canonical-json.js';

export type DiffKind = 'same' | 'removed' | 'added';

export interface DiffLine {
  kind: DiffKind;
  text: string;
  /** Line number on the left (old) side; absent for added lines. */
  left?: number;
  /** Line number on the right (new) side; absent for removed lines. */
  right?: number;
}

export interface SideCell {
  line: number;
  text: string;
  kind: DiffKind;
}

export interface SideBySideRow {
  left?: SideCell;
  right?: SideCell;
}

export const MAX_LCS_CELLS = 4_000_000;

export function prettyCanonical(value: unknown): string {
  return JSON.stringify(JSON.parse(canonicalJson(value)), null, 2);
}

export function diffLines(before: readonly string[], after: readonly string[]): DiffLine[] {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endA = before.length;
  let endB = after.length;
  while (endA > start && endB > start && before[endA - 1] === after[endB - 1]) {
    endA--;
    endB--;
  }
  const out: DiffLine[] = [];
  for (let i = 0; i < start; i++) out.push({ kind: 'same', text: before[i]!, left: i + 1, right: i + 1 });
  const n = endA - start;
  const m = endB - start;
  if (n * m > MAX_LCS_CELLS) {
    for (let i = start; i < endA; i++) out.push({ kind: 'removed', text: before[i]!, left: i + 1 });
    for (let j = start; j < endB; j++) out.push({ kind: 'added', text: after[j]!, right: j + 1 });
  } else {
    // lcs[i][j]: the LCS length of before[start+i..endA) and after[start+j..endB), row-major (m + 1 wide)
    const width = m + 1;
    const lcs = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * width + j] = before[start + i] === after[start + j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && before[start + i] === after[start + j]) {
        out.push({ kind: 'same', text: before[start + i]!, left: start + i + 1, right: start + j + 1 });
        i++;
        j++;
      } else if (i < n && (j === m || lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)) {
        // at a tie the removal goes first, so a changed line reads old then new
        out.push({ kind: 'removed', text: before[start + i]!, left: start + i + 1 });
        i++;
      } else {
        out.push({ kind: 'added', text: after[start + j]!, right: start + j + 1 });
        j++;
      }
    }
  }
  for (let k = 0; k < before.length - endA; k++) out.push({ kind: 'same', text: before[endA + k]!, left: endA + k + 1, right: endB + k + 1 });
  return out;
}

export function sideBySide(lines: readonly DiffLine[]): SideBySideRow[] {
  const rows: SideBySideRow[] = [];
  let k = 0;
  while (k < lines.length) {
    const line = lines[k]!;
    if (line.kind === 'same') {
      rows.push({ left: { line: line.left!, text: line.text, kind: 'same' }, right: { line: line.right!, text: line.text, kind: 'same' } });
      k++;
      continue;
    }
    const removed: DiffLine[] = [];
    const added: DiffLine[] = [];
    while (k < lines.length && lines[k]!.kind === 'removed') removed.push(lines[k++]!);
    while (k < lines.length && lines[k]!.kind === 'added') added.push(lines[k++]!);
    for (let r = 0; r < Math.max(removed.length, added.length); r++) {
      const a = removed[r];
      const b = added[r];
      rows.push({ ...(a ? { left: { line: a.left!, text: a.text, kind: 'removed' as const } } : {}), ...(b ? { right: { line: b.right!, text: b.text, kind: 'added' as const } } : {}) });
    }
  }
  return rows;
}

/** How many lines each side lost and gained. */
export function diffCounts(lines: readonly DiffLine[]): { removed: number; added: number } {
  return { removed: lines.filter((l) => l.kind === 'removed').length, added: lines.filter((l) => l.kind === 'added').length };
}
