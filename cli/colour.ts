/**
 * Colour for people, never for scripts (pure). Contract: colour is on only when stdout is a terminal, the
 * output is a table, `NO_COLOR` is unset or empty (https://no-color.org) and `TERM` is not `dumb`;
 * `FORCE_COLOR` (non-empty, not `0`) turns it on anyway. Widths are measured without escape codes so
 * coloured tables stay aligned.
 */
const CODES = { red: 31, green: 32, yellow: 33, dim: 2 } as const;
export type Colour = keyof typeof CODES;

export function colourEnabled(env: Record<string, string | undefined>, stdoutTty: boolean): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stdoutTty && env.TERM !== 'dumb';
}

export function paint(text: string, colour: Colour | undefined, enabled: boolean): string {
  return enabled && colour && text !== '' ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

// eslint-disable-next-line no-control-regex
const ESCAPES = /\u001b\[[0-9;]*m/g;

/** The length of `text` as shown (escape codes removed). */
export function visibleLength(text: string): number {
  return text.replace(ESCAPES, '').length;
}

/** The colour of a flow verdict or a node condition value. */
export function verdictColour(verdict: string): Colour | undefined {
  return ({ DROPPED: 'red', AUDIT: 'yellow', FORWARDED: 'green' } as Record<string, Colour>)[verdict];
}
