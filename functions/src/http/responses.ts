import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { Versioned } from '../store/document-collection.js';
import { present, type Resource } from '../domain/resource.js';
import type { Page } from '../domain/collect-page.js';
import { formatEtag } from './etag.js';
import { buildNextLink } from './list-query.js';

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** How a stored resource is shown (`present` unless the kind adds computed fields). */
type Presenter<R extends Resource> = (stored: Versioned<R>) => R;

/** A resource with its ETag (201 for a create, 200 otherwise). */
export function resourceResponse<R extends Resource>(stored: Versioned<R>, status = 200, show: Presenter<R> = present): HttpResponseInit {
  return jsonResponse(status, show(stored), { ETag: formatEtag(stored.version) });
}

/** `{items, nextLink}`; nextLink is null on the last page. */
export function listResponse<R extends Resource>(request: HttpRequest, page: Page<R>, show: Presenter<R> = present): HttpResponseInit {
  return jsonResponse(200, {
    items: page.items.map((item) => show(item)),
    nextLink: page.lastId === undefined ? null : buildNextLink(request, page.lastId),
  });
}

export const noContent = (): HttpResponseInit => ({ status: 204 });
