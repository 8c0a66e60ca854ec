/** Replicated keys of backup and recovery (docs/storage-schema.md), all under `t/{tid}/bk/`. */
const DIGITS = 6;
const pad = (n: number) => String(n).padStart(DIGITS, '0');
const base = (tid: string) => `t/${tid}/bk/`;

/** Snapshot index entry (`SnapshotInfo`), one per snapshot kept; the id sorts by time. */
export const snapshotPrefix = (tid: string) => `${base(tid)}snap/`;
export const snapshotKey = (tid: string, iso: string) => `${snapshotPrefix(tid)}${iso}`;
/** The tenant's backup data key, wrapped under BACKUP_KEY_ENCRYPTION_KEY. */
export const dataKeyKey = (tid: string) => `${base(tid)}key`;
/** Outcome of the last scheduled snapshot attempt (`SnapshotStatus`), for the operator. */
export const snapshotStatusKey = (tid: string) => `${base(tid)}status`;
export const jobPrefix = (tid: string) => `${base(tid)}job/`;
export const jobKey = (tid: string, jobId: string) => `${jobPrefix(tid)}${jobId}`;
/** The id of the tenant's job that is not finished (one at a time). */
export const activeJobKey = (tid: string) => `${base(tid)}active`;
/** Pages of a job's difference report (`ChangeEntry[]`, at most CHANGE_PAGE each), one run of pages per bucket (report-pages.ts). */
export const changePagePrefix = (tid: string, jobId: string) => `${base(tid)}chg/${jobId}/`;
export const changePageKey = (tid: string, jobId: string, bucket: number, page: number) => `${changePagePrefix(tid, jobId)}${bucket}/${pad(page)}`;
/** A page of a report written before buckets (one run of pages): still read for a job recorded then. */
export const legacyChangePageKey = (tid: string, jobId: string, page: number) => `${changePagePrefix(tid, jobId)}${pad(page)}`;
export const failedPagePrefix = (tid: string, jobId: string) => `${base(tid)}fail/${jobId}/`;
export const failedPageKey = (tid: string, jobId: string, page: number) => `${failedPagePrefix(tid, jobId)}${pad(page)}`;

/**
 * R2 layout (bucket BACKUPS), all under the tenant's prefix `snap/{tid}/` (what a tenant's
 * deletion purges): snapshots `snap/{tid}/{iso}/manifest.json`, `.../{n}.bin` chunks,
 * `.../tail.bin`; recovery jobs `snap/{tid}/job/{jobId}/a{attempt}/` (r2JobAttemptPrefix).
 */
export const r2SnapshotPrefix = (tid: string, iso: string) => `snap/${tid}/${iso}/`;
export const r2TenantPrefix = (tid: string) => `snap/${tid}/`;
export const r2ChunkKey = (tid: string, iso: string, n: number) => `${r2SnapshotPrefix(tid, iso)}${pad(n)}.bin`;
export const r2TailKey = (tid: string, iso: string) => `${r2SnapshotPrefix(tid, iso)}tail.bin`;
export const r2ManifestKey = (tid: string, iso: string) => `${r2SnapshotPrefix(tid, iso)}manifest.json`;

/** A job's objects (every attempt): deleted with the job (retention) or the tenant. */
export const r2JobPrefix = (tid: string, jobId: string) => `${r2TenantPrefix(tid)}job/${jobId}/`;
/** One calculation attempt's objects: its copy of the tenant at the job's start, and its report pages. */
export const r2JobAttemptPrefix = (tid: string, jobId: string, attempt: number) => `${r2JobPrefix(tid, jobId)}a${attempt}/`;
/** The copy of the tenant as of the job's start: chunks `cur/{n}.bin` and the feed records written meanwhile, `cur/tail.bin`. */
export const r2JobCopyChunkKey = (tid: string, jobId: string, attempt: number, n: number) => `${r2JobAttemptPrefix(tid, jobId, attempt)}cur/${pad(n)}.bin`;
export const r2JobCopyTailKey = (tid: string, jobId: string, attempt: number) => `${r2JobAttemptPrefix(tid, jobId, attempt)}cur/tail.bin`;
/** A difference-report page (`ChangeEntry[]`, at most CHANGE_PAGE): one object per (bucket, page), the same name when written again. */
export const r2ReportPageKey = (tid: string, jobId: string, attempt: number, bucket: number, page: number) => `${r2JobAttemptPrefix(tid, jobId, attempt)}chg/${bucket}/${pad(page)}.bin`;
