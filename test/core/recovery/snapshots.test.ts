import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { baseSnapshotFor, dailyOffsetMs, DAY_MS, listSnapshots, nextDueAt, planRecordSnapshot, planSnapshotFailure, readStatus } from '../../../core/recovery/snapshots.js';

const TID = 'tenant-1';
const T0 = Date.UTC(2026, 0, 1);
const info = (at: number) => ({ at, fromSeq: 0, seq: at / 1000, chunks: 1, objects: 1, bytes: 1, totalChangedObjects: 0 });

describe('snapshot index, retention and schedule (core/recovery/snapshots.ts)', () => {
  it('keeps the snapshots of the retention window and names the dropped ones for R2 deletion', () => {
    const s = new MemoryState();
    for (let d = 0; d < 8; d++) {
      const planned = planRecordSnapshot(s, TID, info(T0 + d * DAY_MS), 5);
      s.apply(planned.mutations);
      if (d >= 5) expect(planned.dropped.map((x) => x.at)).toEqual([T0 + (d - 5) * DAY_MS]);
    }
    expect(listSnapshots(s, TID).map((x) => (x.at - T0) / DAY_MS)).toEqual([3, 4, 5, 6, 7]);
  });

  it('picks the newest snapshot at or before a target time (point in time)', () => {
    const s = new MemoryState();
    for (const d of [0, 1, 2]) s.apply(planRecordSnapshot(s, TID, info(T0 + d * DAY_MS), 5).mutations);
    expect(baseSnapshotFor(s, TID, T0 + DAY_MS + 5_000)?.at).toBe(T0 + DAY_MS);
    expect(baseSnapshotFor(s, TID, T0 - 1)).toBeUndefined();
  });

  it("spreads tenants over the day and is due a day after the last snapshot; failures are kept for the operator", () => {
    const s = new MemoryState();
    const first = nextDueAt(s, TID, T0);
    expect(first).toBeGreaterThan(T0);
    expect(first - T0).toBeLessThanOrEqual(DAY_MS + dailyOffsetMs(TID));
    expect(new Set(['a', 'b', 'c', 'd', 'e'].map(dailyOffsetMs)).size).toBeGreaterThan(1);
    s.apply(planRecordSnapshot(s, TID, info(first), 5).mutations);
    const next = nextDueAt(s, TID, first + 1000);
    expect(next - first).toBeGreaterThanOrEqual(DAY_MS - 3_600_000);
    expect(next - first).toBeLessThanOrEqual(DAY_MS);
    s.apply([planSnapshotFailure(s, TID, next, 'object storage unavailable')]);
    expect(readStatus(s, TID)).toMatchObject({ failures: 1, lastError: 'object storage unavailable', lastSuccessAt: first });
  });
});
