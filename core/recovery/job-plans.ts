/**
 * The writes a job runner makes, each a pure plan against the committed state so it can be
 * retried safely: a plan for an attempt that is no longer current, or for a job that was
 * cancelled meanwhile, changes nothing.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { ok, type Result } from '../result.js';
import type { ChangeEntry } from './diff.js';
import { isTerminal, moved, readJob, type Job } from './jobs.js';
import { activeJobKey, changePageKey, jobKey } from './keys.js';

type Plan = Result<{ mutations: Mutation[]; reply: Job | undefined }, never>;
const put = (tid: string, job: Job): Mutation => ({ key: jobKey(tid, job.id), value: job as unknown as Json });
const none: Plan = ok({ mutations: [], reply: undefined });

/** (Re)starts the calculation: a new attempt, loading data. */
export function planStartAttempt(state: StateReader, tid: string, jobId: string): Plan {
  const job = readJob(state, tid, jobId);
  if (job === undefined || !['initialized', 'loadingData', 'calculating'].includes(job.status)) return none;
  const next: Job = { ...job, status: 'loadingData', attempt: job.attempt + 1 };
  return ok({ mutations: [put(tid, next)], reply: next });
}

const current = (state: StateReader, tid: string, jobId: string, attempt: number): Job | undefined => {
  const job = readJob(state, tid, jobId);
  return job !== undefined && job.attempt === attempt && (job.status === 'loadingData' || job.status === 'calculating') ? job : undefined;
};

/** One page of the difference report (the job shows `calculating` from the first one). */
export function planReportPage(state: StateReader, tid: string, jobId: string, attempt: number, bucket: number, page: number, entries: readonly ChangeEntry[]): Plan {
  const job = current(state, tid, jobId, attempt);
  if (job === undefined) return none;
  const next = job.status === 'calculating' ? job : moved(job, 'calculating', 0);
  return ok({ mutations: [{ key: changePageKey(tid, jobId, bucket, page), value: entries as unknown as Json }, ...(next !== job ? [put(tid, next)] : [])], reply: next });
}

/** The report is complete: a preview succeeds; a recovery starts applying it. */
export function planReportDone(state: StateReader, tid: string, jobId: string, attempt: number, totals: { changed: number; links: number; pages: number; buckets: readonly number[] }, now: number): Plan {
  const job = current(state, tid, jobId, attempt);
  if (job === undefined) return none;
  const counted: Job = { ...(job.status === 'calculating' ? job : moved(job, 'calculating', now)), ...totals, applyPage: 0, applyIndex: 0 };
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
