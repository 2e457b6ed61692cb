/**
 * RFC 6901 JSON pointers.
 * Contract: `appendPointer('/spec', 'a/b', 0)` → `/spec/a~1b/0`; tokens are escaped (`~` → `~0`, `/` → `~1`).
 */
export function escapePointerToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function appendPointer(base: string, ...tokens: Array<string | number>): string {
  return base + tokens.map((t) => '/' + escapePointerToken(t)).join('');
}

/** Splits a pointer into unescaped tokens; '' → []. */
export function splitPointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}
