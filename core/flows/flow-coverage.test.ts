import { describe, expect, it } from 'vitest';
import { buildCoverage, type NodeHourCoverage } from './flow-coverage.js';

const NO_LOSS = { batches: 0, summaries: 0, packets: 0, bytes: 0, flows: 0 };
const window = { since: '2026-11-24T10:00:00.000Z', until: '2026-11-24T12:00:00.000Z' };
const hour = (clusterId: string, node: string, h: string, ranges: Array<[number, number]>, extra: Partial<NodeHourCoverage> = {}): NodeHourCoverage => ({
  clusterId,
  node,
  hour: h,
  ranges,
  batches: ranges.reduce((n, [a, b]) => n + b - a + 1, 0),
  summaries: 10,
  imported: 0,
  lost: { batches: 0, summaries: 0 },
  ...extra,
});

describe('buildCoverage', () => {
  it('merges a node across hours; a gap across the hour boundary shows', () => {
    const coverage = buildCoverage(window, ['east', 'west', 'quiet'], [hour('east', 'n1', '2026-11-24T10', [[0, 59]]), hour('east', 'n1', '2026-11-24T11', [[62, 70]]), hour('west', 'w1', '2026-11-24T11', [[5, 9]])]);
    expect(coverage.complete).toBe(false);
    expect(coverage.clustersWithoutData).toEqual(['quiet']);
    expect(coverage.clusters).toEqual([
      { cluster: 'east', nodes: [{ node_name: 'n1', batches: 69, summaries: 20, firstSequence: 0, lastSequence: 70, gaps: [{ from: 60, to: 61 }], lost: NO_LOSS, imported: 0 }] },
      { cluster: 'west', nodes: [{ node_name: 'w1', batches: 5, summaries: 10, firstSequence: 5, lastSequence: 9, gaps: [], lost: NO_LOSS, imported: 0 }] },
    ]);
  });

  it('sums every kind of loss per node across hours; records without kernel fields count 0', () => {
    const coverage = buildCoverage(window, ['a'], [
      hour('a', 'n', '2026-11-24T10', [[0, 3]], { lost: { batches: 1, summaries: 7 } }),
      hour('a', 'n', '2026-11-24T11', [[4, 6]], { lost: { batches: 0, summaries: 0, packets: 40, bytes: 4000, flows: 3 } }),
      hour('a', 'n', '2026-11-24T11', [[7, 7]], { lost: { batches: 0, summaries: 0, packets: 2, bytes: 120, flows: 0 } }),
    ]);
    expect(coverage.clusters[0]!.nodes[0]!.lost).toEqual({ batches: 1, summaries: 7, packets: 42, bytes: 4120, flows: 3 });
    expect(coverage.complete).toBe(false);
  });

  it.each([
    { name: 'no gaps, no loss', records: [hour('a', 'n', '2026-11-24T10', [[0, 3]])], want: true },
    { name: 'reported loss', records: [hour('a', 'n', '2026-11-24T10', [[0, 3]], { lost: { batches: 1, summaries: 0 } })], want: false },
    { name: 'kernel loss only (packets the flow map could not count)', records: [hour('a', 'n', '2026-11-24T10', [[0, 3]], { lost: { batches: 0, summaries: 0, packets: 5, bytes: 300 } })], want: false },
    { name: 'kernel loss of connections only', records: [hour('a', 'n', '2026-11-24T10', [[0, 3]], { lost: { batches: 0, summaries: 0, flows: 1 } })], want: false },
    { name: 'imports only', records: [hour('a', 'n', '2026-11-24T10', [], { batches: 0, imported: 10 })], want: true },
    { name: 'nothing at all', records: [], want: true },
  ])('complete: $name → $want', ({ records, want }) => {
    expect(buildCoverage(window, ['a'], records).complete).toBe(want);
  });
});
