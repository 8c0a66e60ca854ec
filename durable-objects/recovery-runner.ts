/**
 * Runs a tenant's recovery job from the primary's alarm (core/recovery decides every step):
 * loads the base snapshot from R2 (its tail, then the feed up to the target time for a point
 * in time), streams its chunks into the difference report, writes the report in pages, then,
 * for a recovery, applies it batch by batch through the replicated write path (each batch
 * recorded in the change feed with the job id as correlation). Every step is a write planned
 * against committed state, so a runner that stops anywhere (eviction, failover, R2 down)
 * is resumed by the next alarm: the calculation restarts as a new attempt, the application
 * continues from the last committed batch.
 */
import type { FeedPage } from '../core/feed/cursor.js';
import { recorded, type WriteOrigin } from '../core/feed/record.js';
import { planApplyBatch } from '../core/recovery/apply.js';
import { planJobFailed, planReportDone, planReportPage, planStartAttempt } from '../core/recovery/job-plans.js';
import { activeJob, type Job } from '../core/recovery/jobs.js';
import { Overlay } from '../core/recovery/replay.js';
import { ReportBuilder, type ReportPage } from '../core/recovery/report.js';
import { expiredJobs, planPurgeJobs } from '../core/recovery/retention.js';
import { baseSnapshotFor, type SnapshotInfo } from '../core/recovery/snapshots.js';
import type { Replica } from '../core/replication/replica.js';
import { readTail, streamSnapshot, tenantDataKey, type BackupConfig } from './backup.js';

/** Batches applied per alarm run before yielding (the alarm is set again at once). */
const BATCHES_PER_RUN = 40;
/** Attempts at calculating a report before the job fails (an R2 outage is retried by later alarms). */
const MAX_ATTEMPTS = 5;

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

/** True when the calculation should be tried again by a later alarm. */
async function calculate(d: RunnerDeps, tid: string, job: Job): Promise<boolean> {
  const started = await d.replica.write((s) => planStartAttempt(s, tid, job.id));
  const attempt = started.ok ? started.value.reply?.attempt : undefined;
  if (attempt === undefined) return !started.ok;
  try {
    const base = baseSnapshotFor(d.replica.state, tid, job.targetMs);
    if (base === undefined) throw new Error('no snapshot is kept for the target time');
    const { key } = await tenantDataKey(d.replica, d.cfg, tid);
    const overlay = new Overlay();
    overlay.add(await readTail(key, d.cfg, tid, base));
    await replayToTarget(d, tid, base, job.targetMs, overlay);
    const builder = new ReportBuilder(d.replica.state, tid, job.criteria, overlay);
    // Each full page is written before the builder goes on (memory: a few pages, not the report).
    // A page write that does not commit (not primary, not durable, DO restarting) stops this
    // attempt: a later alarm starts a new one, whose pages replace these (the attempt number in
    // each plan refuses the older one's late writes). A page written twice is the same value.
    // R2 down or slow mid-stream: the read is retried with backoff, then the attempt fails and is
    // retried by a later alarm (MAX_ATTEMPTS, then the job fails with why).
    let stop: 'retry' | 'superseded' | undefined;
    const write = async (pages: Iterable<ReportPage>): Promise<boolean> => {
      for (const p of pages) {
        const r = await d.replica.write((s) => planReportPage(s, tid, job.id, attempt, p.bucket, p.page, p.entries));
        if (!r.ok) stop = 'retry';
        else if (r.value.reply === undefined) stop = 'superseded'; // cancelled, or a newer attempt runs
        if (stop !== undefined) return false;
      }
      return true;
    };
    await streamSnapshot(key, d.cfg, tid, base, (records) => write(builder.add(records)));
    if (stop === undefined) await write(builder.finish());
    if (stop !== undefined) return stop === 'retry';
    const done = await d.replica.write((s) => planReportDone(s, tid, job.id, attempt, builder.totals(), Date.now()));
    return !done.ok;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (attempt < MAX_ATTEMPTS) {
      console.warn('recovery job calculation failed; retrying', job.id, message);
      return true;
    }
    await d.replica.write((s) => planJobFailed(s, tid, job.id, message, Date.now()));
    return false;
  }
}

/** Applies up to BATCHES_PER_RUN batches; what is left. */
async function apply(d: RunnerDeps, tid: string, job: Job): Promise<RunnerLeft> {
  let { applyPage, applyIndex } = job;
  for (let n = 0; n < BATCHES_PER_RUN; n++) {
    const ctx = { tenantId: tid, now: Date.now(), newId: () => crypto.randomUUID() };
    const plan = recorded((s) => planApplyBatch(s, ctx, job.id, applyPage, applyIndex), d.origin(job.id));
    const r = await d.replica.write(plan);
    if (!r.ok) return 'later'; // not durable / not primary: a later alarm (or the new primary's) resumes
    if (!r.value.reply.applied || r.value.reply.done) return undefined;
    const next = activeJob(d.replica.state, tid);
    if (next === undefined || next.id !== job.id) return undefined;
    ({ applyPage, applyIndex } = next);
  }
  return 'now';
}

/** What is left after a run: `now` (more batches: set the alarm at once), `later` (retry a failed calculation), or nothing. */
export type RunnerLeft = 'now' | 'later' | undefined;

/** Purge writes per tenant per alarm run (each bounded: core/recovery/retention.ts). */
const PURGE_WRITES_PER_RUN = 10;

/**
 * Deletes the tenant's jobs past retention. A write that does not commit (not primary, not
 * durable) stops the purge: the next alarm plans it again against committed state.
 */
async function purgeExpired(d: RunnerDeps, tid: string): Promise<boolean> {
  for (let n = 0; n < PURGE_WRITES_PER_RUN; n++) {
    if (expiredJobs(d.replica.state, tid, Date.now()).length === 0) return false;
    const r = await d.replica.write((s) => planPurgeJobs(s, tid, Date.now()));
    if (!r.ok || !r.value.reply.more) return false;
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
    if (job.status !== 'running') retry = (await calculate(d, tid, job)) || retry;
    const now = activeJob(d.replica.state, tid);
    const left = now?.status === 'running' ? await apply(d, tid, now) : undefined;
    more = more || left === 'now';
    retry = retry || left === 'later';
  }
  return more ? 'now' : retry ? 'later' : undefined;
}
