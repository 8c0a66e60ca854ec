import { describe, expect, it } from 'vitest';
import type { Json } from '../../../core/kv.js';
import { MemoryState } from '../../../core/kv.js';
import { parseCriteria } from '../../../core/recovery/criteria.js';
import { moved, newJob, readJob, type Job } from '../../../core/recovery/jobs.js';
import { changePageKey, failedPageKey, jobKey } from '../../../core/recovery/keys.js';
import { DAY_MS } from '../../../core/recovery/snapshots.js';
import { expiredJobs, JOB_RETENTION_MS, planPurgeJobs } from '../../../core/recovery/retention.js';

const TID = 'tenant-1';
const T0 = Date.UTC(2025, 0, 1);

function withJob(state: MemoryState, id: string, end: number | null, pages: number): Job {
  const all = parseCriteria(undefined);
  if (!all.ok) throw new Error(all.error);
  const started = { ...newJob(id, 'recovery', 'x', T0, all.value, T0), status: 'running' as const };
  const job = end === null ? started : moved(started, 'successful', end);
  state.apply([
    { key: jobKey(TID, id), value: job as unknown as Json },
    ...Array.from({ length: pages }, (_, p) => ({ key: changePageKey(TID, id, 1, p), value: [] })),
    { key: failedPageKey(TID, id, 0), value: [] },
  ]);
  return job;
}

/** Runs purge writes until nothing is left, as successive alarms would; the number of writes. */
function purgeAll(state: MemoryState, now: number, limit: number): number {
  for (let n = 1; ; n++) {
    const r = planPurgeJobs(state, TID, now, JOB_RETENTION_MS, limit);
    if (!r.ok) throw new Error('never');
    expect(r.value.mutations.length).toBeLessThanOrEqual(limit);
    state.apply(r.value.mutations);
    if (!r.value.reply.more) return n;
  }
}

describe('job retention (core/recovery/retention.ts)', () => {
  it('keeps a finished job 30 days after it ended, then purges its record and pages', () => {
    const state = new MemoryState();
    withJob(state, 'old', T0, 3);
    withJob(state, 'recent', T0 + 20 * DAY_MS, 2);
    withJob(state, 'running', null, 1);
    const clock = T0 + 30 * DAY_MS - 1;
    expect(expiredJobs(state, TID, clock)).toEqual([]);
    const now = clock + 1;
    expect(expiredJobs(state, TID, now).map((j) => j.id)).toEqual(['old']);
    purgeAll(state, now, 200);
    expect(readJob(state, TID, 'old')).toBeUndefined();
    expect(state.list(`t/${TID}/bk/chg/old/`)).toEqual([]);
    expect(state.list(`t/${TID}/bk/fail/old/`)).toEqual([]);
    expect(readJob(state, TID, 'recent')).toBeDefined();
    expect(readJob(state, TID, 'running')).toBeDefined();
    // An unfinished job never expires, however old.
    purgeAll(state, T0 + 365 * DAY_MS, 200);
    expect(readJob(state, TID, 'running')).toBeDefined();
    expect(readJob(state, TID, 'recent')).toBeUndefined();
  });

  it('purges a large report in bounded writes, the record last, and a replayed write changes nothing', () => {
    const state = new MemoryState();
    withJob(state, 'big', T0, 45);
    const now = T0 + 31 * DAY_MS;
    const first = planPurgeJobs(state, TID, now, JOB_RETENTION_MS, 10);
    if (!first.ok) throw new Error('never');
    state.apply(first.value.mutations);
    expect(first.value.reply).toEqual({ purgedJobs: 0, more: true });
    expect(readJob(state, TID, 'big')).toBeDefined(); // still there: the next alarm finds it expired and goes on
    state.apply(first.value.mutations); // the same write again (unknown outcome, retried)
    expect(state.list(`t/${TID}/bk/chg/big/`)).toHaveLength(36);
    expect(purgeAll(state, now, 10)).toBe(5);
    expect(state.list(`t/${TID}/bk/`)).toEqual([]);
  });

  it("purges only the jobs whose R2 objects the glue has deleted: a job's record outlives its objects", () => {
    const state = new MemoryState();
    withJob(state, 'cleared', T0, 2);
    withJob(state, 'kept', T0, 2);
    const now = T0 + 31 * DAY_MS;
    const r = planPurgeJobs(state, TID, now, JOB_RETENTION_MS, 200, (j) => j.id === 'cleared');
    if (!r.ok) throw new Error('never');
    state.apply(r.value.mutations);
    expect(r.value.reply).toEqual({ purgedJobs: 1, more: false });
    expect(readJob(state, TID, 'cleared')).toBeUndefined();
    expect(readJob(state, TID, 'kept')).toBeDefined(); // R2 not cleared (down): the next alarm tries again
    expect(state.list(`t/${TID}/bk/chg/kept/`)).toHaveLength(2);
  });
});
