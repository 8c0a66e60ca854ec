/**
 * Where a difference report lives: pages of at most CHANGE_PAGE entries in R2 (encrypted,
 * keys.ts r2ReportPageKey), written while the report is built (never the whole report in
 * memory, and no replicated write per page: only the job record is in the cell). Jobs
 * recorded before kept their pages in the cell, and are still read from there. Entries go to one of four
 * buckets by the order recovery applies them — object restores (memberships and assignments
 * come back with them), object updates, grants and app role assignments (re-created once their
 * client, resource and principal are back), object soft deletions — and each bucket is its own
 * run of pages. The report read in order is bucket 0's pages, then bucket 1's, and so on: a
 * position in it maps to (bucket, page, index) through the job's per-bucket counts.
 */
import type { Json, StateReader } from '../kv.js';
import type { ChangeEntry } from './diff.js';
import type { Job } from './jobs.js';
import { changePageKey, failedPageKey, legacyChangePageKey, r2ReportPageKey } from './keys.js';
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
  job.reportAttempt !== undefined
    ? r2ReportPageKey(tid, job.id, job.reportAttempt, bucket, page)
    : job.buckets === undefined
      ? legacyChangePageKey(tid, job.id, page)
      : changePageKey(tid, job.id, bucket, page);

/**
 * Objects kept outside the cell (R2) that a pure read asks for by name. The glue fetches
 * (and decrypts) the names asked for and runs the read again; `undefined` until then.
 */
export interface StoredObjects {
  get(key: string): Json | undefined;
}

/** Objects fetched so far, and the names asked for that are not (yet). */
export class ObjectCache implements StoredObjects {
  private readonly map = new Map<string, Json>();
  readonly missing = new Set<string>();

  get(key: string): Json | undefined {
    if (this.map.has(key)) return this.map.get(key);
    this.missing.add(key);
    return undefined;
  }

  /** `null`: no such object (a damaged report reads as far as it goes). */
  put(key: string, value: Json): void {
    this.map.set(key, value);
    this.missing.delete(key);
  }
}

/** How a job's report pages are read: from R2 (through `objects`) or, for a job from before, from the cell. */
export function reportSource(state: StateReader, objects: StoredObjects | undefined, job: Job): ((key: string) => Json | undefined) | undefined {
  // A cell page is there or not (`null`: a damaged report ends the read), never "not fetched yet".
  if (job.reportAttempt === undefined) return (k) => state.get(k) ?? null;
  return objects === undefined ? undefined : (k) => objects.get(k);
}

/**
 * Up to `count` report entries from position `from`, in report order (reads at most a few
 * pages). A page not fetched yet (`undefined`) is passed over, so one pass names every page
 * the read needs; a page that is missing or short (`null`, damaged) ends the read there.
 */
export function readReport(read: (key: string) => Json | undefined, tid: string, job: Job, from: number, count: number): ChangeEntry[] {
  const out: ChangeEntry[] = [];
  let got = 0; // entries read or passed over
  let start = 0;
  const counts = bucketCounts(job);
  for (let b = 0; b < counts.length && got < count; b++) {
    const n = counts[b]!;
    for (let i = Math.max(from + got, start) - start; i < n && got < count; ) {
      const page = Math.floor(i / CHANGE_PAGE);
      const at = i - page * CHANGE_PAGE;
      const want = Math.min(count - got, n - i, CHANGE_PAGE - at);
      const raw = read(pageKey(tid, job, b, page));
      if (raw === undefined) {
        got += want;
        i += want;
        continue;
      }
      const take = asEntries(raw).slice(at, at + want);
      if (take.length === 0) return out; // a page missing: the report is damaged; read what is there
      out.push(...take);
      got += take.length;
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
