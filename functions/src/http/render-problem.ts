import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Problem } from '../../../openapi/types.js';
import { classifyStoreError } from '../store/store-unavailable.js';
import { ApiError, serviceUnavailable } from './api-error.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/**
 * The one error boundary: maps any thrown value to an RFC 9457 application/problem+json response.
 * ApiErrors keep their status, code, message and field errors. Store faults whose SDK retries ran out
 * (429, 503, timeouts, dropped connections: store-unavailable.ts) are a 503 ServiceUnavailable with
 * Retry-After, logged as a warning. Anything else is logged (message and stack only — never request
 * headers or bodies) and answered as an opaque 500.
 */
export function renderProblem(error: unknown, instance: string, context?: InvocationContext): HttpResponseInit {
  const { problem, headers } = problemOf(error, instance, context);
  return {
    status: problem.status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
    body: JSON.stringify(problem),
  };
}

/**
 * The problem document renderProblem answers for `error` (logging as it does), and the response headers
 * that go with it — for outcomes stored rather than sent (long-running operations' `error`). `instance`
 * is left out when absent.
 */
export function problemOf(error: unknown, instance?: string, context?: InvocationContext): { problem: Problem; headers: Record<string, string> } {
  const where = instance ?? 'an operation';
  const apiError = error instanceof ApiError ? error : storeUnavailableProblem(error, where, context);
  if (!apiError) {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    (context ? context.error.bind(context) : console.error)(`unhandled error at ${where}: ${detail}`);
  }
  const status = apiError?.status ?? 500;
  const problem: Problem = {
    type: `https://fleetnet.dev/problems/${apiError?.code ?? 'InternalError'}`,
    title: TITLES[status] ?? 'Error',
    status,
    code: apiError?.code ?? 'InternalError',
    detail: apiError?.message ?? 'An internal error occurred. It has been logged.',
    ...(instance !== undefined ? { instance } : {}),
    errors: apiError?.errors ?? [],
    ...(apiError?.extensions ?? {}),
  };
  return { problem, headers: apiError?.headers ?? {} };
}

/** A transient store fault as the 503 the client sees (its cause — store URLs, activity ids — only in the log). */
function storeUnavailableProblem(error: unknown, instance: string, context?: InvocationContext): ApiError | undefined {
  const fault = classifyStoreError(error);
  if (!fault) return undefined;
  (context ? context.warn.bind(context) : console.warn)(`store unavailable at ${instance}: ${fault.message}`);
  return serviceUnavailable(fault.retryAfterSeconds);
}
