/** A directory with its change feed, as the primary writes it, for the recovery tests. */
import { planWrite } from '../../../core/directory/index.js';
import { readFeed } from '../../../core/feed/cursor.js';
import { recorded, type FeedRecord } from '../../../core/feed/record.js';
import { copyPage, type CopyCursor, type ObjectRecord } from '../../../core/recovery/model.js';
import { planApplyBatch } from '../../../core/recovery/apply.js';
import { parseCriteria } from '../../../core/recovery/criteria.js';
import { planReportDone, planReportPage, planStartAttempt } from '../../../core/recovery/job-plans.js';
import { readJob } from '../../../core/recovery/jobs.js';
import { Overlay } from '../../../core/recovery/replay.js';
import { ReportBuilder, type ReportPage } from '../../../core/recovery/report.js';
import { planRecordSnapshot } from '../../../core/recovery/snapshots.js';
import { snapshotIdOf } from '../../../core/recovery/snapshot-id.js';
import { Harness, type Body } from '../directory/harness.js';

export class FeedHarness extends Harness {
  /** Plans a Graph write with its feed record and applies it. */
  fw(method: string, path: string, body?: unknown): Body {
    const plan = recorded((s) => planWrite(s, this.req(method, path, body), this.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: this.now });
    const r = plan(this.state);
    if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(r.error)}`);
    this.state.apply(r.value.mutations);
    this.now += 1000;
    return (r.value.reply.body ?? {}) as Body;
  }

  records(after: number): FeedRecord[] {
    const out: FeedRecord[] = [];
    for (let pos = after; ; ) {
      const page = readFeed(this.state, this.tenantId, pos);
      if (page.kind !== 'page') throw new Error('feed expired');
      out.push(...page.records);
      if (!page.more) return out;
      pos = page.next;
    }
  }

  /** Every record of a copy, page by page (`between` runs after each page: writes during the copy). */
  copyAll(pageSize = 1000, between: () => void = () => {}): ObjectRecord[] {
    const out: ObjectRecord[] = [];
    for (let c: CopyCursor | null = { source: 0, after: null }; c !== null; ) {
      const page = copyPage(this.state, this.tenantId, c, pageSize);
      out.push(...page.records);
      c = page.next;
      between();
    }
    return out;
  }
}

/** A job of `kind` run to its end as the runner does it: pages written as the builder hands them out, then applied batch by batch. */
export function runJob(h: FeedHarness, kind: 'preview' | 'recovery', snapshot: readonly ObjectRecord[], at: number, seq: number, body?: unknown, overlay = new Overlay()): { jobId: string; maxHeld: number } {
  const tid = h.tenantId;
  h.state.apply(planRecordSnapshot(h.state, tid, { at, fromSeq: seq, seq, chunks: 1, objects: snapshot.length, bytes: 1, totalChangedObjects: 0 }, 5).mutations);
  const created = h.ok('POST', `/directory/recovery/snapshots/${snapshotIdOf(at)}/${kind === 'preview' ? 'recoveryPreviewJobs' : 'recoveryJobs'}`, body);
  const jobId = String(created['id']);
  const start = planStartAttempt(h.state, tid, jobId);
  h.state.apply(start.ok ? start.value.mutations : []);
  const attempt = readJob(h.state, tid, jobId)!.attempt;
  const criteria = parseCriteria(body);
  if (!criteria.ok) throw new Error(criteria.error);
  const b = new ReportBuilder(h.state, tid, criteria.value, overlay);
  let maxHeld = 0;
  const write = (pages: Iterable<ReportPage>) => {
    for (const p of pages) {
      maxHeld = Math.max(maxHeld, b.held + p.entries.length);
      const r = planReportPage(h.state, tid, jobId, attempt, p.bucket, p.page, p.entries);
      h.state.apply(r.ok ? r.value.mutations : []);
    }
  };
  for (let i = 0; i < snapshot.length; i += 1000) write(b.add(snapshot.slice(i, i + 1000)));
  write(b.finish());
  const done = planReportDone(h.state, tid, jobId, attempt, b.totals(), h.now);
  h.state.apply(done.ok ? done.value.mutations : []);
  for (let guard = 0; guard < 10_000; guard++) {
    const job = readJob(h.state, tid, jobId)!;
    if (job.status !== 'running') break;
    const r = planApplyBatch(h.state, h.ctx, jobId, job.applyPage, job.applyIndex);
    if (!r.ok) throw new Error('plan failed');
    h.state.apply(r.value.mutations);
  }
  return { jobId, maxHeld };
}
