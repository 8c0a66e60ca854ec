import type { CellRecord, Confirmed, ControlPlane, TenantRecord } from '../../durable-objects/control-plane.js';
import { CONTROL_SYNC_TIMEOUT_MS, controlRegionOf, controlStub } from '../../durable-objects/control-replica.js';
import type { ControlSource, CopyAnswer } from '../../core/control/lookup.js';
import {
  askInOrder,
  CONTROL_FAILOVER_TIMEOUT_MS,
  CONTROL_LOOKUP_TIMEOUT_MS,
  CONTROL_PENALTY_MS,
  controlSources,
  decideLookup,
  confirmationSettles,
  lookupSettles,
  mergeCell,
  sourceKey,
  STALE_RETRY_MS,
} from '../../core/control/lookup.js';
import { parseRegionList, regionsFrom, type Region } from '../../core/regions.js';
import { backupPlacement } from './backup-calls.js';
import { primaryPathCall, Unreachable } from './faults.js';

export interface TenantPlacement {
  tenant: TenantRecord;
  cell: CellRecord;
}

const TTL_MS = 30_000;
const cache = new Map<string, { value: TenantPlacement; at: number }>();
/** Control copies that failed lately (per isolate), until when: asked last. */
const penalised = new Map<string, number>();

/** The control plane's primary object (admin calls that change it: tenants, membership, handoff). */
export function controlPlane(env: Env): DurableObjectStub<ControlPlane> {
  return controlStub(env, { kind: 'primary', region: controlRegionOf(env) });
}

/**
 * A call into the control plane's primary through the fault boundary, with a timeout: it never
 * hangs, and any failure is `Unreachable` (the edge answers 503 + Retry-After, never 500).
 */
export function controlPrimaryCall<T>(env: Env, call: (stub: DurableObjectStub<ControlPlane>) => Promise<T>, timeoutMs = CONTROL_LOOKUP_TIMEOUT_MS): Promise<T> {
  return onControl(env, { kind: 'primary', region: controlRegionOf(env) }, timeoutMs, call);
}

/**
 * An operator's change of a cell (membership, handoff) at the first control copy that can be
 * reached: `global`, then the copies in order. The real work is at the cell's primary (one change
 * at a time there; a repeat is a no-op), so a copy may run it while `global` is unreachable; it
 * records the outcome and `global` learns it at the copy's next pull. Only a copy the call was
 * refused for before it was sent (the fault boundary: region down, partition) is passed over: a
 * call that was sent and timed out or failed may have run, so sending it to another copy could
 * make the operator read "failed" (in flight, already done) for what happened; it answers
 * `Unreachable` (503 + Retry-After: repeating it is safe). All copies share one budget.
 */
export async function anyControlCall<T>(env: Env, call: (stub: DurableObjectStub<ControlPlane>) => Promise<T>, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (const source of sources(env)) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      return await onControl(env, source, left, call);
    } catch (e) {
      penalised.set(sourceKey(source), Date.now() + CONTROL_PENALTY_MS);
      if (!refusedBeforeSending(e)) throw new Unreachable(CONTROL_CALL_OUTCOME_UNKNOWN);
    }
  }
  throw new Unreachable('control_plane_unreachable');
}

/** `anyControlCall`'s reason when the call was sent and did not answer: its fate is unknown. */
export const CONTROL_CALL_OUTCOME_UNKNOWN = 'control_call_outcome_unknown';

/** The fault boundary refused the call before sending it (crossCall's verdict, `primaryPathDown`): it did not run. */
const refusedBeforeSending = (e: unknown): boolean => e instanceof Unreachable && e.reason !== 'timeout' && !e.reason.startsWith(CALL_FAILED);

/** The reason of an error a copy's call raised once sent (wrapped by `onControl`). */
const CALL_FAILED = 'control_plane: ';

function onControl<T>(env: Env, source: ControlSource, timeoutMs: number, call: (stub: DurableObjectStub<ControlPlane>) => Promise<T>): Promise<T> {
  return primaryPathCall(source.region, timeoutMs, () => call(controlStub(env, source))).catch((e: unknown) => {
    throw e instanceof Unreachable ? e : new Unreachable(`${CALL_FAILED}${e instanceof Error ? e.message : String(e)}`);
  });
}

/**
 * The copies to ask: the primary, then the replicas nearest the control region, the control
 * region's own last (it helps when only the primary object is down, not when its region is);
 * recent failures last.
 */
function sources(env: Env): ControlSource[] {
  const control = controlRegionOf(env);
  const now = Date.now();
  for (const [k, until] of penalised) if (until <= now) penalised.delete(k);
  const others = regionsFrom(control as Region, parseRegionList(env.REGIONS)).filter((r) => r !== control);
  return controlSources(control, [...others, control], new Set(penalised.keys()));
}

/** Asks the copies in order (core/control/lookup.ts), each under a timeout; copies that failed are penalised. */
async function askControl<T>(env: Env, timeoutMs: number, call: (stub: DurableObjectStub<ControlPlane>) => Promise<T>, settles: (v: T, s: ControlSource) => boolean) {
  const { asked, failed } = await askInOrder<T>(sources(env), timeoutMs, {
    // The fault boundary has its own timer; the race below is what bounds a hung copy.
    ask: (source) => onControl(env, source, timeoutMs + 1_000, call),
    after: (ms) => new Promise((r) => setTimeout(r, ms)),
    settles,
  });
  for (const s of failed) penalised.set(sourceKey(s), Date.now() + CONTROL_PENALTY_MS);
  return asked;
}

/**
 * Cells as every control copy that answers in time knows them, merged (`mergeCell`: a replica
 * that failed a cell over while the primary was unreachable knows the newer primary until it
 * tells the primary). For the operator's view; `Unreachable` when no copy answers.
 */
export async function readCells(env: Env, call: (stub: DurableObjectStub<ControlPlane>) => Promise<CellRecord[]>): Promise<CellRecord[]> {
  const answers = await Promise.all(sources(env).map((s) => onControl(env, s, CONTROL_LOOKUP_TIMEOUT_MS, call).catch(() => undefined)));
  if (answers.every((a) => a === undefined)) throw new Unreachable('control_plane_unreachable');
  const merged = new Map<string, CellRecord>();
  for (const cell of answers.flatMap((a) => a ?? [])) merged.set(cell.id, mergeCell(merged.get(cell.id), cell));
  return [...merged.values()].sort((x, y) => x.id.localeCompare(y.id));
}

/**
 * Tells every control copy (`global` and each region's) that the control cell changed at `pos`,
 * so each pulls up to there now (a new tenant is then found by any copy). In parallel, each under
 * a timeout; best effort: a copy that misses it pulls on its alarm or on a lookup miss.
 */
export async function syncControlCopies(env: Env, pos: number): Promise<void> {
  const all = controlSources(controlRegionOf(env), parseRegionList(env.REGIONS));
  await Promise.all(all.map((s) => onControl(env, s, CONTROL_SYNC_TIMEOUT_MS, (c) => c.syncControl(s, pos)).catch(() => false)));
}

/** Every control copy's summary (the operator's view), `reachable: false` for one that did not answer in time. */
export function controlSummaries(env: Env): Promise<Array<ControlSource & ({ reachable: false } | ({ reachable: true } & Awaited<ReturnType<ControlPlane['summary']>>))>> {
  const control = controlRegionOf(env);
  return Promise.all(
    controlSources(control, parseRegionList(env.REGIONS)).map(async (source) => {
      const summary = await onControl(env, source, CONTROL_LOOKUP_TIMEOUT_MS, async (c) => c.summary()).catch(() => undefined);
      return summary === undefined ? { ...source, reachable: false as const } : { ...source, reachable: true as const, ...summary };
    }),
  );
}

/**
 * Tenant → cell lookups, cached per isolate so the control plane stays off the hot path.
 * `fresh` bypasses the cache after a replica said the primary moved. Never hangs: each control
 * copy is asked under a timeout, then the last known answer, then what the backup service
 * learned; with none of them, `Unreachable` (503 + Retry-After at the edge).
 */
export async function lookupTenant(env: Env, idOrDomain: string, fresh = false): Promise<TenantPlacement | null> {
  const key = idOrDomain.toLowerCase();
  const hit = cache.get(key);
  if (!fresh && hit !== undefined && Date.now() - hit.at < TTL_MS) return hit.value;
  const asked = await askControl<CopyAnswer<TenantPlacement>>(env, CONTROL_LOOKUP_TIMEOUT_MS, (stub) => stub.lookup(idOrDomain), lookupSettles);
  // A primary learnt from a replica (notePrimary) is never replaced by an older one a copy still records.
  const decision = decideLookup(asked, hit?.value, (known, found) => (known.cell.id === found.cell.id ? { ...found, cell: mergeCell(known.cell, found.cell) } : found));
  if (decision.kind === 'absent') {
    cache.delete(key);
    return null;
  }
  if (decision.kind === 'found') {
    // A last known answer served in an outage is re-asked for after a short while, not at once.
    cache.set(key, { value: decision.value, at: decision.stale ? Date.now() - TTL_MS + STALE_RETRY_MS : Date.now() });
    return decision.value;
  }
  // Nothing known in this isolate: the placement the backup service learned (issue 14).
  const learned = await backupPlacement(env, idOrDomain);
  if (learned !== null) return learned;
  throw new Unreachable('control_plane_unreachable');
}

/**
 * "This cell's primary did not answer": the control plane's primary confirms the loss and fails
 * over; when it cannot be reached — or could not fail the cell over from where it is — a control
 * replica does the same (fenced, so two of them at once still make one primary per epoch).
 * Undefined when no copy answered in time.
 */
export async function ensurePrimary(env: Env, cell: Pick<CellRecord, 'id' | 'epoch'>): Promise<CellRecord | undefined> {
  let unsettled: Confirmed | undefined;
  const asked = await askControl<Confirmed | undefined>(
    env,
    CONTROL_FAILOVER_TIMEOUT_MS,
    async (stub) => (unsettled = (await stub.ensurePrimary(cell.id)) ?? unsettled),
    (v) => confirmationSettles(v, cell.epoch),
  );
  // Every copy that answered said "lost, but no failover from here": the cell as it stands (the edge answers 503).
  return asked.kind === 'answer' ? asked.value?.cell : unsettled?.cell;
}

/** Learns a cell's new primary from a replica, without waiting for the control plane. */
export function notePrimary(cellId: string, primaryRegion: string, epoch: number): void {
  for (const entry of cache.values()) {
    if (entry.value.cell.id === cellId && entry.value.cell.epoch < epoch) {
      entry.value = { ...entry.value, cell: { ...entry.value.cell, primaryRegion: primaryRegion as CellRecord['primaryRegion'], epoch } };
    }
  }
}

export function forgetTenant(idOrDomain: string): void {
  cache.delete(idOrDomain.toLowerCase());
}
