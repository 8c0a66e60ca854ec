/**
 * Where a difference report lives: pages of at most CHANGE_PAGE entries in the cell, written
 * while the report is built (never the whole report in memory). Entries go to one of four
 * buckets by the order recovery applies them — object restores (memberships and assignments
 * come back with them), object updates, grants and app role assignments (re-created once their
 * client, resource and principal are back), object soft deletions — and each bucket is its own
 * run of pages. The report read in order is bucket 0's pages, then bucket 1's, and so on: a
 * position in it maps to (bucket, page, index) through the job's per-bucket counts.
 */
import type { Json, StateReader } from '../kv.js';
import type { ChangeEntry } from './diff.js';
import type { Job } from './jobs.js';
import { changePageKey, failedPageKey, legacyChangePageKey } from './keys.js';
import { isRelationship } from './model.js';

export const CHANGE_PAGE = 100;
export const BUCKETS = 4;

export function bucketOf(e: Pick<ChangeEntry, 'entityTypeName' | 'recoveryAction'>): number {
  if (isRelationship(e.entityTypeName)) return 2;
  return e.recoveryAction === 'restore' ? 0 : e.recoveryAction === 'update' ? 1 : 3;
}

const asEntries = (v: Json | undefined): ChangeEntry[] => (Array.isArray(v) ? (v as unknown as ChangeEntry[]) : []);

/** Entries per bucket (a job recorded before buckets: one run of pages, in the legacy layout). */
const bucketCounts = (job: Job): readonly number[] => job.buckets ?? [job.changed];
const pageKey = (tid: string, job: Job, bucket: number, page: number): string =>
  job.buckets === undefined ? legacyChangePageKey(tid, job.id, page) : changePageKey(tid, job.id, bucket, page);

/** Up to `count` report entries from position `from`, in report order (reads at most a few pages). */
export function readReport(state: StateReader, tid: string, job: Job, from: number, count: number): ChangeEntry[] {
  const out: ChangeEntry[] = [];
  let start = 0;
  const counts = bucketCounts(job);
  for (let b = 0; b < counts.length && out.length < count; b++) {
    const n = counts[b]!;
    for (let i = Math.max(from + out.length, start) - start; i < n && out.length < count; ) {
      const page = Math.floor(i / CHANGE_PAGE);
      const entries = asEntries(state.get(pageKey(tid, job, b, page)));
      const take = entries.slice(i - page * CHANGE_PAGE, i - page * CHANGE_PAGE + Math.min(count - out.length, n - i));
      if (take.length === 0) return out; // a page missing: the report is damaged; read what is there
      out.push(...take);
      i += take.length;
    }
    start += n;
  }
  return out;
}

/** Up to `count` failed changes from position `from` (one run of pages, appended in order). */
export function readFailed(state: StateReader, tid: string, job: Job, from: number, count: number): ChangeEntry[] {
  const out: ChangeEntry[] = [];
  for (let i = from; i < Math.min(job.failed, from + count); ) {
    const page = Math.floor(i / CHANGE_PAGE);
    const take = asEntries(state.get(failedPageKey(tid, job.id, page))).slice(i - page * CHANGE_PAGE, i - page * CHANGE_PAGE + from + count - i);
    if (take.length === 0) break;
    out.push(...take);
    i += take.length;
  }
  return out;
}
