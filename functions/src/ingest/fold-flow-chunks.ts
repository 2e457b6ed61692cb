import type { FlowFilter, FlowGroupKey, FlowRecord } from '../../../openapi/types.js';
import { FlowAggregator, type AggregationPart } from '../../../core/flows/aggregate-flows.js';
import { compileFlowFilters } from '../../../core/flows/flow-filter.js';
import { ServiceGraphBuilder, type ServiceGraphPart } from '../../../core/flows/service-graph.js';
import { packReplayPart, type PackedReplayPart } from '../../../core/policy/replay/packed-replay-part.js';
import { ReplayGrouper } from '../../../core/policy/replay/replay-groups.js';
import { flowRecordOf } from '../domain/flow-scan.js';
import { decompressSummariesSync } from '../store/flow-chunk-codec.js';
import type { EncodedFlowChunk } from '../store/flow-store.js';

/** The filters of a query (already validated by the caller), as they cross to a decoder thread. */
export interface FlowFilters {
  whitelist?: FlowFilter[] | undefined;
  blacklist?: FlowFilter[] | undefined;
}

/**
 * Folds of stored chunks for whole-window queries, as synchronous functions of plain data so they run on
 * decoder threads: decompress and parse each chunk, keep the records the filters match, and return the
 * partial aggregation or graph (the caller merges the parts of all pages).
 */
export function aggregateFlowChunks(filters: FlowFilters, groupBy: FlowGroupKey[], chunks: EncodedFlowChunk[]): AggregationPart {
  const aggregator = new FlowAggregator(groupBy);
  foldMatching(filters, chunks, (record) => aggregator.add(record));
  return aggregator.part();
}

/** Replay's pass 1 over a page of chunks (core/policy/replay/replay-groups.ts), packed for the trip back
 *  to the main thread; examples are stored positions (exampleRef), resolved by the caller for the few
 *  groups it reports. */
export function replayFlowChunks(filters: FlowFilters, chunks: EncodedFlowChunk[]): PackedReplayPart {
  const grouper = new ReplayGrouper<string>(1); // one example per group in a part: the merge of many parts keeps up to three
  foldMatching(filters, chunks, (record, chunk, index) => grouper.add(record, () => exampleRef(chunk, index)));
  return packReplayPart(grouper.part());
}

/** A stored summary's position: its chunk's partition key and id, and its index in the chunk. */
export const exampleRef = (chunk: Pick<EncodedFlowChunk, 'pk' | 'id'>, index: number): string => `${chunk.pk}\u0000${chunk.id}\u0000${index}`;

export function parseExampleRef(ref: string): { pk: string; id: string; index: number } {
  const [pk, id, index] = ref.split('\u0000');
  return { pk: pk ?? '', id: id ?? '', index: Number(index) };
}

/** Reads and decodes a page of chunks and counts the matching summaries: the scan replay is measured against. */
export function countFlowChunks(filters: FlowFilters, chunks: EncodedFlowChunk[]): number {
  let n = 0;
  foldMatching(filters, chunks, () => void n++);
  return n;
}

export function graphFlowChunks(filters: FlowFilters, chunks: EncodedFlowChunk[]): ServiceGraphPart {
  const builder = new ServiceGraphBuilder();
  foldMatching(filters, chunks, (record) => builder.add(record));
  return builder.part();
}

function foldMatching(filters: FlowFilters, chunks: EncodedFlowChunk[], add: (record: FlowRecord, chunk: EncodedFlowChunk, index: number) => void): void {
  const compiled = compileFlowFilters(filters);
  if ('errors' in compiled) throw new Error('flow filters must be validated before folding');
  for (const chunk of chunks) {
    const summaries = decompressSummariesSync(chunk.z);
    for (let index = 0; index < summaries.length; index++) {
      const record = flowRecordOf(chunk, summaries[index]!);
      if (compiled.matches(record)) add(record, chunk, index);
    }
  }
}
