/**
 * Runs a tenant's recovery job from the primary's alarm (core/recovery decides every step).
 * A report takes two alarm runs: the first copies the tenant as of one feed position into R2
 * (the job-start copy, made like a snapshot: page by page while writes go on, then the feed
 * records written meanwhile) and records it in the job; the second merges the target state
 * (the base snapshot from R2, rolled forward to the target time by its tail and the feed)
 * with that copy (core/recovery/merge.ts) and writes the report's pages to R2. Only the job
 * record is in the replicated cell. A recovery then applies the report batch by batch
 * through the replicated write path (each batch recorded in the change feed with the job id
 * as correlation), each entry re-planned against the object's state when applied. Every
 * step commits against committed state, so a runner that stops anywhere (eviction,
 * failover, R2 down) is resumed by the next alarm: the calculation restarts as a new
 * attempt (the job-start copy is kept), the application continues from the last batch.
 */
import type { FeedPage } from '../core/feed/cursor.js';
import { recorded, type WriteOrigin } from '../core/feed/record.js';
import { batchPages, planApplyBatch } from '../core/recovery/apply.js';
import { planCopyTaken, planJobFailed, planReportDone, planStartAttempt } from '../core/recovery/job-plans.js';
import { activeJob, readJob, type Job } from '../core/recovery/jobs.js';
import { r2JobCopyChunkKey, r2JobCopyTailKey } from '../core/recovery/keys.js';
import { diffStates, rolledForward } from '../core/recovery/merge.js';
import { Overlay } from '../core/recovery/replay.js';
import { ReportBuilder, ReportPager, type ReportPage, type ReportTotals } from '../core/recovery/report.js';
import { ObjectCache } from '../core/recovery/report-pages.js';
import { expiredJobs, planPurgeJobs } from '../core/recovery/retention.js';
import { baseSnapshotFor, type SnapshotInfo } from '../core/recovery/snapshots.js';
import type { Replica } from '../core/replication/replica.js';
import { isDeleted } from '../core/tenant-deletion.js';
import { copyChunks, copyTenant, readTail, snapshotNames, streamSnapshot, tenantDataKey, type BackupConfig, type CopyNames } from './backup.js';
import { deleteJobObjects, fetchMissing, putReportPage } from './recovery-objects.js';

/** Batches applied per alarm run before yielding (the alarm is set again at once). */
const BATCHES_PER_RUN = 40;
/** Attempts at calculating a report before the job fails (the copy and the report are one each; an R2 outage is retried by later alarms). */
const MAX_ATTEMPTS = 8;

export interface RunnerDeps {
  readonly replica: Replica;
  readonly cfg: BackupConfig;
  readonly origin: (correlationId: string) => WriteOrigin;
  /** The change feed from a position (the cell, then the R2 archive). */
  readonly feed: (tid: string, after: number, limit: number) => Promise<FeedPage>;
}

/**
 * Adds the feed records after the snapshot up to the end of the target second to the overlay,
 * page by page (none when the target is the snapshot itself): the records themselves are not
 * kept, only their recoverable values (core/recovery/replay.ts).
 */
async function replayToTarget(d: RunnerDeps, tid: string, base: SnapshotInfo, targetMs: number, overlay: Overlay): Promise<void> {
  if (targetMs === base.at) return;
  for (let pos = base.seq; ; ) {
    const page = await d.feed(tid, pos, 500);
    if (page.kind !== 'page') throw new Error('the change feed no longer holds the records after the snapshot');
    const upTo = page.records.findIndex((r) => r.at >= targetMs + 1000);
    overlay.add(upTo === -1 ? page.records : page.records.slice(0, upTo));
    if (upTo !== -1 || !page.more || page.records.length === 0) return;
    pos = page.next;
  }
}

const jobCopyNames = (tid: string, jobId: string, attempt: number): CopyNames => ({ chunk: (n) => r2JobCopyChunkKey(tid, jobId, attempt, n), tail: r2JobCopyTailKey(tid, jobId, attempt) });

/** The attempt is still the job's current one (not cancelled, not superseded by a newer runner, the tenant not deleted). */
const stillCurrent = (d: RunnerDeps, tid: string, jobId: string, attempt: number): boolean => {
  const j = readJob(d.replica.state, tid, jobId);
  return j !== undefined && j.attempt === attempt && (j.status === 'loadingData' || j.status === 'calculating') && !isDeleted(d.replica.state, tid);
};

class Superseded extends Error {}

/** The report's pages, each written to R2 before the next is computed; the totals. */
async function writeReport(d: RunnerDeps, tid: string, job: Job, attempt: number, key: CryptoKey, base: SnapshotInfo, target: Overlay): Promise<ReportTotals> {
  const put = async (p: ReportPage) => {
    if (!stillCurrent(d, tid, job.id, attempt)) throw new Superseded();
    await putReportPage(d.cfg, key, tid, job.id, attempt, p.bucket, p.page, p.entries);
  };
  const asOf = job.asOf;
  if (base.ordered === true && asOf !== undefined) {
    const copy = jobCopyNames(tid, job.id, asOf.attempt);
    const current = new Overlay();
    current.add(await readTail(key, d.cfg, copy));
    const pager = new ReportPager();
    const want = rolledForward(copyChunks(key, d.cfg, snapshotNames(tid, base), base.chunks), target);
    const have = rolledForward(copyChunks(key, d.cfg, copy, asOf.chunks), current);
    for await (const p of diffStates(want, have, job.criteria, pager)) await put(p);
    return pager.totals();
  }
  // A base snapshot from before ordered copies: compared with the live state (report.ts).
  const builder = new ReportBuilder(d.replica.state, tid, job.criteria, target);
  await streamSnapshot(key, d.cfg, snapshotNames(tid, base), base.chunks, async (records) => {
    for (const p of builder.add(records)) await put(p);
    return true;
  });
  for (const p of builder.finish()) await put(p);
  return builder.totals();
}

/**
 * One calculation step: the job-start copy (then `now`: the report is the next alarm's
 * step), or the report. `later` when it should be tried again by a later alarm.
 * Pages are written to R2 one at a time as the merge hands them out (memory: a chunk of each
 * side and a few pages, not the report). A write that does not commit (not primary, not
 * durable, DO restarting) ends this attempt: a later alarm starts a new one, whose objects
 * have other names (the attempt is in them), and the attempt number in each plan refuses
 * the older one's late writes. R2 down or slow: each call is retried with backoff, then the
 * attempt fails and a later alarm retries (MAX_ATTEMPTS, then the job fails with why).
 */
async function calculate(d: RunnerDeps, tid: string, job: Job): Promise<RunnerLeft> {
  const started = await d.replica.write((s) => planStartAttempt(s, tid, job.id));
  const now = started.ok ? started.value.reply : undefined;
  if (now === undefined) return started.ok ? undefined : 'later';
  const attempt = now.attempt;
  try {
    const base = baseSnapshotFor(d.replica.state, tid, job.targetMs);
    if (base === undefined) throw new Error('no snapshot is kept for the target time');
    const { key } = await tenantDataKey(d.replica, d.cfg, tid);
    if (base.ordered === true && now.asOf === undefined) {
      const copy = await copyTenant(d.replica, d.cfg, key, tid, jobCopyNames(tid, job.id, attempt));
      const r = await d.replica.write((s) => planCopyTaken(s, tid, job.id, attempt, { fromSeq: copy.fromSeq, seq: copy.seq, chunks: copy.chunks, objects: copy.objects, at: Date.now() }));
      return r.ok ? (r.value.reply === undefined ? undefined : 'now') : 'later';
    }
    const target = new Overlay();
    target.add(await readTail(key, d.cfg, snapshotNames(tid, base)));
    await replayToTarget(d, tid, base, job.targetMs, target);
    const totals = await writeReport(d, tid, now, attempt, key, base, target);
    const done = await d.replica.write((s) => planReportDone(s, tid, job.id, attempt, totals, Date.now()));
    return done.ok ? undefined : 'later';
  } catch (e) {
    if (e instanceof Superseded) return undefined;
    const message = e instanceof Error ? e.message : String(e);
    if (attempt < MAX_ATTEMPTS) {
      console.warn('recovery job calculation failed; retrying', job.id, message);
      return 'later';
    }
    await d.replica.write((s) => planJobFailed(s, tid, job.id, message, Date.now()));
    return undefined;
  } finally {
    // Objects written after the tenant's deletion listed its prefix: removed here (best effort; the purge lists again until empty).
    if (isDeleted(d.replica.state, tid)) await deleteJobObjects(d.cfg.bucket, tid, job.id).catch(() => undefined);
  }
}

/** Applies up to BATCHES_PER_RUN batches; what is left. */
async function apply(d: RunnerDeps, tid: string, job: Job): Promise<RunnerLeft> {
  let { applyPage, applyIndex } = job;
  // The report pages the batches read, fetched from R2 before each batch is planned (a plan reads synchronously).
  const pages = new ObjectCache();
  for (let n = 0; n < BATCHES_PER_RUN; n++) {
    for (const name of batchPages(d.replica.state, tid, job.id, applyPage, applyIndex)) pages.get(name);
    try {
      await fetchMissing(d.cfg, d.replica.state, tid, pages);
    } catch (e) {
      console.warn('recovery job: report pages unavailable; retrying', job.id, e instanceof Error ? e.message : String(e));
      return 'later';
    }
    const ctx = { tenantId: tid, now: Date.now(), newId: () => crypto.randomUUID() };
    const plan = recorded((s) => planApplyBatch(s, ctx, job.id, applyPage, applyIndex, pages), d.origin(job.id));
    const r = await d.replica.write(plan);
    if (!r.ok) return 'later'; // not durable / not primary: a later alarm (or the new primary's) resumes
    if (r.value.reply.needs !== undefined) continue; // the job moved meanwhile: fetch what it reads now
    if (!r.value.reply.applied || r.value.reply.done) return undefined;
    const next = activeJob(d.replica.state, tid);
    if (next === undefined || next.id !== job.id) return undefined;
    ({ applyPage, applyIndex } = next);
  }
  return 'now';
}

/** What is left after a run: `now` (more batches: set the alarm at once), `later` (retry a failed calculation), or nothing. */
export type RunnerLeft = 'now' | 'later' | undefined;

/** Expired jobs whose R2 objects are deleted per tenant per alarm run. */
const JOBS_CLEARED_PER_RUN = 5;
/** Purge writes per tenant per alarm run (each bounded: core/recovery/retention.ts). */
const PURGE_WRITES_PER_RUN = 10;

/**
 * Deletes the tenant's jobs past retention. A write that does not commit (not primary, not
 * durable) stops the purge: the next alarm plans it again against committed state.
 */
async function purgeExpired(d: RunnerDeps, tid: string): Promise<boolean> {
  // R2 first (a job's record goes last): a job whose objects could not be deleted stays for the next alarm.
  const cleared = new Set<string>();
  const attempted = expiredJobs(d.replica.state, tid, Date.now()).slice(0, JOBS_CLEARED_PER_RUN);
  for (const job of attempted) {
    try {
      await deleteJobObjects(d.cfg.bucket, tid, job.id);
      cleared.add(job.id);
    } catch (e) {
      console.warn('expired recovery job: R2 objects not deleted; retrying', job.id, e instanceof Error ? e.message : String(e));
    }
  }
  if (cleared.size === 0) return false;
  for (let n = 0; n < PURGE_WRITES_PER_RUN; n++) {
    const r = await d.replica.write((s) => planPurgeJobs(s, tid, Date.now(), undefined, undefined, (j) => cleared.has(j.id)));
    if (!r.ok) return false;
    // More now only beyond the jobs whose R2 deletion just failed (those wait for a later alarm).
    if (!r.value.reply.more) return expiredJobs(d.replica.state, tid, Date.now()).length > attempted.length - cleared.size;
  }
  return true;
}

/** Runs the unfinished job of each tenant, and purges finished ones past retention. */
export async function runRecoveryJobs(d: RunnerDeps, tenantIds: readonly string[]): Promise<RunnerLeft> {
  let more = false;
  let retry = false;
  for (const tid of tenantIds) {
    more = (await purgeExpired(d, tid)) || more;
    const job = activeJob(d.replica.state, tid);
    if (job === undefined) continue;
    const calculated = job.status !== 'running' ? await calculate(d, tid, job) : undefined;
    const now = activeJob(d.replica.state, tid);
    const left = now?.status === 'running' ? await apply(d, tid, now) : undefined;
    more = more || left === 'now' || calculated === 'now';
    retry = retry || left === 'later' || calculated === 'later';
  }
  return more ? 'now' : retry ? 'later' : undefined;
}
