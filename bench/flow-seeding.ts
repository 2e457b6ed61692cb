/**
 * Writes flow history straight into the store, in exactly the layout ingest writes (chunk documents and
 * coverage records), for the benchmarks that need a large history: bench/flows.ts (its SDK rounds) and
 * bench/replay.ts.
 */
import { promisify } from 'node:util';
import { deflateRaw, constants as zlibConstants } from 'node:zlib';
import type { FlowSummaryBatch } from '../openapi/types.js';
import { chunkSummaries } from '../core/flows/chunk-summaries.js';
import { hourBucket, normaliseTime } from '../core/flows/flow-time.js';
import { chunkDocuments } from '../functions/src/domain/flows.js';
import type { EncodedFlowChunk, FlowCoverageStore } from '../functions/src/store/flow-store.js';

const deflate = promisify(deflateRaw);

/**
 * The documents ingest would write for a batch (same layout and bytes, so the SDK path stores exactly the
 * same). Compression runs on libuv's pool, concurrently with the next batch: the strongest single-process client.
 */
export async function encodedChunkDocuments(cluster: string, node: string, batch: FlowSummaryBatch, retentionSeconds: number): Promise<EncodedFlowChunk[]> {
  const chunks = await Promise.all(chunkSummaries(batch.summaries).map(async ({ index, first, count, json }) => ({
    index,
    first,
    count,
    z: (await deflate(Buffer.from(json), { level: zlibConstants.Z_BEST_SPEED })).toString('base64'),
  })));
  const { summaries, ...header } = batch;
  return chunkDocuments(cluster, node, { ...header, summaryCount: summaries.length, chunks }, 'agent', retentionSeconds);
}

/** Records a stored batch in coverage (what ingest records after its writes), so queries see it. */
export async function recordBatchCoverage(coverage: FlowCoverageStore, cluster: string, b: { node: string; sequence: number; end: string; summaries: number }, retentionSeconds: number): Promise<void> {
  const hour = hourBucket(normaliseTime(b.end));
  const current = await coverage.read(cluster, hour, b.node);
  const base = current?.value ?? { clusterId: cluster, node: b.node, hour, ranges: [], batches: 0, summaries: 0, imported: 0, lost: { batches: 0, summaries: 0 } };
  await coverage.write({ ...base, ranges: [...base.ranges, [b.sequence, b.sequence]].sort((x, y) => x[0]! - y[0]!) as Array<[number, number]>, batches: base.batches + 1, summaries: base.summaries + b.summaries }, retentionSeconds, current?.version);
}

/** Runs `work` on every item with `concurrency` in flight. */
export async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  }));
}
