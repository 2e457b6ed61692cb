import type { Operation } from '../http/operation.js';

interface CompiledRoute {
  operation: Operation;
  segments: string[];
  /** Literal segments count: routes with more literals win, as in the Functions host. */
  literals: number;
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
 * (`a/{b}/c`). Parameters match exactly one non-empty segment; literal segments take precedence.
 */
export function compileRoutes(operations: readonly Operation[]): (method: string, path: string) => RouteLookup {
  const routes: CompiledRoute[] = operations
    .map((operation) => {
      const segments = operation.route.split('/');
      return { operation, segments, literals: segments.filter((s) => !s.startsWith('{')).length };
    })
    .sort((a, b) => b.literals - a.literals);
  return (method, path) => {
    const parts = path.split('/').filter((part) => part.length > 0);
    const allowed: string[] = [];
    for (const route of routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.operation.method === method.toUpperCase()) return { kind: 'match', match: { operation: route.operation, params } };
      allowed.push(route.operation.method);
    }
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  };
}

function matchSegments(template: string[], parts: string[]): Record<string, string> | undefined {
  if (template.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const segment = template[i]!;
    const part = parts[i]!;
    if (segment.startsWith('{') && segment.endsWith('}')) {
      try {
        params[segment.slice(1, -1)] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    } else if (segment !== part) {
      return undefined;
    }
  }
  return params;
}
