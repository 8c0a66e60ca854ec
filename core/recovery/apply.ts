/**
 * Applying a recovery job, one batch per replicated write. Each entry of the difference
 * report is re-planned against the state when it is applied (an object edited since the
 * report gets its delta recomputed) through the ordinary Graph write rules (validation,
 * unique values, indexes, recycle bin), so recovery can do nothing a Graph client could not.
 * The job's progress commits in the same write as the batch's changes: a batch whose write
 * is retried after an unknown outcome finds the progress moved and does nothing (idempotent),
 * and a runner that restarts (eviction, failover) resumes where the last commit left off.
 * A grant or app role assignment is re-created with its own id: one already back (an earlier
 * attempt, or its service principal's restore reattached it) is found and left alone, never
 * created twice; one whose client, resource or principal is gone for good is a failed change.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { OverlayReader } from '../kv.js';
import { ok, type Result } from '../result.js';
import { internalRequest, planWrite } from '../directory/index.js';
import type { GraphContext, GraphError, GraphRequest } from '../directory/types.js';
import type { ChangeEntry } from './diff.js';
import { moved, readJob, type Job } from './jobs.js';
import { activeJobKey, failedPageKey, jobKey } from './keys.js';
import { currentRecord, isRelationship, isSingleton, type EntityType, type ObjectRecord } from './model.js';
import { CHANGE_PAGE, readReport, reportSource, type ObjectCache } from './report-pages.js';

type Obj = { [k: string]: Json };

const COLLECTION: Readonly<Record<Exclude<EntityType, 'authorizationPolicy' | 'authenticationMethodPolicy' | 'organization' | 'appRoleAssignment'>, string>> = {
  oAuth2PermissionGrant: '/oauth2PermissionGrants',
  user: '/users', group: '/groups', application: '/applications', servicePrincipal: '/servicePrincipals',
  conditionalAccessPolicy: '/identity/conditionalAccess/policies', namedLocationPolicy: '/identity/conditionalAccess/namedLocations',
};

function binPath(t: EntityType, id: string): string {
  if (t === 'conditionalAccessPolicy') return `/identity/conditionalAccess/deletedItems/policies/${id}/restore`;
  if (t === 'namedLocationPolicy') return `/identity/conditionalAccess/deletedItems/namedLocations/${id}/restore`;
  return `/directory/deletedItems/${id}/restore`;
}

function objectPath(t: EntityType, id: string, tid: string, now: ObjectRecord): string {
  // An assignment is reached from its resource (Graph's appRoleAssignedTo).
  if (t === 'appRoleAssignment') return `/servicePrincipals/${String(now.props['resourceId'])}/appRoleAssignedTo/${id}`;
  if (t === 'authorizationPolicy') return '/policies/authorizationPolicy';
  if (t === 'authenticationMethodPolicy') return '/policies/authenticationMethodsPolicy';
  if (t === 'organization') return `/organization/${tid}`;
  return `${COLLECTION[t]}/${id}`;
}

const same = (a: Json | undefined, b: Json | undefined): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const asObj = (v: Json | undefined): Obj | undefined => (v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined);

interface Step {
  readonly request: GraphRequest;
  readonly link: boolean;
  readonly restore?: true;
  /** The id a re-created relationship gets back (its own). */
  readonly id?: string;
}

/** Re-creating a relationship deleted since the target, with its id and values, through its Graph POST. */
function recreate(e: ChangeEntry): Step[] {
  const d = e.deltaFromCurrent;
  const body: Obj = {};
  for (const [k, v] of Object.entries(d)) if (k !== '@odata.type') body[k] = v;
  const path = e.entityTypeName === 'appRoleAssignment' ? `/servicePrincipals/${String(d['resourceId'])}/appRoleAssignedTo` : '/oauth2PermissionGrants';
  return [{ request: internalRequest('POST', path, body), link: false, id: e.id }];
}

/** The Graph writes that bring the object to the entry's target, computed against `state` now. */
export function stepsFor(state: StateReader, tid: string, e: ChangeEntry): Step[] {
  const t = e.entityTypeName;
  const now = currentRecord(state, tid, t, e.id);
  if (now === undefined) return isRelationship(t) && e.recoveryAction === 'restore' ? recreate(e) : [];
  const path = objectPath(t, e.id, tid, now);
  if (e.recoveryAction === 'softDelete') return now.deleted || isSingleton(t) ? [] : [{ request: internalRequest('DELETE', path), link: false }];
  // Restore first, alone: the rest is planned against the restored object (memberships back).
  if (now.deleted) return e.recoveryAction === 'restore' ? [{ request: internalRequest('POST', binPath(t, e.id), {}), link: false, restore: true }] : [];
  const steps: Step[] = [];
  const body: Obj = {};
  for (const [k, v] of Object.entries(e.deltaFromCurrent)) {
    if (k === '@odata.type' || k === 'members@delta') continue;
    // Of a relationship only a grant's scope changes in place (the rest names it: it was re-created or is as it was).
    if (isRelationship(t) && k !== 'scope') continue;
    if (!same(v, now.props[k])) body[k] = v;
  }
  if (Object.keys(body).length > 0) steps.push({ request: internalRequest('PATCH', path, body), link: false });
  const links = e.deltaFromCurrent['members@delta'];
  const members = new Set((now.members ?? []).map((m) => m.id));
  for (const l of Array.isArray(links) ? links : []) {
    const link = asObj(l);
    const mid = link?.['id'];
    if (link === undefined || typeof mid !== 'string') continue;
    const removed = link['@removed'] !== undefined;
    if (removed && members.has(mid)) steps.push({ request: internalRequest('DELETE', `/groups/${e.id}/members/${mid}/$ref`), link: true });
    if (!removed && !members.has(mid)) steps.push({ request: internalRequest('POST', `/groups/${e.id}/members/$ref`, { '@odata.id': `https://graph.invalid/v1.0/directoryObjects/${mid}` }), link: true });
  }
  return steps;
}

/** How much of the job one batch covers (entries, and writes planned). */
export const APPLY_BATCH = 25;

export interface BatchOutcome {
  /** False when the job had moved on (applied by an earlier attempt, cancelled): nothing done. */
  readonly applied: boolean;
  readonly done: boolean;
  /** Report pages (R2 names) the batch needs that `objects` does not hold: fetch them and plan again. */
  readonly needs?: readonly string[];
}

/** The names of the report pages the batch at (`page`, `index`) reads (none for a report kept in the cell). */
export function batchPages(state: StateReader, tid: string, jobId: string, page: number, index: number): string[] {
  const job = readJob(state, tid, jobId);
  if (job === undefined || job.reportAttempt === undefined) return [];
  const names: string[] = [];
  readReport((k) => void names.push(k), tid, job, page * CHANGE_PAGE + index, APPLY_BATCH);
  return names;
}

const asEntries = (v: Json | undefined): ChangeEntry[] => (Array.isArray(v) ? (v as unknown as ChangeEntry[]) : []);

/**
 * The next batch of job `jobId`, planned only if the job still stands at (`page`, `index`).
 * Steps that fail (a value taken meanwhile, a member gone) are listed in getFailedChanges.
 */
export function planApplyBatch(state: StateReader, ctx: GraphContext, jobId: string, page: number, index: number, objects?: ObjectCache): Result<{ mutations: Mutation[]; reply: BatchOutcome }, GraphError> {
  const tid = ctx.tenantId;
  const job = readJob(state, tid, jobId);
  if (job === undefined || job.status !== 'running' || job.applyPage !== page || job.applyIndex !== index) return ok({ mutations: [], reply: { applied: false, done: true } });
  const source = reportSource(state, objects, job);
  const from = page * CHANGE_PAGE + index;
  const batch = source === undefined ? [] : readReport(source, tid, job, from, APPLY_BATCH);
  // Pages not fetched: nothing planned (a damaged report, below, is one whose pages are fetched and short).
  const needs = source === undefined ? batchPages(state, tid, jobId, page, index) : [...(objects?.missing ?? [])];
  if (needs.length > 0) return ok({ mutations: [], reply: { applied: false, done: false, needs } });
  const overlay = new OverlayReader(state);
  const mutations: Mutation[] = [];
  const failures: ChangeEntry[] = [];
  let modified = 0;
  let links = 0;
  for (const e of batch) {
    let changedObject = false;
    let steps = stepsFor(overlay, tid, e);
    while (steps.length > 0) {
      let failed = false;
      for (const step of steps) {
        const planned = planWrite(overlay, step.request, step.id === undefined ? ctx : { ...ctx, newId: () => step.id! });
        if (!planned.ok) {
          failures.push({ ...e, failureMessage: planned.error.message });
          failed = true;
          break;
        }
        for (const m of planned.value.mutations) overlay.stage(m);
        mutations.push(...planned.value.mutations);
        if (step.link) links++;
        else changedObject = true;
      }
      steps = !failed && steps.length === 1 && steps[0]!.restore === true ? stepsFor(overlay, tid, e) : [];
    }
    if (changedObject) modified++;
  }
  // A damaged report (a page missing) ends the job rather than looping on it.
  const pos = batch.length === 0 ? job.changed : from + batch.length;
  const p = Math.floor(pos / CHANGE_PAGE);
  const i = pos - p * CHANGE_PAGE;
  const done = p * CHANGE_PAGE + i >= job.changed;
  let next: Job = { ...job, applyPage: p, applyIndex: i, modified: job.modified + modified, linksModified: job.linksModified + links, failed: job.failed + failures.length };
  if (done) next = moved(next, 'successful', ctx.now);
  mutations.push({ key: jobKey(tid, jobId), value: next as unknown as Json }, ...failedPages(state, tid, job, failures));
  if (done) mutations.push({ key: activeJobKey(tid), value: null });
  return ok({ mutations, reply: { applied: true, done } });
}

/** Appends failures to the job's failed-change pages. */
function failedPages(state: StateReader, tid: string, job: Job, failures: readonly ChangeEntry[]): Mutation[] {
  const pages = new Map<number, ChangeEntry[]>();
  let n = job.failed;
  for (const f of failures) {
    const page = Math.floor(n / CHANGE_PAGE);
    if (!pages.has(page)) pages.set(page, [...asEntries(state.get(failedPageKey(tid, job.id, page)))]);
    pages.get(page)!.push(f);
    n++;
  }
  return [...pages].map(([page, list]) => ({ key: failedPageKey(tid, job.id, page), value: list as unknown as Json }));
}
