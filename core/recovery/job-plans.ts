/**
 * The writes a job runner makes, each a pure plan against the committed state so it can be
 * retried safely: a plan for an attempt that is no longer current, or for a job that was
 * cancelled meanwhile, changes nothing.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { ok, type Result } from '../result.js';
import { isTerminal, moved, readJob, type Job, type JobCopy } from './jobs.js';
import { activeJobKey, jobKey } from './keys.js';

type Plan = Result<{ mutations: Mutation[]; reply: Job | undefined }, never>;
const put = (tid: string, job: Job): Mutation => ({ key: jobKey(tid, job.id), value: job as unknown as Json });
const none: Plan = ok({ mutations: [], reply: undefined });

/** (Re)starts the calculation: a new attempt (loading data until the job-start copy is taken). */
export function planStartAttempt(state: StateReader, tid: string, jobId: string): Plan {
  const job = readJob(state, tid, jobId);
  if (job === undefined || !['initialized', 'loadingData', 'calculating'].includes(job.status)) return none;
  const next: Job = { ...job, status: job.asOf !== undefined ? 'calculating' : 'loadingData', attempt: job.attempt + 1 };
  return ok({ mutations: [put(tid, next)], reply: next });
}

const current = (state: StateReader, tid: string, jobId: string, attempt: number): Job | undefined => {
  const job = readJob(state, tid, jobId);
  return job !== undefined && job.attempt === attempt && (job.status === 'loadingData' || job.status === 'calculating') ? job : undefined;
};

/**
 * The copy of the tenant as of the job's start is complete: kept for every later attempt
 * (a restarted calculation compares with the same state), and the job shows `calculating`.
 */
export function planCopyTaken(state: StateReader, tid: string, jobId: string, attempt: number, copy: Omit<JobCopy, 'attempt'>): Plan {
  const job = current(state, tid, jobId, attempt);
  if (job === undefined || job.asOf !== undefined) return none;
  const next: Job = { ...moved(job, 'calculating', 0), asOf: { attempt, ...copy } };
  return ok({ mutations: [put(tid, next)], reply: next });
}

/** The report is complete (its pages in R2 under `attempt`): a preview succeeds; a recovery starts applying it. */
export function planReportDone(state: StateReader, tid: string, jobId: string, attempt: number, totals: { changed: number; links: number; pages: number; buckets: readonly number[] }, now: number): Plan {
  const job = current(state, tid, jobId, attempt);
  if (job === undefined) return none;
  const counted: Job = { ...(job.status === 'calculating' ? job : moved(job, 'calculating', now)), ...totals, reportAttempt: attempt, applyPage: 0, applyIndex: 0 };
  const done = job.kind === 'preview' || totals.changed === 0;
  const next = moved(counted, done ? 'successful' : 'running', now);
  return ok({ mutations: [put(tid, next), ...(done ? [{ key: activeJobKey(tid), value: null }] : [])], reply: next });
}

/** The job cannot go on (its snapshot is unreadable, the feed expired): failed, with why. */
export function planJobFailed(state: StateReader, tid: string, jobId: string, message: string, now: number): Plan {
  const job = readJob(state, tid, jobId);
  if (job === undefined || isTerminal(job.status)) return none;
  const next = moved(job, 'failed', now, message.slice(0, 300));
  return ok({ mutations: [put(tid, next), { key: activeJobKey(tid), value: null }], reply: next });
}
