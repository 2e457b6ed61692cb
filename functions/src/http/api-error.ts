import type { FieldError, ProblemCode } from '../../../openapi/types.js';

/**
 * An error a client can act on. Thrown anywhere below a handler and turned into
 * application/problem+json by the one error boundary (render-problem.ts). Anything that is not an
 * ApiError becomes a 500 whose body says nothing about the cause.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    message: string,
    readonly errors: FieldError[] = [],
    /** Extra problem members (RFC 9457 extensions), e.g. `documents` for ImportRejected. */
    readonly extensions: Record<string, unknown> = {},
    /** Extra response headers, e.g. WWW-Authenticate. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const validationFailed = (errors: FieldError[], message = 'The request is invalid.'): ApiError =>
  new ApiError(400, 'ValidationFailed', message, errors);

export const notFound = (what: string): ApiError => new ApiError(404, 'NotFound', `${what} was not found.`);

/** Well-formed, but it names something the API cannot resolve (422): `errors` point at what to change. */
export const unprocessable = (code: ProblemCode, message: string, errors: FieldError[]): ApiError => new ApiError(422, code, message, errors);

export const preconditionFailed = (message: string): ApiError => new ApiError(412, 'PreconditionFailed', message);

export const unauthorized = (message: string): ApiError =>
  new ApiError(401, 'Unauthorized', message, [], {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });

export const forbidden = (message: string): ApiError => new ApiError(403, 'Forbidden', message);

/** The store is throttling or unreachable and the SDK's retries ran out (store-unavailable.ts): retry later. */
export const serviceUnavailable = (retryAfterSeconds: number): ApiError =>
  new ApiError(503, 'ServiceUnavailable', `The service is busy or its store is unavailable. Retry after ${retryAfterSeconds} s.`, [], {}, {
    'Retry-After': String(retryAfterSeconds),
  });
