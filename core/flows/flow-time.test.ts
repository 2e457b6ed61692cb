import { describe, expect, it } from 'vitest';
import { hourBuckets, parseFlowTime, resolveFlowWindow } from './flow-time.js';

const now = new Date('2026-11-24T12:00:00.000Z');

describe('parseFlowTime', () => {
  it.each([
    { given: '2026-11-24T10:00:00Z', want: '2026-11-24T10:00:00.000Z' },
    { given: '2026-11-24T10:00:00.5+02:00', want: '2026-11-24T08:00:00.500Z' },
    { given: '1h', want: '2026-11-24T11:00:00.000Z' },
    { given: '90s', want: '2026-11-24T11:58:30.000Z' },
    { given: '1h30m', want: '2026-11-24T10:30:00.000Z' },
    { given: '7d', want: '2026-11-17T12:00:00.000Z' },
    { given: '0.5d', want: '2026-11-24T00:00:00.000Z' },
  ])('$given → $want', ({ given, want }) => {
    const parsed = parseFlowTime(given, now);
    expect(parsed instanceof Date ? parsed.toISOString() : parsed).toBe(want);
  });

  it.each(['yesterday', '1y', '2026-11-24', '2026-13-40T99:00:00Z', '', '-1h'])('rejects %j', (given) => {
    expect(typeof parseFlowTime(given, now)).toBe('string');
  });
});

describe('resolveFlowWindow', () => {
  it.each([
    { given: {}, want: { since: '2026-11-24T11:00:00.000Z', until: '2026-11-24T12:00:00.000Z' } },
    { given: { since: '3h' }, want: { since: '2026-11-24T09:00:00.000Z', until: '2026-11-24T12:00:00.000Z' } },
    { given: { until: '2026-11-24T06:00:00Z' }, want: { since: '2026-11-24T05:00:00.000Z', until: '2026-11-24T06:00:00.000Z' } },
    { given: { since: '1h', until: '2h' }, want: { errors: [{ pointer: '/since', message: 'since must be before until', rule: 'flow-window' }] } },
    { given: { since: 'x', until: 'y' }, want: { errors: [expect.objectContaining({ pointer: '/until' }), expect.objectContaining({ pointer: '/since' })] } },
  ])('$given', ({ given, want }) => {
    expect(resolveFlowWindow(given, now)).toEqual(want);
  });
});

describe('hourBuckets', () => {
  it.each([
    { since: '2026-11-24T10:59:59.000Z', until: '2026-11-24T11:00:00.000Z', want: ['2026-11-24T10'] },
    { since: '2026-11-24T10:00:00.000Z', until: '2026-11-24T11:00:00.000Z', want: ['2026-11-24T10'] },
    { since: '2026-11-24T10:00:00.000Z', until: '2026-11-24T11:00:00.001Z', want: ['2026-11-24T10', '2026-11-24T11'] },
    { since: '2026-11-24T23:30:00.000Z', until: '2026-11-25T01:10:00.000Z', want: ['2026-11-24T23', '2026-11-25T00', '2026-11-25T01'] },
  ])('$since – $until', ({ since, until, want }) => {
    expect(hourBuckets({ since, until })).toEqual(want);
  });
});
