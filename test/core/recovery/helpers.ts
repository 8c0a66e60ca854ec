/** A directory with its change feed, as the primary writes it, for the recovery tests. */
import { planWrite } from '../../../core/directory/index.js';
import { readFeed } from '../../../core/feed/cursor.js';
import { recorded, type FeedRecord } from '../../../core/feed/record.js';
import { copyPage, type CopyCursor, type ObjectRecord } from '../../../core/recovery/model.js';
import { planApplyBatch } from '../../../core/recovery/apply.js';
import { parseCriteria } from '../../../core/recovery/criteria.js';
import { planReportDone, planStartAttempt } from '../../../core/recovery/job-plans.js';
import { readJob } from '../../../core/recovery/jobs.js';
import { Overlay } from '../../../core/recovery/replay.js';
import { ReportPager, type ReportPage, type ReportTotals } from '../../../core/recovery/report.js';
import { diffStates, rolledForward } from '../../../core/recovery/merge.js';
import { r2ReportPageKey } from '../../../core/recovery/keys.js';
import { ObjectCache } from '../../../core/recovery/report-pages.js';
import type { Json } from '../../../core/kv.js';
import type { GraphContext } from '../../../core/directory/types.js';
import { planRecordSnapshot } from '../../../core/recovery/snapshots.js';
import { snapshotIdOf } from '../../../core/recovery/snapshot-id.js';
import { Harness, type Body } from '../directory/harness.js';

export class FeedHarness extends Harness {
  /** What the runner keeps in R2 (report pages), by name, as the read glue hands it to core (decrypted). */
  readonly r2 = new Map<string, Json>();

  /** Reads see the R2 objects as the glue fetches them (an absent one as null). */
  override get ctx(): GraphContext {
    return { ...super.ctx, objects: { get: (k) => this.r2.get(k) ?? null } };
  }

  /** The R2 objects as a runner's batch fetches them. */
  pages(): ObjectCache {
    const c = new ObjectCache();
    for (const [k, v] of this.r2) c.put(k, v);
    return c;
  }

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

/** Records as chunks of `size`, the way a copy is streamed back from R2. */
export async function* chunksOf(records: readonly ObjectRecord[], size = 1000): AsyncGenerator<readonly ObjectRecord[]> {
  for (let i = 0; i < records.length; i += size) yield records.slice(i, i + size);
}

/**
 * The report's pages as the runner computes them: the target (`snapshot` rolled forward by
 * `overlay`) merged with `current` (a copy of the state as of the job's start, rolled forward
 * by `currentOverlay`).
 */
export async function mergeReport(snapshot: readonly ObjectRecord[], current: readonly ObjectRecord[], body?: unknown, overlay = new Overlay(), currentOverlay = new Overlay(), pager = new ReportPager(), onPage: (p: ReportPage) => void = () => {}): Promise<{ pages: ReportPage[]; totals: ReportTotals }> {
  const criteria = parseCriteria(body);
  if (!criteria.ok) throw new Error(criteria.error);
  const pages: ReportPage[] = [];
  for await (const p of diffStates(rolledForward(chunksOf(snapshot), overlay), rolledForward(chunksOf(current), currentOverlay), criteria.value, pager)) {
    onPage(p);
    pages.push(p);
  }
  return { pages, totals: pager.totals() };
}

/** Records a snapshot at `at` and creates a job on it; the job's id and its first attempt. */
export function startJob(h: FeedHarness, kind: 'preview' | 'recovery', snapshotObjects: number, at: number, seq: number, body?: unknown): { jobId: string; attempt: number } {
  const tid = h.tenantId;
  h.state.apply(planRecordSnapshot(h.state, tid, { at, fromSeq: seq, seq, chunks: 1, objects: snapshotObjects, bytes: 1, totalChangedObjects: 0, ordered: true }, 5).mutations);
  const created = h.ok('POST', `/directory/recovery/snapshots/${snapshotIdOf(at)}/${kind === 'preview' ? 'recoveryPreviewJobs' : 'recoveryJobs'}`, body);
  const jobId = String(created['id']);
  const start = planStartAttempt(h.state, tid, jobId);
  h.state.apply(start.ok ? start.value.mutations : []);
  return { jobId, attempt: readJob(h.state, tid, jobId)!.attempt };
}

/** Stores an attempt's pages where the runner puts them (R2, here `h.r2`) and completes the report. */
export function finishReport(h: FeedHarness, jobId: string, attempt: number, pages: readonly ReportPage[], totals: ReportTotals): void {
  for (const p of pages) h.r2.set(r2ReportPageKey(h.tenantId, jobId, attempt, p.bucket, p.page), p.entries as unknown as Json);
  const done = planReportDone(h.state, h.tenantId, jobId, attempt, totals, h.now);
  h.state.apply(done.ok ? done.value.mutations : []);
}

/** Applies a running job batch by batch, its report pages read from `h.r2`. */
export function applyAll(h: FeedHarness, jobId: string): void {
  for (let guard = 0; guard < 10_000; guard++) {
    const job = readJob(h.state, h.tenantId, jobId)!;
    if (job.status !== 'running') break;
    const r = planApplyBatch(h.state, h.ctx, jobId, job.applyPage, job.applyIndex, h.pages());
    if (!r.ok) throw new Error('plan failed');
    h.state.apply(r.value.mutations);
    if (r.value.reply.done) break;
  }
}

/**
 * A job of `kind` run to its end as the runner does it: the state copied at its start, the
 * report merged page by page, then applied batch by batch.
 */
export async function runJob(h: FeedHarness, kind: 'preview' | 'recovery', snapshot: readonly ObjectRecord[], at: number, seq: number, body?: unknown, overlay = new Overlay()): Promise<{ jobId: string; maxHeld: number }> {
  const { jobId, attempt } = startJob(h, kind, snapshot.length, at, seq, body);
  const pager = new ReportPager();
  let maxHeld = 0;
  const { pages, totals } = await mergeReport(snapshot, h.copyAll(), body, overlay, new Overlay(), pager, (p) => (maxHeld = Math.max(maxHeld, pager.held + p.entries.length)));
  finishReport(h, jobId, attempt, pages, totals);
  applyAll(h, jobId);
  return { jobId, maxHeld };
}
