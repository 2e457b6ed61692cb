import { describe, expect, it } from 'vitest';
import { colourEnabled, paint, visibleLength } from '../../cli/colour.js';
import { renderTable } from '../../cli/render.js';

describe('colour only for people', () => {
  it.each([
    { name: 'a terminal', env: {}, tty: true, want: true },
    { name: 'a pipe', env: {}, tty: false, want: false },
    { name: 'NO_COLOR on a terminal', env: { NO_COLOR: '1' }, tty: true, want: false },
    { name: 'empty NO_COLOR is unset', env: { NO_COLOR: '' }, tty: true, want: true },
    { name: 'TERM=dumb', env: { TERM: 'dumb' }, tty: true, want: false },
    { name: 'FORCE_COLOR into a pipe', env: { FORCE_COLOR: '1' }, tty: false, want: true },
    { name: 'FORCE_COLOR=0', env: { FORCE_COLOR: '0' }, tty: false, want: false },
  ])('$name → $want', ({ env, tty, want }) => {
    expect(colourEnabled(env, tty)).toBe(want);
  });

  it('paint adds escapes only when enabled', () => {
    expect(paint('DROPPED', 'red', true)).toBe('\u001b[31mDROPPED\u001b[0m');
    expect(paint('DROPPED', 'red', false)).toBe('DROPPED');
    expect(visibleLength(paint('DROPPED', 'red', true))).toBe(7);
  });

  it('a table with coloured cells stays aligned', () => {
    const plain = renderTable(['VERDICT', 'NEXT'], [['DROPPED', 'a'], ['FORWARDED', 'b']]);
    const coloured = renderTable(['VERDICT', 'NEXT'], [[paint('DROPPED', 'red', true), 'a'], [paint('FORWARDED', 'green', true), 'b']]);
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(plain);
    expect(plain).toBe('VERDICT    NEXT\nDROPPED    a\nFORWARDED  b\n');
  });
});
