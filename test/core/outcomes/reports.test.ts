import { describe, expect, it } from 'vitest';
import { attainments, attainmentScore, metricSeries, parseMetricQuery } from '../../../core/outcomes/reports.js';

const NOW = Date.UTC(2026, 11, 2, 12, 0);
const counts = (success: number, serviceFailure: number, callerError = 0) => ({ success, serviceFailure, callerError, caBlocked: 0 });

describe('attainmentScore', () => {
  it('truncates, never rounds, to 3 decimals', () => {
    expect(attainmentScore(counts(999_999, 1))).toBe(99.999);
    expect(attainmentScore(counts(9_999_999, 1))).toBe(99.999);
    expect(attainmentScore(counts(2, 1))).toBe(66.666);
    expect(attainmentScore(counts(10, 0))).toBe(100);
  });
});

describe('attainments', () => {
  it('merges regions and scenarios per UTC month, oldest first, ignoring caller errors', () => {
    const out = attainments([
      { month: '2026-12', ...counts(3, 1, 50) },
      { month: '2026-11', ...counts(10, 0) },
      { month: '2026-12', ...counts(1, 0) },
    ]);
    expect(out).toEqual([
      { startDate: '2026-11-01', endDate: '2026-11-30', score: 100 },
      { startDate: '2026-12-01', endDate: '2026-12-31', score: 80 },
    ]);
  });
  it('has no entry for a month without authentications', () => {
    expect(attainments([{ month: '2026-10', ...counts(0, 0) }])).toEqual([]);
  });
  it('handles February of a leap year', () => {
    expect(attainments([{ month: '2028-02', ...counts(1, 0) }])[0]?.endDate).toBe('2028-02-29');
  });
});

const fn = (name: string, start: string, end: string, interval = '5') =>
  `${name}(inclusiveIntervalStartDateTime=${start},exclusiveIntervalEndDateTime=${end},aggregationIntervalInMinutes=${interval})`;

describe('parseMetricQuery', () => {
  it('parses a well-formed call', () => {
    const q = parseMetricQuery(fn('getMetricsForTokenIssuanceSuccess', '2026-12-02T10:00:00Z', '2026-12-02T11:00:00Z', '15'), NOW);
    expect(q).toEqual({ ok: true, value: { name: 'getMetricsForTokenIssuanceSuccess', start: Date.UTC(2026, 11, 2, 10), end: Date.UTC(2026, 11, 2, 11), intervalMinutes: 15 } });
  });
  it('refuses an unknown function', () => {
    expect(parseMetricQuery(fn('getMetricsForNothing', '2026-12-02T10:00:00Z', '2026-12-02T11:00:00Z'), NOW)).toMatchObject({ ok: false, error: { kind: 'unknown_function' } });
  });
  it.each([
    ['an interval not in 5/10/15/30', fn('getMetricsForMfaSignInSuccess', '2026-12-02T10:00:00Z', '2026-12-02T11:00:00Z', '7')],
    ['a start after the end', fn('getMetricsForMfaSignInSuccess', '2026-12-02T11:00:00Z', '2026-12-02T10:00:00Z')],
    ['a start older than 30 days', fn('getMetricsForMfaSignInSuccess', '2026-10-01T10:00:00Z', '2026-12-02T10:00:00Z')],
    ['a date that is not ISO 8601', fn('getMetricsForMfaSignInSuccess', 'yesterday', '2026-12-02T10:00:00Z')],
    ['a missing parameter', 'getMetricsForMfaSignInSuccess(inclusiveIntervalStartDateTime=2026-12-02T10:00:00Z)'],
    ['an unknown parameter', 'getMetricsForMfaSignInSuccess(inclusiveIntervalStartDateTime=2026-12-02T10:00:00Z,exclusiveIntervalEndDateTime=2026-12-02T11:00:00Z,foo=1)'],
  ])('answers a bad request for %s', (_what, segment) => {
    expect(parseMetricQuery(segment, NOW)).toMatchObject({ ok: false, error: { kind: 'bad_request' } });
  });
});

describe('metricSeries', () => {
  it('sums the right counters per interval, zeros included', () => {
    const q = { name: 'getMetricsForTokenIssuanceFailure', start: Date.UTC(2026, 11, 2, 10), end: Date.UTC(2026, 11, 2, 10, 30), intervalMinutes: 10 };
    const rows = [
      { scenario: 'tokenIssuance' as const, start: Date.UTC(2026, 11, 2, 10, 0), ...counts(5, 1, 2) },
      { scenario: 'tokenIssuance' as const, start: Date.UTC(2026, 11, 2, 10, 5), ...counts(5, 0, 1) },
      { scenario: 'signIn' as const, start: Date.UTC(2026, 11, 2, 10, 5), ...counts(0, 9, 9) },
      { scenario: 'tokenIssuance' as const, start: Date.UTC(2026, 11, 2, 10, 25), ...counts(0, 4, 0) },
      { scenario: 'tokenIssuance' as const, start: Date.UTC(2026, 11, 2, 10, 30), ...counts(0, 100, 0) },
    ];
    expect(metricSeries(q, rows)).toEqual([
      { intervalStartDateTime: '2026-12-02T10:00:00Z', value: 4 },
      { intervalStartDateTime: '2026-12-02T10:10:00Z', value: 0 },
      { intervalStartDateTime: '2026-12-02T10:20:00Z', value: 4 },
    ]);
  });
});
