import { describe, expect, it } from 'vitest';

import type { FlowRecord } from '../../../openapi/types.js';
import { createRandom, generateSummaries } from '../../../test/helpers/flow-fixtures.js';
import { packReplayPart, unpackReplayPart } from './packed-replay-part.js';
import { mergeReplayParts, ReplayGrouper, type ReplayPart } from './replay-groups.js';

/** A part with its `recorded` entries in one order (pack writes them by verdict). */
const normal = (p: ReplayPart<string>): unknown => ({
  groups: p.groups.map((g) => ({ ...g, recorded: Object.fromEntries(Object.entries(g.recorded).sort()) })),
  unjudged: p.unjudged,
  labelSets: p.labelSets,
});

describe('packed replay parts', () => {
  it('unpack(pack(part)) is the part, and merges to the same groups', () => {
    const random = createRandom(11);
    const grouper = new ReplayGrouper<string>(1);
    generateSummaries(5000, random, { dnsShare: 0.1 }).forEach((flow, i) => {
      const time = new Date(Date.UTC(2026, 10, 30, 10, 0, i % 3600)).toISOString();
      const record: FlowRecord = { time, cluster: i % 3 === 0 ? 'c2' : 'c1', node_name: 'n1', window: { start: time, end: time }, flow };
      grouper.add(record, () => `ref-${i}`);
    });
    const part = grouper.part();
    expect(part.groups.length).toBeGreaterThan(100);
    expect(part.unjudged.map((u) => u.reason)).toContain('l7');
    const back = unpackReplayPart(structuredClone(packReplayPart(part)));
    expect(normal(back)).toEqual(normal(part));
    expect(normal(mergeReplayParts([back]))).toEqual(normal(mergeReplayParts([part])));
  });
});
