/**
 * A pass-1 part (replay-groups.ts, examples as strings) as a few columns, so it crosses from a decoder
 * thread to the main thread as arrays of numbers and strings instead of tens of thousands of small
 * objects (structured clone costs per object). pack then unpack gives back an equal part, except that
 * a row keeps at most one example (parts are packed by folds that keep one).
 */
import { emptyReplaySums, type RecordedVerdict, type ReplayGroup, type ReplayPart, type UnjudgedPart } from './replay-groups.js';

export interface PackedReplayPart {
  /** ReplayPart.labelSets */
  labelSets: string[];
  /** compact group keys */
  keys: string[];
  /** display names, interned */
  names: string[];
  /** 2 per group: subjectName and peerName as indices into `names` */
  nameIndex: Int32Array;
  /** ROW_WIDTH per (group, recorded verdict): group index, verdict code, summaries, packets, bytes, flows, first seen (ms), last seen (ms) */
  rows: Float64Array;
  /** per row: its example ('' when none) */
  examples: string[];
  unjudged: Array<UnjudgedPart<string>>;
}

const ROW_WIDTH = 8;
const VERDICTS: readonly RecordedVerdict[] = ['FORWARDED', 'DROPPED', 'AUDIT'];

export function packReplayPart(part: ReplayPart<string>): PackedReplayPart {
  const names: string[] = [];
  const nameIds = new Map<string, number>();
  const intern = (text: string): number => {
    let id = nameIds.get(text);
    if (id === undefined) nameIds.set(text, (id = names.push(text) - 1));
    return id;
  };
  const nameIndex = new Int32Array(part.groups.length * 2);
  const rowCount = part.groups.reduce((n, g) => n + Object.keys(g.recorded).length, 0);
  const rows = new Float64Array(rowCount * ROW_WIDTH);
  const examples: string[] = [];
  let row = 0;
  part.groups.forEach((g, i) => {
    nameIndex[i * 2] = intern(g.subjectName);
    nameIndex[i * 2 + 1] = intern(g.peerName);
    VERDICTS.forEach((verdict, code) => {
      const r = g.recorded[verdict];
      if (!r) return;
      rows.set([i, code, r.sums.summaries, r.sums.packets, r.sums.bytes, r.sums.flows, Date.parse(r.sums.firstSeen), Date.parse(r.sums.lastSeen)], row * ROW_WIDTH);
      examples.push(r.examples[0] ?? '');
      row++;
    });
  });
  return { labelSets: part.labelSets ?? [], keys: part.groups.map((g) => g.key), names, nameIndex, rows, examples, unjudged: part.unjudged };
}

export function unpackReplayPart(packed: PackedReplayPart): ReplayPart<string> {
  const groups: Array<ReplayGroup<string>> = packed.keys.map((key, i) => ({
    key,
    subjectName: packed.names[packed.nameIndex[i * 2] as number] as string,
    peerName: packed.names[packed.nameIndex[i * 2 + 1] as number] as string,
    recorded: {},
  }));
  const { rows } = packed;
  for (let row = 0; row * ROW_WIDTH < rows.length; row++) {
    const at = row * ROW_WIDTH;
    const g = groups[rows[at] as number] as ReplayGroup<string>;
    const sums = emptyReplaySums();
    sums.summaries = rows[at + 2] as number;
    sums.packets = rows[at + 3] as number;
    sums.bytes = rows[at + 4] as number;
    sums.flows = rows[at + 5] as number;
    sums.firstSeen = new Date(rows[at + 6] as number).toISOString();
    sums.lastSeen = new Date(rows[at + 7] as number).toISOString();
    const example = packed.examples[row] as string;
    g.recorded[VERDICTS[rows[at + 1] as number] as RecordedVerdict] = { sums, examples: example === '' ? [] : [example] };
  }
  return { groups, unjudged: packed.unjudged, labelSets: packed.labelSets };
}
