import type { FlowRecord, FlowSummary } from '../../../openapi/types.js';
import type { NodeHourCoverage } from '../../../core/flows/flow-coverage.js';
import { hourBucket, type FlowWindow } from '../../../core/flows/flow-time.js';
import type { EncodedFlowChunk, FlowChunk, FlowChunkHeader, FlowChunkStore } from '../store/flow-store.js';

/** Where a record sits in the global order: its chunk's sort key and its index in the chunk. */
export interface ScanPosition {
  sk: string;
  index: number;
}

const FIRST_READ = 2;
const MAX_READ = 32;

/**
 * Every stored record of the window in global order (time, cluster, node, batch, position), strictly after
 * `after` when given. Only partitions (cluster × hour) that coverage says hold data are read; within an
 * hour the clusters' partitions are merged by sort key. Reads are keyset pages (`sk > last`), small first and
 * growing, so a short page costs little and a full scan few round trips.
 */
export async function* scanFlows(
  store: FlowChunkStore,
  window: FlowWindow,
  coverage: readonly NodeHourCoverage[],
  after?: ScanPosition,
): AsyncGenerator<{ record: FlowRecord; position: ScanPosition }> {
  const clustersByHour = new Map<string, Set<string>>();
  for (const c of coverage) clustersByHour.set(c.hour, (clustersByHour.get(c.hour) ?? new Set()).add(c.clusterId));
  const lower = after && after.sk > window.since ? after.sk : window.since;
  const firstHour = hourBucket(lower);
  const hours = [...clustersByHour.keys()].filter((h) => h >= firstHour && h <= hourBucket(window.until)).sort();
  for (const hour of hours) {
    const readers = [...clustersByHour.get(hour)!].sort().map((cluster) => new PartitionReader(store, `${cluster}|${hour}`, lower, window.until));
    for (;;) {
      let next: PartitionReader | undefined;
      for (const reader of readers) {
        const head = await reader.peek();
        if (head && (!next || head.sk < (await next.peek())!.sk)) next = reader;
      }
      if (!next) break;
      const chunk = next.take();
      for (let index = 0; index < chunk.summaries.length; index++) {
        if (after && chunk.sk === after.sk && index <= after.index) continue;
        yield { record: toRecord(chunk, index), position: { sk: chunk.sk, index } };
      }
    }
  }
}

function toRecord(chunk: FlowChunk, index: number): FlowRecord {
  return flowRecordOf(chunk, chunk.summaries[index]!);
}

/** A stored summary as queries return it: with its chunk's time, cluster, node and window. */
export function flowRecordOf(chunk: FlowChunkHeader, flow: FlowSummary): FlowRecord {
  return { time: chunk.time, cluster: chunk.clusterId, node_name: chunk.node, window: { start: chunk.windowStart, end: chunk.time }, flow };
}

/**
 * Every chunk of the window, summaries still compressed, in pages of up to MAX_READ chunks: partition
 * (cluster × hour with data, per coverage) after partition, each in sk order. For whole-window folds
 * (aggregations, the service graph), which do not need the global order.
 */
export async function* scanEncodedChunks(store: FlowChunkStore, window: FlowWindow, coverage: readonly NodeHourCoverage[]): AsyncGenerator<EncodedFlowChunk[]> {
  const partitions = new Set(coverage.filter((c) => c.hour >= hourBucket(window.since) && c.hour <= hourBucket(window.until)).map((c) => `${c.clusterId}|${c.hour}`));
  for (const pk of [...partitions].sort()) {
    let page = await store.rangeEncoded(pk, window.since, window.until, MAX_READ);
    while (page.length > 0) {
      yield page;
      if (page.length < MAX_READ) break;
      page = await store.rangeEncoded(pk, page.at(-1)!.sk, window.until, MAX_READ, true);
    }
  }
}

class PartitionReader {
  private buffer: FlowChunk[] = [];
  private last: string | undefined;
  private done = false;
  private size = FIRST_READ;

  constructor(
    private readonly store: FlowChunkStore,
    private readonly pk: string,
    private readonly lower: string,
    private readonly upper: string,
  ) {}

  async peek(): Promise<FlowChunk | undefined> {
    if (this.buffer.length === 0 && !this.done) {
      const page = await this.store.range(this.pk, this.last ?? this.lower, this.upper, this.size, this.last !== undefined);
      if (page.length < this.size) this.done = true;
      this.size = Math.min(this.size * 2, MAX_READ);
      this.buffer = page;
      this.last = page.at(-1)?.sk ?? this.last;
    }
    return this.buffer[0];
  }

  take(): FlowChunk {
    return this.buffer.shift()!;
  }
}
