import { describe, expect, it } from 'vitest';
import type { FlowGroupKey, FlowRecord } from '../../openapi/types.js';
import { createRandom, generateSummaries } from '../../test/helpers/flow-fixtures.js';
import { FlowAggregator } from './aggregate-flows.js';
import { ServiceGraphBuilder } from './service-graph.js';

const records: FlowRecord[] = generateSummaries(3000, createRandom(11)).map((flow, i) => ({
  time: '2026-11-24T10:01:00.000Z',
  cluster: i % 3 === 0 ? 'east' : 'west',
  node_name: `node-${i % 5}`,
  window: { start: '2026-11-24T10:00:00.000Z', end: '2026-11-24T10:01:00.000Z' },
  flow,
}));

/** Splits the records into `parts` uneven slices (some empty), folds each separately and merges them. */
function mergedParts<B extends { part(): P; merge(part: P): void }, P>(make: () => B, add: (b: B, r: FlowRecord) => void, parts: number): B {
  const random = createRandom(parts);
  const cuts = [0, ...Array.from({ length: parts - 1 }, () => Math.floor(random() * records.length)).sort((a, b) => a - b), records.length];
  const merged = make();
  for (let i = 0; i + 1 < cuts.length; i++) {
    const builder = make();
    for (const record of records.slice(cuts[i], cuts[i + 1])) add(builder, record);
    merged.merge(structuredClone(builder.part())); // as it arrives from a decoder thread
  }
  return merged;
}

describe('merging partial folds gives what one fold over all records gives', () => {
  it.each([1, 2, 7])('aggregation in %i parts', (parts) => {
    for (const groupBy of [[], ['cluster'], ['source_workload', 'destination_workload', 'verdict'], ['policy', 'destination_port']] as FlowGroupKey[][]) {
      const whole = new FlowAggregator(groupBy);
      for (const record of records) whole.add(record);
      const merged = mergedParts(() => new FlowAggregator(groupBy), (a, r) => a.add(r), parts);
      expect(merged.result('packets')).toEqual(whole.result('packets'));
    }
  });

  it.each([1, 2, 7])('service graph in %i parts', (parts) => {
    const whole = new ServiceGraphBuilder();
    for (const record of records) whole.add(record);
    const merged = mergedParts(() => new ServiceGraphBuilder(), (b, r) => b.add(r), parts);
    expect(merged.result()).toEqual(whole.result());
    expect(merged.result().edges.length).toBeGreaterThan(10);
  });
});
