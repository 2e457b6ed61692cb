/**
 * Entry of a flow decoder thread (flow-decoder.ts). The default task decodes an agent batch's bytes; named
 * tasks decode a Hubble import or fold a page of stored chunks for an aggregation, the service graph, replay's
 * pass 1 or a bare count (the scan replay is measured against).
 */
import type { FlowGroupKey } from '../../../openapi/types.js';
import type { EncodedFlowChunk } from '../store/flow-store.js';
import { decodeFlowBatch } from './decode-flow-batch.js';
import { decodeHubbleImport } from './decode-hubble-import.js';
import { aggregateFlowChunks, countFlowChunks, graphFlowChunks, replayFlowChunks, type FlowFilters } from './fold-flow-chunks.js';

export default decodeFlowBatch;

export function hubbleImport({ bytes, clusterId, windowSeconds }: { bytes: Uint8Array; clusterId: string; windowSeconds: number }) {
  return decodeHubbleImport(bytes, clusterId, windowSeconds);
}

export function aggregateChunks({ filters, groupBy, chunks }: { filters: FlowFilters; groupBy: FlowGroupKey[]; chunks: EncodedFlowChunk[] }) {
  return aggregateFlowChunks(filters, groupBy, chunks);
}

export function graphChunks({ filters, chunks }: { filters: FlowFilters; chunks: EncodedFlowChunk[] }) {
  return graphFlowChunks(filters, chunks);
}

export function replayChunks({ filters, chunks }: { filters: FlowFilters; chunks: EncodedFlowChunk[] }) {
  return replayFlowChunks(filters, chunks);
}

export function countChunks({ filters, chunks }: { filters: FlowFilters; chunks: EncodedFlowChunk[] }) {
  return countFlowChunks(filters, chunks);
}
