/**
 * Recovery jobs (a difference report — `recoveryPreviewJob` — or a recovery — `recoveryJob`):
 * the record kept in the replicated cell, its state machine, and its Graph shape. Graph's
 * `recoveryStatus` is an evolvable enum: `calculating` and `loadingData` come after
 * `unknownFutureValue`, so only a caller that sent `Prefer: include-unknown-enum-members`
 * sees them; others see `unknownFutureValue`.
 */
import type { Json, StateReader } from '../kv.js';
import { criteriaJson, type Criteria } from './criteria.js';
import { activeJobKey, jobKey } from './keys.js';
import { isoSeconds } from './snapshot-id.js';

export type JobKind = 'preview' | 'recovery';
export type JobStatus = 'initialized' | 'loadingData' | 'calculating' | 'running' | 'successful' | 'failed' | 'abandoned';

const TERMINAL: readonly JobStatus[] = ['successful', 'failed', 'abandoned'];
/** Allowed moves: forward through the phases; any unfinished job may fail or be abandoned. */
const NEXT: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  initialized: ['loadingData', 'failed', 'abandoned'],
  loadingData: ['calculating', 'failed', 'abandoned'],
  calculating: ['successful', 'running', 'loadingData', 'failed', 'abandoned'],
  running: ['successful', 'failed', 'abandoned'],
  successful: [],
  failed: [],
  abandoned: [],
};

export const isTerminal = (s: JobStatus): boolean => TERMINAL.includes(s);
export const canMove = (from: JobStatus, to: JobStatus): boolean => NEXT[from].includes(to);

export interface Job {
  readonly id: string;
  readonly kind: JobKind;
  /** The snapshot id of the URL (the target time, base64). */
  readonly snapshotId: string;
  readonly targetMs: number;
  readonly status: JobStatus;
  readonly startMs: number;
  readonly endMs: number | null;
  readonly criteria: Criteria;
  /** Difference report: entries and pages written, links counted. */
  readonly changed: number;
  readonly links: number;
  readonly pages: number;
  /** Entries per bucket (core/recovery/report-pages.ts), set when the report is complete. */
  readonly buckets?: readonly number[];
  /** Recovery progress: the next entry to apply (page, index in page). */
  readonly applyPage: number;
  readonly applyIndex: number;
  readonly modified: number;
  readonly linksModified: number;
  readonly failed: number;
  /** Bumped each time a runner (re)starts the calculation; writes of an older attempt are refused. */
  readonly attempt: number;
  /** The copy of the tenant as of the job's start (R2, under the attempt that made it): what the report compares the target with. */
  readonly asOf?: JobCopy;
  /** The attempt whose report pages are in R2 (core/recovery/keys.ts); absent: a report kept in the cell (jobs from before). */
  readonly reportAttempt?: number;
  readonly error: string | null;
}

/** Where the job-start copy is and the feed position it is consistent as of. */
export interface JobCopy {
  readonly attempt: number;
  readonly fromSeq: number;
  readonly seq: number;
  readonly chunks: number;
  readonly objects: number;
  /** When the copy ended (epoch ms): the report shows the state as of then. */
  readonly at: number;
}

export function readJob(state: StateReader, tid: string, jobId: string): Job | undefined {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(jobId)) return undefined;
  const v = state.get(jobKey(tid, jobId));
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v['status'] === 'string' ? (v as unknown as Job) : undefined;
}

/** The tenant's unfinished job, if any. */
export function activeJob(state: StateReader, tid: string): Job | undefined {
  const id = state.get(activeJobKey(tid));
  const job = typeof id === 'string' ? readJob(state, tid, id) : undefined;
  return job !== undefined && !isTerminal(job.status) ? job : undefined;
}

export function newJob(id: string, kind: JobKind, snapshotId: string, targetMs: number, criteria: Criteria, now: number): Job {
  return {
    id, kind, snapshotId, targetMs, status: 'initialized', startMs: now, endMs: null, criteria, changed: 0, links: 0, pages: 0,
    applyPage: 0, applyIndex: 0, modified: 0, linksModified: 0, failed: 0, attempt: 0, error: null,
  };
}

/** The job moved to `to` (ended when terminal); unchanged when the move is not allowed. */
export function moved(job: Job, to: JobStatus, now: number, error: string | null = null): Job {
  if (!canMove(job.status, to)) return job;
  return { ...job, status: to, ...(isTerminal(to) ? { endMs: now } : {}), ...(error !== null ? { error } : {}) };
}

export { wantsUnknownEnumMembers } from '../directory/evolvable-enums.js';

/** `status` as the caller may see it. */
export function wireStatus(s: JobStatus, includeUnknown: boolean): string {
  if (s === 'calculating' || s === 'loadingData') return includeUnknown ? s : 'unknownFutureValue';
  return s;
}

export function jobJson(job: Job, includeUnknown: boolean): { [k: string]: Json } {
  const base: { [k: string]: Json } = {
    '@odata.type': `#microsoft.graph.entraRecoveryServices.${job.kind === 'preview' ? 'recoveryPreviewJob' : 'recoveryJob'}`,
    id: job.id,
    status: wireStatus(job.status, includeUnknown),
    targetStateDateTime: isoSeconds(job.targetMs),
    jobStartDateTime: new Date(job.startMs).toISOString(),
    jobCompletionDateTime: job.endMs === null ? null : new Date(job.endMs).toISOString(),
    filteringCriteria: criteriaJson(job.criteria),
    totalChangedObjectsCalculated: job.changed,
    totalChangedLinksCalculated: job.links,
  };
  if (job.kind === 'preview') return base;
  return { ...base, totalObjectsModified: job.modified, totalLinksModified: job.linksModified, totalFailedChanges: job.failed };
}
