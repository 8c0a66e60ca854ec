/**
 * Continuous access evaluation at the edge. Edges cannot be pushed to, so each isolate pulls
 * its tenants' critical events (core/cae/event-store.ts) from the nearest replica — its own
 * region's, falling back region by region — after its watermark, and caches the folded state.
 * A request that finds the state older than `CAE_POLL_MS` (default 500 ms) starts one pull in the
 * background (shared by every request of the tenant in the isolate) and is judged by the state
 * it has; one that finds it older than twice that waits for the pull. So a busy edge never
 * stalls on a pull (the replica it asks may be queueing reads), there is no cross-region call per
 * request, and an event reaches every edge within 2 × CAE_POLL_MS plus a pull plus the
 * replication lag to its region.
 *
 * The nearest replica may lag far behind (asynchronous replication retries with backoff), so at
 * most every `PRIMARY_CHECK_MS` a pull asks the cell's primary instead: one cross-region call
 * per tenant and isolate every few seconds bounds how stale a lagging region makes the state.
 *
 * Faults: a pull that finds no replica (all down, or the tenant not yet replicated) keeps the
 * last state and is retried by the next request after `RETRY_MS`: tokens are then judged by
 * older state (fail open, as Entra's CAE does in an outage: long-lived tokens exist to survive
 * it). A replica that is behind answers an older watermark; folding never moves back.
 * Duplicate answers fold to the same state (core/cae/critical-events.ts `foldEvents`).
 */
import { EMPTY_CAE_STATE, foldEvents, pruneCaeState, type CaeState, type CriticalEvent } from '../../core/cae/critical-events.js';
import { CAE_EVENT_LOG_MS, MAX_EVENTS_PAGE } from '../../core/cae/event-store.js';
import type { CaeOutcome } from '../../durable-objects/replica-protocol.js';
import { onNearest, topologyFor } from './cell-calls.js';
import { primaryPathCall } from './faults.js';
import { replicaStub } from '../../durable-objects/replica-protocol.js';
import type { TenantPlacement } from './topology.js';
import { TenantCache, type CacheEntry } from './tenant-cache.js';

const DEFAULT_POLL_MS = 500;
const RETRY_MS = 250;
const PRIMARY_CHECK_MS = 5_000;
const PRIMARY_TIMEOUT_MS = 2_000;

/** `primaryAt`: when the primary was last asked. */
type Extra = { primaryAt: number };
const cache = new TenantCache<CaeState, Extra>('cae pull', () => ({ value: EMPTY_CAE_STATE, at: -Infinity, primaryAt: -Infinity }));
const listeners: Array<(tenantId: string, events: readonly CriticalEvent[]) => void> = [];

export function pollInterval(env: Env): number {
  const v = Number(env.CAE_POLL_MS ?? DEFAULT_POLL_MS);
  return Number.isFinite(v) && v >= 0 ? v : DEFAULT_POLL_MS;
}

/** Enforcement can be switched off outside production only (the bench's baseline: `CAE_ENFORCEMENT=off` or `X-Tessera-CAE: off`). */
export const caeEnforced = (env: Env, request: Request): boolean =>
  env.TESSERA_ENV === 'production' || (env.CAE_ENFORCEMENT !== 'off' && request.headers.get('x-tessera-cae') !== 'off');

/** Called with the new events of each pull that brings some (the client_credentials cache drops what an app event invalidates). */
export function onCaeEvents(listener: (tenantId: string, events: readonly CriticalEvent[]) => void): void {
  listeners.push(listener);
}

async function pull(request: Request, env: Env, placement: TenantPlacement, entry: CacheEntry<CaeState, Extra>): Promise<CaeState> {
  const tid = placement.tenant.id;
  const after = entry.value.watermark;
  let o: CaeOutcome | { kind: 'unavailable' } | undefined;
  if (Date.now() - entry.primaryAt >= PRIMARY_CHECK_MS) {
    entry.primaryAt = Date.now();
    const cell = placement.cell;
    const region = cell.primaryRegion;
    o = await primaryPathCall(region, PRIMARY_TIMEOUT_MS, () => replicaStub(env, cell.id, region).caeEvents(topologyFor(cell, region), tid, after)).catch(() => undefined);
  }
  if (o?.kind !== 'events') o = (await onNearest<CaeOutcome>(request, env, placement, (stub, t) => stub.caeEvents(t, tid, after), (x) => x.kind === 'events')).outcome;
  const now = Date.now();
  if (o.kind !== 'events') {
    // Keep judging by the last state; try again soon rather than on every request.
    entry.at = now - pollInterval(env) + RETRY_MS;
    return entry.value;
  }
  const folded = foldEvents(entry.value, o.events, o.watermark);
  // Marks older than the longest token can revoke nothing: dropped whenever new ones arrive.
  entry.value = o.events.length > 0 ? pruneCaeState(folded, now, CAE_EVENT_LOG_MS) : folded;
  // A full page (a cold isolate of a tenant with many recent events): the next request pulls the rest.
  entry.at = o.events.length >= MAX_EVENTS_PAGE ? -Infinity : now;
  if (o.events.length > 0) for (const l of listeners) l(tid, o.events);
  return entry.value;
}

/**
 * The tenant's critical-event state, no older than twice the poll interval (unless no replica
 * answers). `waitUntil` keeps a background pull alive past this request; without it, it waits.
 */
export function caeStateFor(request: Request, env: Env, placement: TenantPlacement, waitUntil?: (p: Promise<unknown>) => void): Promise<CaeState> {
  return cache.get(placement.tenant.id, pollInterval(env), RETRY_MS, (entry) => pull(request, env, placement, entry), waitUntil);
}
