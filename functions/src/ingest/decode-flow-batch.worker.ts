/**
 * Entry of a flow decoder thread (flow-batch-decoder.ts). One task = one body's bytes: an agent batch
 * (the default export) or, by name, a Hubble import.
 */
import { decodeFlowBatch } from './decode-flow-batch.js';
import { decodeHubbleImport } from './decode-hubble-import.js';

export default decodeFlowBatch;

export function hubbleImport({ bytes, clusterId, windowSeconds }: { bytes: Uint8Array; clusterId: string; windowSeconds: number }) {
  return decodeHubbleImport(bytes, clusterId, windowSeconds);
}
