/**
 * How long finished jobs are kept. Entra documents no retention for recovery jobs; Tessera keeps
 * a finished job (its record, difference report — R2 — and failed changes) 30 days after it ended, as
 * long as Entra keeps directory audit logs: the writes a recovery made stay findable in the audit
 * log under the job's correlation id for as long as the job itself. The primary's alarm purges
 * expired jobs, R2 objects first (durable-objects/recovery-runner.ts), then cell keys in bounded
 * writes (pages first, the record last), so a purge cut short by an
 * eviction or a failover is simply resumed by the next alarm, and one replayed after an unknown
 * outcome deletes keys that are already gone (nothing happens twice).
 */
import type { Mutation, StateReader } from '../kv.js';
import { ok, type Result } from '../result.js';
import { DAY_MS } from './snapshots.js';
import { isTerminal, readJob, type Job } from './jobs.js';
import { changePagePrefix, failedPagePrefix, jobKey, jobPrefix } from './keys.js';

export const JOB_RETENTION_DAYS = 30;
export const JOB_RETENTION_MS = JOB_RETENTION_DAYS * DAY_MS;
/** Keys deleted per replicated write (a report of 100k entries has 1000 pages). */
export const PURGE_KEYS_PER_WRITE = 200;

export const isExpired = (job: Job, now: number, retentionMs: number): boolean => isTerminal(job.status) && job.endMs !== null && job.endMs + retentionMs <= now;

/** The tenant's jobs that ended more than `retentionMs` ago. */
export function expiredJobs(state: StateReader, tid: string, now: number, retentionMs = JOB_RETENTION_MS): Job[] {
  return state
    .list(jobPrefix(tid))
    .map(([k]) => readJob(state, tid, k.slice(k.lastIndexOf('/') + 1)))
    .filter((j): j is Job => j !== undefined && isExpired(j, now, retentionMs));
}

export interface PurgeOutcome {
  readonly purgedJobs: number;
  /** True when expired jobs (or their pages) are left for another write. */
  readonly more: boolean;
}

/**
 * One bounded purge write: cell pages of expired jobs, and each job's record once its pages
 * are gone. `ready` names the jobs whose R2 objects (job-start copy, report pages) the glue
 * has deleted: only those are purged, so a job's record outlives its objects.
 */
export function planPurgeJobs(
  state: StateReader,
  tid: string,
  now: number,
  retentionMs = JOB_RETENTION_MS,
  limit = PURGE_KEYS_PER_WRITE,
  ready: (job: Job) => boolean = () => true,
): Result<{ mutations: Mutation[]; reply: PurgeOutcome }, never> {
  const mutations: Mutation[] = [];
  let purgedJobs = 0;
  for (const job of expiredJobs(state, tid, now, retentionMs).filter(ready)) {
    const room = limit - mutations.length - 1; // one left for the job's record
    if (room < 0) return ok({ mutations, reply: { purgedJobs, more: true } });
    const pages = [...state.list(changePagePrefix(tid, job.id), { limit: room + 1 }), ...state.list(failedPagePrefix(tid, job.id), { limit: room + 1 })];
    for (const [k] of pages.slice(0, room)) mutations.push({ key: k, value: null });
    if (pages.length > room) return ok({ mutations, reply: { purgedJobs, more: true } });
    mutations.push({ key: jobKey(tid, job.id), value: null });
    purgedJobs++;
  }
  return ok({ mutations, reply: { purgedJobs, more: false } });
}
