import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../core/kv.js';
import type { Result } from '../../core/result.js';
import { dataKeyKey } from '../../core/recovery/keys.js';
import { tokenTenantIds, tokenTenantKey } from '../../core/token/token-keys.js';
import {
  isDeleted,
  pendingDeletions,
  planDeletionDone,
  planMarkDeletion,
  planPurgeKeys,
  planPurgeProgress,
  readDeletion,
} from '../../core/tenant-deletion.js';

const A = 'tenant-a';
const B = 'tenant-b';
const T0 = Date.UTC(2026, 0, 1);

function seeded(keysPerTenant: number): MemoryState {
  const s = new MemoryState();
  for (const tid of [A, B]) {
    s.apply([{ key: tokenTenantKey(tid), value: { alg: 'RS256' } }, { key: dataKeyKey(tid), value: 'sb1.wrapped' }]);
    s.apply(Array.from({ length: keysPerTenant }, (_, i) => ({ key: `t/${tid}/o/user/${String(i).padStart(5, '0')}`, value: { displayName: `u${i}` } })));
  }
  return s;
}

/** The value of a plan that cannot fail (its error type is `never`). */
function val<T>(r: Result<T, never>): T {
  if (!r.ok) throw new Error('never');
  return r.value;
}

const mark = (s: MemoryState, tid: string, now: number) => {
  const r = val(planMarkDeletion(s, tid, now));
  s.apply(r.mutations);
  return r.reply;
};

/** Runs purge writes as successive alarms would; the number of writes. */
function purgeAll(s: MemoryState, tid: string, limit: number): number {
  for (let n = 1; ; n++) {
    const r = val(planPurgeKeys(s, tid, limit));
    expect(r.mutations.length).toBeLessThanOrEqual(limit + 1);
    s.apply(r.mutations);
    if (!r.reply.more) return n;
  }
}

describe('tenant deletion (core/tenant-deletion.ts)', () => {
  it('the marker write drops the backup data key and the tenant from the cell list, and nothing of another tenant', () => {
    const s = seeded(3);
    const d = mark(s, A, T0);
    expect(d).toMatchObject({ requestedAt: T0, purgedAt: null });
    expect(isDeleted(s, A)).toBe(true);
    expect(isDeleted(s, B)).toBe(false);
    expect(s.get(dataKeyKey(A))).toBeUndefined(); // every snapshot is unreadable from here on
    expect(tokenTenantIds(s)).toEqual([B]); // no alarm duty runs for A any more
    expect(s.get(dataKeyKey(B))).toBe('sb1.wrapped');
    expect(pendingDeletions(s)).toEqual([A]);
  });

  it('a repeated request changes nothing and answers the deletion as it stands', () => {
    const s = seeded(1);
    mark(s, A, T0);
    const again = val(planMarkDeletion(s, A, T0 + 5_000));
    expect(again.mutations).toEqual([]);
    expect(again.reply.requestedAt).toBe(T0);
  });

  it("purges the tenant's cell keys in bounded writes, never those of a tenant that is not marked", () => {
    const s = seeded(1_050);
    expect(val(planPurgeKeys(s, B, 100)).mutations).toEqual([]);
    mark(s, A, T0);
    expect(purgeAll(s, A, 100)).toBe(11);
    expect(s.list(`t/${A}/`)).toEqual([]);
    expect(s.count(`t/${B}/`)).toBe(1_051);
    expect(readDeletion(s, A)?.keysDeleted).toBe(1_050);
  });

  it('is done only once the cell keys are gone and the caller found R2 empty', () => {
    const s = seeded(5);
    mark(s, A, T0);
    expect(planDeletionDone(s, A, T0 + 1, true)).toEqual([]); // keys left
    purgeAll(s, A, 2);
    expect(planDeletionDone(s, A, T0 + 1, false)).toEqual([]); // R2 not empty yet
    s.apply(planDeletionDone(s, A, T0 + 2, true));
    expect(readDeletion(s, A)?.purgedAt).toBe(T0 + 2);
    expect(pendingDeletions(s)).toEqual([]);
    expect(isDeleted(s, A)).toBe(true); // the tombstone stays
  });

  it('a key written after the marker (a write in flight) is purged by a later run before the purge can end', () => {
    const s = seeded(2);
    mark(s, A, T0);
    purgeAll(s, A, 10);
    s.apply([{ key: `t/${A}/fd/000000000009`, value: { late: true } }]);
    expect(planDeletionDone(s, A, T0 + 1, true)).toEqual([]);
    purgeAll(s, A, 10);
    expect(planDeletionDone(s, A, T0 + 1, true)).toHaveLength(1);
  });

  it('records R2 progress and failures for the operator; a planned step replayed on committed state does nothing twice', () => {
    const s = seeded(2);
    mark(s, A, T0);
    s.apply(planPurgeProgress(s, A, 7, null));
    s.apply(planPurgeProgress(s, A, 0, 'object storage unavailable'));
    expect(readDeletion(s, A)).toMatchObject({ objectsDeleted: 7, failures: 1, lastError: 'object storage unavailable' });
    purgeAll(s, A, 10);
    s.apply(planDeletionDone(s, A, T0 + 3, true));
    expect(planDeletionDone(s, A, T0 + 4, true)).toEqual([]);
    expect(val(planPurgeKeys(s, A, 10)).mutations).toEqual([]);
    expect(planPurgeProgress(s, A, 3, null)).toEqual([]);
    expect(readDeletion(s, A)).toMatchObject({ purgedAt: T0 + 3, lastError: null });
  });
});
