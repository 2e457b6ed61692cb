import type { HttpRequest } from '@azure/functions';
import { ApiError } from './api-error.js';

/** Largest request body accepted, in bytes (policies are a few KiB; import files a few hundred KiB). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export type BodyFormat = 'json' | 'yaml' | 'ndjson';

const MEDIA_TYPES: Record<BodyFormat, (mediaType: string) => boolean> = {
  json: (type) => type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type),
  yaml: (type) => type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml',
  ndjson: (type) => type === 'application/x-ndjson',
};

const CANONICAL_MEDIA_TYPE: Record<BodyFormat, string> = { json: 'application/json', yaml: 'application/yaml', ndjson: 'application/x-ndjson' };

/**
 * Reads a request body as bytes: checks the media type (415), the size (413, by Content-Length first and
 * then by the bytes actually read) and that it is not empty (400). Returns the bytes and which accepted
 * format they are.
 */
export async function readBodyBytes<F extends BodyFormat>(
  request: HttpRequest,
  accepted: readonly F[],
  maxBytes = DEFAULT_MAX_BODY_BYTES,
): Promise<{ bytes: Uint8Array; format: F }> {
  const mediaType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const format = accepted.find((candidate) => MEDIA_TYPES[candidate](mediaType));
  if (!format) {
    const expected = accepted.map((f) => CANONICAL_MEDIA_TYPE[f]).join(' or ');
    throw new ApiError(415, 'UnsupportedMediaType', `Content-Type must be ${expected}.`, [
      { pointer: '/header/content-type', message: `expected ${expected}`, rule: 'mediaType' },
    ]);
  }
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  if (bytes.byteLength === 0) {
    throw new ApiError(400, 'InvalidJson', 'The request body is empty.', [{ pointer: '', message: 'a body is required', rule: 'required' }]);
  }
  return { bytes, format };
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

/** Reads and parses a JSON body (see readBodyText); malformed JSON is a 400 InvalidJson. */
export async function readJsonBody(request: HttpRequest, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  const { text } = await readBodyText(request, ['json'], maxBytes);
  return parseJson(text);
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
