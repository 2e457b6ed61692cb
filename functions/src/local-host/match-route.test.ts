import { describe, expect, it } from 'vitest';
import type { Operation } from '../http/operation.js';
import { compileRoutes } from './match-route.js';

const op = (operationId: string, method: Operation['method'], route: string): Operation => ({ operationId, method, route, handler: async () => ({}) });
const lookup = compileRoutes([
  op('getItem', 'GET', 'items/{name}'),
  op('putItem', 'PUT', 'items/{name}'),
  op('listRevisions', 'GET', 'items/{name}/revisions'),
  op('getSpecial', 'GET', 'items/special'),
  op('postImport', 'POST', 'imports'),
]);

describe('compileRoutes', () => {
  it.each([
    { method: 'GET', path: '/items/a', want: { match: 'getItem', params: { name: 'a' } } },
    { method: 'put', path: '/items/a', want: { match: 'putItem', params: { name: 'a' } } },
    { method: 'GET', path: '/items/special', want: { match: 'getSpecial', params: {} } },
    { method: 'PUT', path: '/items/special', want: { match: 'putItem', params: { name: 'special' } } },
    { method: 'GET', path: '/items/a%2Fb/revisions', want: { match: 'listRevisions', params: { name: 'a/b' } } },
    { method: 'DELETE', path: '/items/a', want: { allowed: ['GET', 'PUT'] } },
    { method: 'GET', path: '/imports', want: { allowed: ['POST'] } },
    { method: 'GET', path: '/items/%E0%A4%A', want: { notFound: true } },
    { method: 'GET', path: '/items', want: { notFound: true } },
    { method: 'GET', path: '/items/a/b/c', want: { notFound: true } },
  ])('$method $path', ({ method, path, want }) => {
    const found = lookup(method, path);
    if ('match' in want) {
      expect(found.kind).toBe('match');
      if (found.kind === 'match') {
        expect(found.match.operation.operationId).toBe(want.match);
        expect(found.match.params).toEqual(want.params);
      }
    } else if ('allowed' in want) {
      expect(found).toEqual({ kind: 'method-not-allowed', allowed: want.allowed });
    } else {
      expect(found.kind).toBe('not-found');
    }
  });
});
