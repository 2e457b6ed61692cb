/**
 * Nesting depth of parsed JSON (or YAML) values.
 *
 * Contracts:
 * - MAX_JSON_DEPTH is the one nesting limit of request bodies: every JSON body the API reads (PUTs,
 *   queries) and every document of a policy import. No contract schema nests deeper than about 15 levels
 *   (a Kubernetes List of Cilium policies with HTTP header matches), so 64 leaves room for what a
 *   cluster exports (managedFields) while keeping every recursive walk of a document far from the stack limit.
 * - Depth counts containers: `1` and `[]` are depth 0 … `[]` is 1, `[[]]` is 2; a scalar inside N
 *   containers is at depth N.
 * - findTooDeep walks iteratively (no recursion, so it is safe on any input JSON.parse accepts) and
 *   returns the JSON pointer of the first container (document order) that opens level `maxDepth + 1`,
 *   or undefined when the value is within the limit.
 */
import { appendPointer } from './json-pointer.js';

export const MAX_JSON_DEPTH = 64;

export function findTooDeep(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const stack: Array<{ value: unknown; pointer: string; depth: number }> = [{ value, pointer: '', depth: 0 }];
  while (stack.length > 0) {
    const { value: current, pointer, depth } = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > maxDepth) return pointer;
    const entries: Array<[string | number, unknown]> = Array.isArray(current) ? current.map((v, i) => [i, v]) : Object.entries(current);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (typeof child === 'object' && child !== null) stack.push({ value: child, pointer: appendPointer(pointer, key), depth: depth + 1 });
    }
  }
  return undefined;
}

/** The FieldError message for a value nested too deeply. */
export const tooDeepMessage = (maxDepth = MAX_JSON_DEPTH): string => `nested deeper than ${maxDepth} levels of arrays and objects`;
