import type { HttpRequest } from '@azure/functions';
import type { FieldError, LabelSelector } from '../../../openapi/types.js';
import { parseLabelSelectorQuery } from '../../../core/labels/label-selector.js';
import { ApiError, validationFailed } from './api-error.js';

export interface ListQuery {
  /** Items per page, 1–500 (default 100). */
  limit: number;
  /** Resume strictly after this id (decoded from the opaque continuation token). */
  afterId: string | undefined;
  selector: LabelSelector | undefined;
}

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 500;

/** Parses maxPageSize, continuationToken and (when allowed) labelSelector; errors point at `/query/<name>`. */
export function parseListQuery(request: HttpRequest, options: { labelSelector: boolean }): ListQuery {
  const errors: FieldError[] = [];
  const rawSize = request.query.get('maxPageSize');
  let limit = DEFAULT_PAGE_SIZE;
  if (rawSize !== null) {
    limit = Number(rawSize);
    if (!/^\d+$/.test(rawSize) || limit < 1 || limit > MAX_PAGE_SIZE) {
      errors.push({ pointer: '/query/maxPageSize', message: `must be an integer from 1 to ${MAX_PAGE_SIZE}`, rule: 'range' });
    }
  }
  let selector: LabelSelector | undefined;
  const rawSelector = request.query.get('labelSelector');
  if (options.labelSelector && rawSelector !== null) {
    const parsed = parseLabelSelectorQuery(rawSelector);
    if ('errors' in parsed) {
      errors.push(...parsed.errors.map((e) => ({ ...e, pointer: '/query/labelSelector' })));
    } else {
      selector = parsed.selector;
    }
  }
  if (errors.length > 0) throw validationFailed(errors, 'The query parameters are invalid.');
  const token = request.query.get('continuationToken');
  return { limit, afterId: token === null ? undefined : decodeContinuationToken(token), selector };
}

/** Continuation tokens are opaque to clients: base64url of a small JSON object naming the last id served. */
export function encodeContinuationToken(afterId: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after: afterId }), 'utf8').toString('base64url');
}

function decodeContinuationToken(token: string): string {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; after?: unknown };
    if (decoded.v === 1 && typeof decoded.after === 'string') return decoded.after;
  } catch {
    // fall through to the error below
  }
  throw new ApiError(400, 'InvalidContinuationToken', 'The continuation token is not one this API issued.', [
    { pointer: '/query/continuationToken', message: 'unrecognised token', rule: 'token' },
  ]);
}

/** The URL of the next page: the request's own URL with continuationToken replaced. */
export function buildNextLink(request: HttpRequest, lastId: string): string {
  const url = new URL(request.url);
  url.searchParams.set('continuationToken', encodeContinuationToken(lastId));
  return url.toString();
}
