/** Entry of a flow-batch decoder thread (flow-batch-decoder.ts): one task = one body's bytes. */
import { decodeFlowBatch } from './decode-flow-batch.js';

export default decodeFlowBatch;
