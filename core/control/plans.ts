import type { Mutation, StateReader } from '../kv.js';
import { OverlayReader } from '../kv.js';
import { IDEMPOTENCY_TTL_MS, SEALED_OUTCOME_TTL_MS } from '../idempotency.js';
import type { PlacementPolicy } from '../placement.js';
import { placeTenant } from '../placement.js';
import type { Region } from '../regions.js';
import { regionsFrom } from '../regions.js';
import { foundingVoters } from '../replication/membership.js';
import type { Result } from '../result.js';
import { err, ok } from '../result.js';
import type { CellPlacement, ControlTenant, RequestRecord, TenantStatus } from './state.js';
import { bumpRev, domainKey, IMPORTED_KEY, putCell, putTenant, readCell, readCells, readRequest, readSealed, readTenant, requestKey, sealedKey, tenantKey } from './state.js';

/**
 * The control writes (issue 11), as pure plans run at the control cell's primary under its write
 * mutex (CellReplica `control`). Each is safe to run again after an unknown fate: a retry finds
 * its own effect and answers from it (a reservation by its request id and tenant id, an
 * activation or deletion by the tenant's status), so nothing happens twice. A plan that changes
 * nothing answers without a write (`err`: the replication layer commits nothing for it, and an
 * answer drawn from an earlier plan of the same round waits for that round's fate).
 */

export interface ReserveInput {
  id: string;
  displayName: string;
  homeRegion: Region;
  domain: string | null;
  now: number;
  /** The creation's idempotency ticket: a retry gets the first request's tenant back. */
  request?: { id: string; bodyHash: string };
  /** Deployment configuration, the same at every edge: regions, voters per new cell, placement policy. */
  regions: Region[];
  voters: number;
  policy: PlacementPolicy;
}

/**
 * How long a reservation may stay `provisioning`: well past the edge's whole creation path
 * (reserve, the 12 s write budget of the tenant's directory, activate, each routed within its
 * budget), so a live creation never meets it. Past it the reservation is dead (its edge crashed, or
 * its activation or abandon never reached the control cell): activation is refused, and the next
 * reservation of its request or domain, or a deletion, abandons it.
 */
export const RESERVATION_DEADLINE_MS = 5 * 60_000;

const expired = (t: ControlTenant, now: number) => t.status === 'provisioning' && t.createdAt + RESERVATION_DEADLINE_MS <= now;

export type ControlOp =
  | { op: 'reserve'; input: ReserveInput }
  | { op: 'activate'; tenantId: string; now: number; requestId?: string; sealed?: string }
  | { op: 'abandon'; tenantId: string; requestId?: string }
  | { op: 'delete'; tenantId: string; now: number }
  | { op: 'import'; tenants: ControlTenant[]; cells: CellPlacement[]; done: boolean; requests?: LegacyRequest[] };

/** A creation request `global` recorded before the control cell (its `tenant_requests` row), younger than 24 h. */
export interface LegacyRequest {
  id: string;
  record: RequestRecord;
}

export interface PriorRequest {
  tenantId: string;
  status: TenantStatus;
  sealed: string | null;
  createdAt: number;
}

export type ControlReply =
  | { kind: 'reserved'; tenant: ControlTenant; cell: CellPlacement; newCell: boolean }
  | { kind: 'prior'; prior: PriorRequest }
  | { kind: 'conflict'; reason: 'key_reused' | 'domain' | 'provisioning' }
  /** The tables of `global` from before the control cell are not imported yet (new cell ids could collide). */
  | { kind: 'not_imported' }
  | { kind: 'activated'; tenant: ControlTenant }
  /** The reservation passed its deadline before activation: abandoned (a retry of its request starts again). */
  | { kind: 'expired' }
  | { kind: 'abandoned' }
  | { kind: 'deleted'; tenant: ControlTenant; cell: CellPlacement }
  | { kind: 'not_found' }
  | { kind: 'imported'; written: number };

export type ControlPlan = (state: StateReader) => Result<{ mutations: Mutation[]; reply: ControlReply }, ControlReply>;

const write = (mutations: Mutation[], reply: ControlReply) => ok({ mutations, reply });
const answer = (reply: ControlReply) => err(reply);

export function controlPlan(op: ControlOp): ControlPlan {
  switch (op.op) {
    case 'reserve':
      return (s) => reserve(s, op.input);
    case 'activate':
      return (s) => activate(s, op.tenantId, op.now, op.requestId, op.sealed);
    case 'abandon':
      return (s) => abandon(s, op.tenantId, op.requestId);
    case 'delete':
      return (s) => markDeleted(s, op.tenantId, op.now);
    case 'import':
      return (s) => importLegacy(s, op.tenants, op.cells, op.done, op.requests);
  }
}

/** The id of the next new cell: `cell-NNNN` after the cells placed so far (never one in use). */
function newCellId(s: StateReader): string {
  let n = readCells(s).length + 1;
  while (readCell(s, `cell-${String(n).padStart(4, '0')}`) !== undefined) n++;
  return `cell-${String(n).padStart(4, '0')}`;
}

/**
 * Places a tenant (status `provisioning`, invisible to lookups) in a cell, claiming its domain and
 * recording the request. A retry of the same request answers the first one's tenant: the same
 * reservation when it is this very call again (same tenant id), else `prior`. A reservation past
 * its deadline in the way (the request's earlier tenant, or the domain's holder) is abandoned in
 * the same plan, so a dead creation never holds its request or domain for good.
 */
export function reserve(s: StateReader, input: ReserveInput): ReturnType<ControlPlan> {
  if (s.get(IMPORTED_KEY) === undefined) return answer({ kind: 'not_imported' });
  const view = new OverlayReader(s);
  const mutations: Mutation[] = [];
  const takeOver = (t: ControlTenant) => {
    for (const m of abandonMutations(view, t)) {
      view.stage(m);
      mutations.push(m);
    }
  };
  const req = input.request;
  const record = req === undefined ? undefined : readRequest(s, req.id);
  const live = record !== undefined && record.createdAt + IDEMPOTENCY_TTL_MS > input.now ? record : undefined;
  if (live !== undefined && req !== undefined) {
    if (live.bodyHash !== req.bodyHash) return answer({ kind: 'conflict', reason: 'key_reused' });
    const earlier = readTenant(s, live.tenantId);
    if (earlier !== undefined && expired(earlier, input.now)) takeOver(earlier);
    else if (earlier !== undefined && earlier.id === input.id && earlier.status === 'provisioning') {
      return answer({ kind: 'reserved', tenant: earlier, cell: readCell(s, earlier.cell)!, newCell: false });
    } else if (earlier !== undefined) {
      const sealed = readSealed(s, req.id) ?? live.sealed;
      return answer({ kind: 'prior', prior: { tenantId: earlier.id, status: earlier.status, sealed, createdAt: live.createdAt } });
    }
  }
  if (input.domain !== null) {
    const holderId = view.get(domainKey(input.domain));
    const holder = typeof holderId === 'string' ? readTenant(view, holderId) : undefined;
    if (holder !== undefined && expired(holder, input.now)) takeOver(holder);
    else if (holderId !== undefined) return answer({ kind: 'conflict', reason: 'domain' });
  }
  const cells = readCells(view);
  const placement = placeTenant(cells, input.homeRegion, input.policy);
  let cell: CellPlacement;
  if (placement.kind === 'new') {
    const regions = regionsFrom(placement.homeRegion, input.regions);
    cell = { id: newCellId(view), homeRegion: placement.homeRegion, regions, voters: foundingVoters(regions, input.voters) as Region[], tenants: 1 };
  } else {
    const existing = cells.find((c) => c.id === placement.cellId)!;
    cell = { ...existing, tenants: existing.tenants + 1 };
  }
  const tenant: ControlTenant = { id: input.id, displayName: input.displayName, cell: cell.id, status: 'provisioning', domain: input.domain, createdAt: input.now, rev: 0 };
  mutations.push(putCell(cell), putTenant(tenant));
  if (input.domain !== null) mutations.push({ key: domainKey(input.domain), value: input.id });
  if (req !== undefined) {
    mutations.push({ key: requestKey(req.id), value: { bodyHash: req.bodyHash, tenantId: input.id, sealed: null, createdAt: input.now }, expiresAt: input.now + IDEMPOTENCY_TTL_MS });
  }
  return write(mutations, { kind: 'reserved', tenant, cell, newCell: placement.kind === 'new' });
}

/**
 * Makes a provisioned tenant visible (a new revision: the copies pull it), keeping the sealed reply
 * for the request's retries. A reservation past its deadline is abandoned instead (`expired`): a
 * later reservation may already have taken its request or domain over.
 */
export function activate(s: StateReader, tenantId: string, now: number, requestId?: string, sealed?: string): ReturnType<ControlPlan> {
  const t = readTenant(s, tenantId);
  if (t === undefined || t.status === 'deleted') return answer({ kind: 'not_found' });
  if (t.status === 'active') return answer({ kind: 'activated', tenant: t });
  if (expired(t, now)) return write(abandonMutations(s, t, requestId), { kind: 'expired' });
  const bumped = bumpRev(s, { ...t, status: 'active' });
  const mutations = [...bumped.mutations];
  const record = requestId === undefined ? undefined : readRequest(s, requestId);
  if (requestId !== undefined && record !== undefined && record.tenantId === tenantId && sealed !== undefined) {
    // The admin secret is served to retries for 10 min only, so it is kept (sealed) no longer: its own key, its own expiry.
    mutations.push({ key: sealedKey(requestId), value: sealed, expiresAt: record.createdAt + SEALED_OUTCOME_TTL_MS });
  }
  return write(mutations, { kind: 'activated', tenant: bumped.tenant });
}

/** Undoes a reservation whose provisioning write could not be made durable; a retry of the request may try again. */
export function abandon(s: StateReader, tenantId: string, requestId?: string): ReturnType<ControlPlan> {
  const t = readTenant(s, tenantId);
  if (t === undefined || t.status !== 'provisioning') return answer({ kind: 'abandoned' });
  return write(abandonMutations(s, t, requestId), { kind: 'abandoned' });
}

/** Removes a `provisioning` reservation: its record, its domain, its request's record (when named) and its place in the cell. */
function abandonMutations(s: StateReader, t: ControlTenant, requestId?: string): Mutation[] {
  const mutations: Mutation[] = [{ key: tenantKey(t.id), value: null }];
  if (t.domain !== null && s.get(domainKey(t.domain)) === t.id) mutations.push({ key: domainKey(t.domain), value: null });
  if (requestId !== undefined && readRequest(s, requestId)?.tenantId === t.id) mutations.push({ key: requestKey(requestId), value: null });
  const cell = readCell(s, t.cell);
  if (cell !== undefined) mutations.push(putCell({ ...cell, tenants: Math.max(0, cell.tenants - 1) }));
  return mutations;
}

/**
 * `DELETE /admin/tenants/{id}`: hides the tenant (a tombstone at a new revision: the copies stop
 * answering for it), releases its domain and its place in the cell. A repeat answers the same
 * record; a tenant still being provisioned is refused (its creation would activate it again),
 * unless its reservation is past its deadline: then it is deleted like an active one (a tombstone,
 * so its creation can never activate it, and the cell purges whatever directory it wrote). An
 * unknown tenant is `not_imported` until `global`'s old tables are in (it may be one of them).
 */
export function markDeleted(s: StateReader, tenantId: string, now: number): ReturnType<ControlPlan> {
  const t = readTenant(s, tenantId);
  // Before the import, an unknown tenant may be one `global` placed before the control cell.
  if (t === undefined) return answer(s.get(IMPORTED_KEY) === undefined ? { kind: 'not_imported' } : { kind: 'not_found' });
  if (t.status === 'provisioning' && !expired(t, now)) return answer({ kind: 'conflict', reason: 'provisioning' });
  const cell = readCell(s, t.cell);
  if (cell === undefined) return answer({ kind: 'not_found' });
  if (t.status === 'deleted') return answer({ kind: 'deleted', tenant: t, cell });
  const bumped = bumpRev(s, { ...t, status: 'deleted', domain: null });
  const released = { ...cell, tenants: Math.max(0, cell.tenants - 1) };
  const mutations = [...bumped.mutations, putCell(released)];
  if (t.domain !== null && s.get(domainKey(t.domain)) === tenantId) mutations.push({ key: domainKey(t.domain), value: null });
  return write(mutations, { kind: 'deleted', tenant: bumped.tenant, cell: released });
}

/**
 * Writes tenants and cells the `global` object placed before the control cell existed (its
 * alarm sends them a page at a time), and its creation requests of the last 24 h (a retry across
 * the upgrade gets its tenant, not a second one; same record and sealed reply, same expiry).
 * Only what the control cell lacks is written, so a repeat writes nothing; `done` on the last page
 * lets reservations start.
 */
export function importLegacy(s: StateReader, tenants: readonly ControlTenant[], cells: readonly CellPlacement[], done: boolean, requests: readonly LegacyRequest[] = []): ReturnType<ControlPlan> {
  const view = new OverlayReader(s);
  const mutations: Mutation[] = [];
  const stage = (ms: Mutation[]) => {
    for (const m of ms) {
      view.stage(m);
      mutations.push(m);
    }
  };
  for (const c of cells) if (readCell(view, c.id) === undefined) stage([putCell(c)]);
  let written = 0;
  for (const t of tenants) {
    if (t.status === 'provisioning' || readTenant(view, t.id) !== undefined) continue;
    const claimed = t.domain !== null && view.get(domainKey(t.domain)) !== undefined;
    const tenant = { ...t, domain: claimed ? null : t.domain, rev: 0 };
    stage(bumpRev(view, tenant).mutations);
    if (tenant.domain !== null && tenant.status === 'active') stage([{ key: domainKey(tenant.domain), value: t.id }]);
    written++;
  }
  for (const r of requests) {
    if (readRequest(view, r.id) !== undefined) continue;
    stage([{ key: requestKey(r.id), value: { ...r.record, sealed: null }, expiresAt: r.record.createdAt + IDEMPOTENCY_TTL_MS }]);
    if (r.record.sealed !== null) stage([{ key: sealedKey(r.id), value: r.record.sealed, expiresAt: r.record.createdAt + SEALED_OUTCOME_TTL_MS }]);
    written++;
  }
  if (done && s.get(IMPORTED_KEY) === undefined) stage([{ key: IMPORTED_KEY, value: true }]);
  return mutations.length === 0 ? answer({ kind: 'imported', written: 0 }) : write(mutations, { kind: 'imported', written });
}

