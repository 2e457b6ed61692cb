import type { FlowFilter, FlowGroupKey, FlowRecord } from '../../../openapi/types.js';
import { FlowAggregator, type AggregationPart } from '../../../core/flows/aggregate-flows.js';
import { compileFlowFilters } from '../../../core/flows/flow-filter.js';
import { ServiceGraphBuilder, type ServiceGraphPart } from '../../../core/flows/service-graph.js';
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

export function graphFlowChunks(filters: FlowFilters, chunks: EncodedFlowChunk[]): ServiceGraphPart {
  const builder = new ServiceGraphBuilder();
  foldMatching(filters, chunks, (record) => builder.add(record));
  return builder.part();
}

function foldMatching(filters: FlowFilters, chunks: EncodedFlowChunk[], add: (record: FlowRecord) => void): void {
  const compiled = compileFlowFilters(filters);
  if ('errors' in compiled) throw new Error('flow filters must be validated before folding');
  for (const chunk of chunks) {
    for (const summary of decompressSummariesSync(chunk.z)) {
      const record = flowRecordOf(chunk, summary);
      if (compiled.matches(record)) add(record);
    }
  }
}
