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
  ) {
    super(message);
  }
}

export type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** `…/api/console/` → `…/api` */
export const apiBase = (): string => location.pathname.replace(/\/console\/?[^/]*$/, '');

export function createApi(session: Session, onUnauthorized: () => void): Api {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const token = await session.token();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${apiBase()}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) {
      if (response.status === 401) onUnauthorized();
      const problem = parsed as Problem | undefined;
      throw new ApiProblem(response.status, problem?.code ?? `Http${response.status}`, problem?.detail ?? problem?.title ?? response.statusText, problem);
    }
    return parsed as T;
  };
}
