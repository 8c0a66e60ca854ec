import { describe, expect, it } from 'vitest';
import { BUCKET_MS, bucketStart, flushDelay, monthOf, OutcomeBatch } from '../../../core/outcomes/buckets.js';

const T0 = Date.UTC(2026, 11, 2, 10, 7, 30);
const ok = { scenario: 'tokenIssuance', outcome: 'success', caBlocked: false } as const;
const fail = { scenario: 'tokenIssuance', outcome: 'serviceFailure', caBlocked: false } as const;

describe('outcome buckets', () => {
  it('aligns buckets to 5-minute UTC boundaries and months to UTC', () => {
    expect(bucketStart(T0)).toBe(Date.UTC(2026, 11, 2, 10, 5));
    expect(monthOf(Date.UTC(2026, 10, 30, 23, 59, 59))).toBe('2026-11');
    expect(monthOf(Date.UTC(2026, 11, 1))).toBe('2026-12');
  });

  it('merges outcomes of one tenant, region, scenario and bucket into one row', () => {
    const b = new OutcomeBatch(100);
    b.add('t1', 'weur', ok, T0);
    b.add('t1', 'weur', ok, T0 + 1000);
    b.add('t1', 'weur', fail, T0 + 2000);
    b.add('t1', 'weur', ok, T0 + BUCKET_MS);
    b.add('t2', 'weur', ok, T0);
    const rows = b.drain();
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.tenantId === 't1' && r.start === bucketStart(T0))).toMatchObject({ success: 2, serviceFailure: 1, callerError: 0 });
    expect(b.size).toBe(0);
    expect(b.since).toBeUndefined();
  });

  it('drops new rows past its bound instead of growing', () => {
    const b = new OutcomeBatch(2);
    b.add('t1', 'weur', ok, T0);
    b.add('t2', 'weur', ok, T0);
    b.add('t3', 'weur', ok, T0);
    b.add('t1', 'weur', ok, T0);
    expect(b.size).toBe(2);
    expect(b.drain().find((r) => r.tenantId === 't1')?.success).toBe(2);
  });

  it('flushes at most maxAge after the first unflushed outcome, at once when full', () => {
    const b = new OutcomeBatch(10);
    expect(flushDelay(b, T0, 5000, 5)).toBeUndefined();
    b.add('t1', 'weur', ok, T0);
    expect(flushDelay(b, T0 + 1000, 5000, 5)).toBe(4000);
    expect(flushDelay(b, T0 + 9000, 5000, 5)).toBe(0);
    for (const t of ['a', 'b', 'c', 'd']) b.add(t, 'weur', ok, T0);
    expect(flushDelay(b, T0 + 1000, 5000, 5)).toBe(0);
  });
});
