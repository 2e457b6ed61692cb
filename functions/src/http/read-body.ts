import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { HttpRequest } from '@azure/functions';
import { findTooDeep, MAX_JSON_DEPTH, tooDeepMessage } from '../../../core/json/json-depth.js';
import { ApiError, validationFailed } from './api-error.js';

/** Largest request body accepted, in bytes (policies are a few KiB; import files a few hundred KiB). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export type BodyFormat = 'json' | 'yaml' | 'ndjson';

const MEDIA_TYPES: Record<BodyFormat, (mediaType: string) => boolean> = {
  json: (type) => type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type),
  yaml: (type) => type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml',
  ndjson: (type) => type === 'application/x-ndjson',
};

/** Patch documents describe a change, not a representation: PUT replaces the whole resource and there is no PATCH. */
const PATCH_MEDIA_TYPES = new Set(['application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml']);

type Decompress = (bytes: Uint8Array, options: zlib.ZlibOptions & zlib.BrotliOptions) => Promise<Buffer>;
const inflate = promisify(zlib.inflate) as Decompress;
const inflateRaw = promisify(zlib.inflateRaw) as Decompress;
/** Content codings decoded before the body is read (RFC 9110 §8.4.1); `deflate` is the zlib format, raw deflate is tolerated. */
const DECODERS: Record<string, Decompress> = {
  gzip: promisify(zlib.gunzip) as Decompress,
  'x-gzip': promisify(zlib.gunzip) as Decompress,
  deflate: (bytes, options) => (isZlibHeader(bytes) ? inflate(bytes, options) : inflateRaw(bytes, options)),
  br: promisify(zlib.brotliDecompress) as Decompress,
};
export const ACCEPTED_CONTENT_ENCODINGS = 'gzip, deflate, br';

const CANONICAL_MEDIA_TYPE: Record<BodyFormat, string> = { json: 'application/json', yaml: 'application/yaml', ndjson: 'application/x-ndjson' };

/**
 * Reads a request body as bytes: checks the media type (415; patch documents too), the size (413, by
 * Content-Length first and then by the bytes actually read), decodes a gzip, deflate or br
 * Content-Encoding (415 for any other coding, 400 InvalidContentEncoding when the bytes do not decode,
 * 413 as soon as the decoded bytes pass `maxBytes` — decompression stops there, so a bomb costs at most
 * `maxBytes` of memory) and checks that it is not empty (400). Returns the decoded bytes and which
 * accepted format they are.
 */
export async function readBodyBytes<F extends BodyFormat>(
  request: HttpRequest,
  accepted: readonly F[],
  maxBytes = DEFAULT_MAX_BODY_BYTES,
): Promise<{ bytes: Uint8Array; format: F }> {
  const mediaType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const format = PATCH_MEDIA_TYPES.has(mediaType) ? undefined : accepted.find((candidate) => MEDIA_TYPES[candidate](mediaType));
  if (!format) {
    const expected = accepted.map((f) => CANONICAL_MEDIA_TYPE[f]).join(' or ');
    const why = PATCH_MEDIA_TYPES.has(mediaType) ? `${mediaType} is a patch document; send the whole resource as ${expected}` : `Content-Type must be ${expected}`;
    throw new ApiError(415, 'UnsupportedMediaType', `${why}.`, [{ pointer: '/header/content-type', message: `expected ${expected}`, rule: 'mediaType' }]);
  }
  const codings = contentCodings(request);
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw tooLarge(maxBytes);
  let bytes: Uint8Array = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  for (const coding of codings.reverse()) bytes = await decode(bytes, coding, maxBytes);
  if (bytes.byteLength === 0) {
    throw new ApiError(400, 'InvalidJson', 'The request body is empty.', [{ pointer: '', message: 'a body is required', rule: 'required' }]);
  }
  return { bytes, format };
}

/** The Content-Encoding codings in the order applied (`identity` dropped); 415 for a coding not in DECODERS. */
function contentCodings(request: HttpRequest): string[] {
  const codings = (request.headers.get('content-encoding') ?? '').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity');
  const unknown = codings.find((c) => !Object.hasOwn(DECODERS, c));
  if (unknown !== undefined) {
    throw new ApiError(415, 'UnsupportedMediaType', `Content-Encoding must be one of ${ACCEPTED_CONTENT_ENCODINGS} (or absent).`, [
      { pointer: '/header/content-encoding', message: `expected ${ACCEPTED_CONTENT_ENCODINGS}`, rule: 'contentEncoding' },
    ], {}, { 'Accept-Encoding': ACCEPTED_CONTENT_ENCODINGS });
  }
  return codings;
}

async function decode(bytes: Uint8Array, coding: string, maxBytes: number): Promise<Uint8Array> {
  try {
    // One byte over the limit tells "exactly maxBytes" from "more"; zlib stops inflating there.
    const decoded = await DECODERS[coding]!(bytes, { maxOutputLength: maxBytes + 1 });
    if (decoded.byteLength > maxBytes) throw tooLarge(maxBytes);
    return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
    throw new ApiError(400, 'InvalidContentEncoding', `The body is not valid ${coding} data.`, [{ pointer: '/header/content-encoding', message: `the body does not decode as ${coding}`, rule: 'contentEncoding' }]);
  }
}

/** RFC 1950: compression method 8 and a header checksum divisible by 31. */
function isZlibHeader(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && (bytes[0]! & 0x0f) === 8 && ((bytes[0]! << 8) | bytes[1]!) % 31 === 0;
}

/** readBodyBytes, decoded as UTF-8 (invalid sequences become U+FFFD). */
export async function readBodyText<F extends BodyFormat>(
  request: HttpRequest,
  accepted: readonly F[],
  maxBytes = DEFAULT_MAX_BODY_BYTES,
): Promise<{ text: string; format: F }> {
  const { bytes, format } = await readBodyBytes(request, accepted, maxBytes);
  return { text: new TextDecoder('utf-8', { fatal: false }).decode(bytes), format };
}

/** Reads and parses a JSON body (see readBodyText); malformed JSON is a 400 InvalidJson, nesting past MAX_JSON_DEPTH a 400 ValidationFailed. */
export async function readJsonBody(request: HttpRequest, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  const { text } = await readBodyText(request, ['json'], maxBytes);
  const body = parseJson(text);
  const tooDeep = findTooDeep(body);
  if (tooDeep !== undefined) throw validationFailed([{ pointer: tooDeep, message: tooDeepMessage(), rule: 'maxDepth' }], `The body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  return body;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unparseable';
    throw new ApiError(400, 'InvalidJson', `The body is not valid JSON: ${reason}`, [{ pointer: '', message: reason, rule: 'json' }]);
  }
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'PayloadTooLarge', `The body is larger than ${maxBytes} bytes.`, [
    { pointer: '', message: `at most ${maxBytes} bytes`, rule: 'maxBytes' },
  ]);
}
