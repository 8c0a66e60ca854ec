/**
 * Graph handlers of `/directory/recovery/...` (microsoft.graph.entraRecoveryServices), pure
 * over replicated state (the snapshot index, job records, failed changes) and, for a
 * difference report, its pages in R2 as the read glue fetched them (`ctx.objects`). Creating a job only records it; the primary's alarm runs it (runner glue
 * in durable-objects/recovery-runner.ts).
 */
import type { Json, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { badRequest } from '../directory/errors.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest, JsonObject, WritePlan } from '../directory/types.js';
import { parseCriteria } from './criteria.js';
import { activeJob, isTerminal, jobJson, moved, newJob, readJob, wantsUnknownEnumMembers, type Job, type JobKind } from './jobs.js';
import type { ChangeEntry } from './diff.js';
import { activeJobKey, jobKey, jobPrefix } from './keys.js';
import { readFailed, readReport, reportSource } from './report-pages.js';
import { baseSnapshotFor, listSnapshots, snapshotAt, snapshotJson } from './snapshots.js';
import { timeOfSnapshotId } from './snapshot-id.js';

export { CHANGE_PAGE } from './report-pages.js';
const DEFAULT_TOP = 100;
const MAX_TOP = 999;
const ENTRY_PROPS = ['id', 'entityTypeName', 'displayName', 'recoveryAction', 'failureMessage', 'deltaFromCurrent', 'currentState'];

const invalidSnapshot = (id: string): GraphError => ({ kind: 'not_found', message: `'${id.slice(0, 80)}' is not a valid timestamp for recovery.`, code: 'ResourceNotFound' });
const jobNotFound = (id: string): GraphError => ({ kind: 'not_found', message: `Recovery job '${id.slice(0, 80)}' was not found.`, code: 'ResourceNotFound' });
const context = (req: GraphRequest, path: string): string => `${req.baseUrl}/$metadata#${path}`;
const includeUnknown = (req: GraphRequest): boolean => wantsUnknownEnumMembers(req.prefer);

export function listSnapshotsRoute(s: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  const value = listSnapshots(s, ctx.tenantId).reverse().map(snapshotJson);
  return ok({ status: 200, body: { '@odata.context': context(req, 'directory/recovery/snapshots'), value } });
}

export function getSnapshotRoute(s: StateReader, req: GraphRequest, ctx: GraphContext, id: string): Result<GraphReply, GraphError> {
  const ms = timeOfSnapshotId(id);
  const snap = ms === undefined ? undefined : snapshotAt(s, ctx.tenantId, ms);
  if (snap === undefined) return err(invalidSnapshot(id));
  return ok({ status: 200, body: { '@odata.context': context(req, 'directory/recovery/snapshots/$entity'), ...(snapshotJson(snap) as JsonObject) } });
}

/**
 * POST .../snapshots/{id}/recoveryPreviewJobs | recoveryJobs. The id may name a kept snapshot
 * or (point in time, beyond Entra) any second between the oldest kept snapshot and now.
 */
export function createJobRoute(kind: JobKind) {
  return (s: StateReader, req: GraphRequest, ctx: GraphContext, snapshotId: string): Result<WritePlan, GraphError> => {
    const tid = ctx.tenantId;
    const ms = timeOfSnapshotId(snapshotId);
    if (ms === undefined || ms > ctx.now || baseSnapshotFor(s, tid, ms) === undefined) return err(invalidSnapshot(snapshotId));
    const criteria = parseCriteria(req.body);
    if (!criteria.ok) return err(badRequest(criteria.error));
    const running = activeJob(s, tid);
    if (running !== undefined) return err({ kind: 'conflict', message: `Recovery job '${running.id}' is still running: one job per tenant at a time.`, code: 'Conflict' });
    const job = newJob(ctx.newId(), kind, snapshotId, ms, criteria.value, ctx.now);
    const path = `directory/recovery/snapshots/${encodeURIComponent(snapshotId)}/${kind === 'preview' ? 'recoveryPreviewJobs' : 'recoveryJobs'}/${job.id}`;
    return ok({
      mutations: [{ key: jobKey(tid, job.id), value: job as unknown as Json }, { key: activeJobKey(tid), value: job.id }],
      reply: { status: 202, headers: { Location: `${req.baseUrl}/${path}` }, body: { '@odata.context': context(req, `${path.slice(0, path.lastIndexOf('/'))}/$entity`), ...jobJson(job, includeUnknown(req)) } },
    });
  };
}

function ownJob(s: StateReader, tid: string, jobId: string, kind: JobKind | undefined): Result<Job, GraphError> {
  const job = readJob(s, tid, jobId);
  return job === undefined || (kind !== undefined && job.kind !== kind) ? err(jobNotFound(jobId)) : ok(job);
}

export function getJobRoute(kind: JobKind | undefined) {
  return (s: StateReader, req: GraphRequest, ctx: GraphContext, jobId: string): Result<GraphReply, GraphError> => {
    const job = ownJob(s, ctx.tenantId, jobId, kind);
    if (!job.ok) return job;
    return ok({ status: 200, body: { '@odata.context': context(req, 'directory/recovery/jobs/$entity'), ...jobJson(job.value, includeUnknown(req)) } });
  };
}

/** GET /directory/recovery/jobs (newest first), or one snapshot's jobs of one kind. */
export function listJobsRoute(kind: JobKind | undefined) {
  return (s: StateReader, req: GraphRequest, ctx: GraphContext, snapshotId?: string): Result<GraphReply, GraphError> => {
    const jobs = s.list(jobPrefix(ctx.tenantId)).map(([k]) => readJob(s, ctx.tenantId, k.slice(k.lastIndexOf('/') + 1))).filter((j): j is Job => j !== undefined);
    const value = jobs
      .filter((j) => (kind === undefined || j.kind === kind) && (snapshotId === undefined || j.snapshotId === snapshotId))
      .sort((a, b) => b.startMs - a.startMs)
      .map((j) => jobJson(j, includeUnknown(req)));
    return ok({ status: 200, body: { '@odata.context': context(req, 'directory/recovery/jobs'), value } });
  };
}

/** POST /directory/recovery/jobs/{id}/cancel: abandoned; changes already applied stay. */
export function cancelJobRoute(s: StateReader, _req: GraphRequest, ctx: GraphContext, jobId: string): Result<WritePlan, GraphError> {
  const job = ownJob(s, ctx.tenantId, jobId, undefined);
  if (!job.ok) return job;
  if (isTerminal(job.value.status)) return err(badRequest(`Recovery job '${jobId}' has already ended (${job.value.status}).`, 'BadRequest'));
  const abandoned = moved(job.value, 'abandoned', ctx.now);
  return ok({ mutations: [{ key: jobKey(ctx.tenantId, jobId), value: abandoned as unknown as Json }, { key: activeJobKey(ctx.tenantId), value: null }], reply: { status: 202 } });
}

interface Paging {
  readonly top: number;
  readonly skip: number;
  readonly select: string[] | undefined;
}

function parsePaging(query: Record<string, string>): Result<Paging, GraphError> {
  for (const k of Object.keys(query)) if (!['$top', '$skip', '$select'].includes(k)) return err(badRequest(`Query option '${k.slice(0, 40)}' is not supported on this function.`));
  const num = (v: string | undefined, d: number) => (v === undefined ? d : /^\d{1,9}$/.test(v) ? Number(v) : NaN);
  const top = num(query['$top'], DEFAULT_TOP);
  const skip = num(query['$skip'], 0);
  if (!Number.isFinite(top) || top < 1 || top > MAX_TOP) return err(badRequest(`$top must be between 1 and ${MAX_TOP}.`));
  if (!Number.isFinite(skip)) return err(badRequest('$skip must be a non-negative integer.'));
  const raw = query['$select'];
  const select = raw === undefined ? undefined : raw.split(',').map((x) => x.trim());
  const bad = select?.find((x) => !ENTRY_PROPS.includes(x));
  if (bad !== undefined) return err(badRequest(`Could not find a property named '${bad.slice(0, 40)}' on type 'directoryObjectChange'.`));
  return ok({ top, skip, select });
}

function pageOf(req: GraphRequest, read: (from: number, count: number) => readonly ChangeEntry[], total: number, paging: Paging): JsonObject {
  const value: Json[] = [];
  for (const e of read(paging.skip, Math.max(0, Math.min(total, paging.skip + paging.top) - paging.skip))) {
    const entry = e as unknown as JsonObject;
    value.push(paging.select === undefined ? entry : Object.fromEntries(Object.entries(entry).filter(([k]) => k === 'id' || paging.select!.includes(k))));
  }
  const body: JsonObject = { '@odata.context': `${req.baseUrl}/$metadata#Collection(microsoft.graph.entraRecoveryServices.directoryObjectChange)`, value };
  const next = paging.skip + paging.top;
  if (next < total) {
    const q = new URLSearchParams({ ...(paging.select !== undefined ? { $select: paging.select.join(',') } : {}), $top: String(paging.top), $skip: String(next) });
    body['@odata.nextLink'] = `${req.baseUrl}${req.path}?${q.toString()}`;
  }
  return body;
}

/** GET .../recoveryPreviewJobs/{id}/getChanges: the difference report, once the job succeeded. */
export function getChangesRoute(s: StateReader, req: GraphRequest, ctx: GraphContext, jobId: string): Result<GraphReply, GraphError> {
  const job = ownJob(s, ctx.tenantId, jobId, 'preview');
  if (!job.ok) return job;
  if (job.value.status !== 'successful') return err(badRequest(`The difference report of job '${jobId}' is available once the job is successful (it is ${job.value.status}).`, 'BadRequest'));
  const paging = parsePaging(req.query);
  if (!paging.ok) return paging;
  // The pages are in R2: only a caller that fetches them (the cell's read glue) can answer.
  const source = reportSource(s, ctx.objects, job.value);
  if (source === undefined) return err({ kind: 'behind', message: 'The difference report cannot be read here.' });
  return ok({ status: 200, body: pageOf(req, (from, n) => readReport(source, ctx.tenantId, job.value, from, n), job.value.changed, paging.value) });
}

/** GET .../recoveryJobs/{id}/getFailedChanges: changes recovery could not apply, with why. */
export function getFailedChangesRoute(s: StateReader, req: GraphRequest, ctx: GraphContext, jobId: string): Result<GraphReply, GraphError> {
  const job = ownJob(s, ctx.tenantId, jobId, 'recovery');
  if (!job.ok) return job;
  const paging = parsePaging(req.query);
  if (!paging.ok) return paging;
  return ok({ status: 200, body: pageOf(req, (from, n) => readFailed(s, ctx.tenantId, job.value, from, n), job.value.failed, paging.value) });
}
