import type { FieldError, FlowSummaryBatch, ProblemCode } from '../../../openapi/types.js';
import { arrayElementSpans } from '../../../core/json/array-element-spans.js';
import { createSchemaValidator } from '../../../core/schema/compile-schema-validator.js';
import type { EncodedIngestBatch } from '../domain/flows.js';
import { ApiError, validationFailed } from '../http/api-error.js';
import { parseJson } from '../http/read-body.js';
import { encodeJsonSummaryChunks } from '../store/flow-chunk-codec.js';

/** An ApiError as plain data, so it can cross threads by structured clone (which drops classes). */
export interface PlainApiError {
  status: number;
  code: ProblemCode;
  message: string;
  errors: FieldError[];
}

/** The outcome of decoding an ingest body: a storable batch, or why the body is rejected. */
export type DecodedFlowBatch = { ok: true; batch: EncodedIngestBatch } | { ok: false; error: PlainApiError };

/**
 * Everything CPU-bound an agent batch costs before storage, as one synchronous function of the body bytes
 * (so it can run on a decoder thread, flow-decoder.ts): UTF-8 decoding, JSON parsing, validation
 * against FlowSummaryBatch of openapi.yaml, chunking and compression. The parsed summaries are only
 * validated: chunks are cut from the text as sent (arrayElementSpans), never serialised again.
 * Returns plain data only.
 */
export function decodeFlowBatch(bytes: Uint8Array): DecodedFlowBatch {
  try {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    const body = parseJson(text);
    const errors = createSchemaValidator('FlowSummaryBatch')(body);
    if (errors.length > 0) throw validationFailed(errors);
    const { summaries, ...header } = body as FlowSummaryBatch;
    const spans = arrayElementSpans(text, 'summaries');
    if (spans?.length !== summaries.length) throw new Error('summary spans disagree with the parsed body');
    return { ok: true, batch: { ...header, summaryCount: summaries.length, chunks: encodeJsonSummaryChunks(text, spans, bytes) } };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { ok: false, error: { status: error.status, code: error.code, message: error.message, errors: error.errors } };
  }
}
