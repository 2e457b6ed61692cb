/**
 * The console's one way to the API: the operations of openapi/openapi.yaml, with the session's bearer
 * token, relative to where the page is served (`<prefix>/console/` → `<prefix>/…`). Problems
 * (application/problem+json) become ApiProblem with the API's code and detail.
 */
import type { Problem } from '../../openapi/types.js';
import type { Session } from './session.js';

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problem?: Problem,
    /** the answer's Retry-After (503 when the store throttles, 404 while a desired state compiles) */
    readonly retryAfter: string | null = null,
  ) {
    super(message);
  }
}

export interface Api {
  /** The operation's JSON answer. */
  <T>(method: string, path: string, body?: unknown): Promise<T>;
  /**
   * The Response itself, for headers (Retry-After, Continuation-Token, Flow-Coverage) and non-JSON bodies
   * (NDJSON, CSV); `accept` names the media type wanted. Problems throw ApiProblem as above.
   */
  raw(method: string, path: string, body?: unknown, accept?: string): Promise<Response>;
}

/** `…/api/console/` → `…/api` */
export const apiBase = (): string => location.pathname.replace(/\/console\/?[^/]*$/, '');

export function createApi(session: Session, onUnauthorized: () => void): Api {
  const raw = async (method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> => {
    const token = await session.token();
    const headers: Record<string, string> = { accept };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${apiBase()}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (response.ok) return response;
    if (response.status === 401) onUnauthorized();
    const text = await response.text();
    let problem: Problem | undefined;
    try {
      problem = text ? (JSON.parse(text) as Problem) : undefined;
    } catch {
      problem = undefined;
    }
    throw new ApiProblem(response.status, problem?.code ?? `Http${response.status}`, problem?.detail ?? problem?.title ?? response.statusText, problem, response.headers.get('retry-after'));
  };
  const json = async <T,>(method: string, path: string, body?: unknown): Promise<T> => {
    const text = await (await raw(method, path, body)).text();
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return Object.assign(json, { raw });
}
