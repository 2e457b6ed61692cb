import type { Operation } from '../http/operation.js';

interface CompiledRoute {
  operation: Operation;
  segments: string[];
  /** Positions of `{param}` segments and their names. */
  params: [index: number, name: string][];
}

export interface RouteMatch {
  operation: Operation;
  params: Record<string, string>;
}

export type RouteLookup =
  | { kind: 'match'; match: RouteMatch }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

/**
 * Matches paths (relative to the route prefix) against Azure Functions route templates
 * (`a/{b}/c`). Parameters match exactly one non-empty segment; routes with more literal segments win,
 * as in the Functions host. Routes are indexed by segment count so a lookup only tries routes of the
 * right length.
 */
export function compileRoutes(operations: readonly Operation[]): (method: string, path: string) => RouteLookup {
  const byLength = new Map<number, CompiledRoute[]>();
  for (const operation of operations) {
    const segments = operation.route.split('/');
    const params = segments.flatMap((segment, index): [number, string][] => (isParam(segment) ? [[index, segment.slice(1, -1)]] : []));
    const list = byLength.get(segments.length) ?? [];
    list.push({ operation, segments, params });
    byLength.set(segments.length, list);
  }
  for (const list of byLength.values()) list.sort((a, b) => a.params.length - b.params.length);

  return (method, path) => {
    const parts = path.split('/').filter((part) => part.length > 0);
    const allowed: string[] = [];
    for (const route of byLength.get(parts.length) ?? []) {
      if (!literalsMatch(route.segments, parts)) continue;
      const params = decodeParams(route.params, parts);
      if (!params) continue;
      if (route.operation.method === method.toUpperCase()) return { kind: 'match', match: { operation: route.operation, params } };
      allowed.push(route.operation.method);
    }
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  };
}

const isParam = (segment: string) => segment.startsWith('{') && segment.endsWith('}');

function literalsMatch(template: string[], parts: string[]): boolean {
  for (let i = 0; i < template.length; i++) {
    const segment = template[i]!;
    if (!isParam(segment) && segment !== parts[i]) return false;
  }
  return true;
}

function decodeParams(params: [number, string][], parts: string[]): Record<string, string> | undefined {
  const decoded: Record<string, string> = {};
  try {
    for (const [index, name] of params) decoded[name] = decodeURIComponent(parts[index]!);
  } catch {
    return undefined; // malformed percent-encoding: no route matches
  }
  return decoded;
}
