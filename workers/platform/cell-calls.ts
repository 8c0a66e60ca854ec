import type { Region } from '../../core/regions.js';
import type { CellRecord } from '../../durable-objects/control-plane.js';
import type { CellTopology, GraphOutcome, ReplicaCall } from '../../durable-objects/replica-protocol.js';
import { NOT_DURABLE, replicaStub } from '../../durable-objects/replica-protocol.js';
import { candidateRegions, markHealthy, markUnhealthy } from './client-region.js';
import { assertPrimaryPathUp, primaryPathCall } from './faults.js';
import type { TenantPlacement } from './topology.js';
import { controlPlane, lookupTenant, notePrimary } from './topology.js';

/** Budget for one replica call from the edge; a write includes its synchronous replication. */
const CALL_TIMEOUT_MS = 8_000;
/** How long a write keeps looking for the cell's (possibly new) primary before giving up. */
const WRITE_RETRY_BUDGET_MS = 12_000;

export function topologyFor(cell: CellRecord, region: string): CellTopology {
  return { cell: cell.id, region, regions: cell.regions, voters: cell.voters, primaryRegion: cell.primaryRegion, epoch: cell.epoch };
}

export interface Routed {
  outcome: GraphOutcome;
  region: string;
}

const UNREACHABLE = 'primary unreachable';

/**
 * Runs a call on the cell's primary, whatever the call (Graph write, token flow that writes,
 * workload operation). When the primary moved (a replica says so, or the control plane learnt
 * of a failover) the call follows it; while none is reachable, the control plane is asked to
 * confirm the loss and fail over, and the call is retried within a budget before it is
 * answered as unavailable (503 with Retry-After at the edge).
 */
/** The parts of a replica's answer the routing reads; every outcome union fits it. */
interface RoutableOutcome {
  kind: string;
  primaryRegion?: string;
  epoch?: number;
  reason?: string;
}

export async function onPrimary<O extends RoutableOutcome>(
  env: Env,
  tenantId: string,
  invoke: (stub: ReturnType<typeof replicaStub>, topology: CellTopology) => Promise<O>,
): Promise<{ outcome: O | { kind: 'unavailable'; reason: string }; region: string }> {
  const started = Date.now();
  let placement = await lookupTenant(env, tenantId);
  let last: { outcome: O | { kind: 'unavailable'; reason: string }; region: string } = { outcome: { kind: 'unavailable', reason: 'no primary' }, region: 'none' };
  for (let attempt = 0; placement !== null; attempt++) {
    const cell = placement.cell;
    const region = cell.primaryRegion;
    const outcome = await primaryPathCall(region, CALL_TIMEOUT_MS, () => invoke(replicaStub(env, cell.id, region), topologyFor(cell, region))).catch(
      () => ({ kind: 'unavailable' as const, reason: UNREACHABLE }),
    );
    last = { outcome, region };
    const o: RoutableOutcome = outcome;
    const moved = o.kind === 'not_primary' && o.primaryRegion !== undefined && o.epoch !== undefined ? { primaryRegion: o.primaryRegion, epoch: o.epoch } : undefined;
    if (moved !== undefined && moved.epoch > cell.epoch) notePrimary(cell.id, moved.primaryRegion, moved.epoch);
    // Unreachable, or it answered but could not replicate (cut off from its peers): the control
    // plane decides whether it is lost. The retry carries the same idempotency ticket, so a
    // write whose fate was unknown never runs twice.
    const unreachable = o.kind === 'unavailable' && (o.reason === UNREACHABLE || o.reason === NOT_DURABLE);
    if ((moved === undefined && !unreachable) || Date.now() - started > WRITE_RETRY_BUDGET_MS) return last;
    if (unreachable) {
      // The control plane confirms the loss and fails over; it answers with the cell as it
      // stands (a new primary once promoted). The call waits for it within the budget.
      const now = await Promise.resolve().then(() => (assertPrimaryPathUp(), controlPlane(env).ensurePrimary(cell.id))).catch(() => undefined);
      if (now !== undefined && now.epoch > cell.epoch) notePrimary(cell.id, now.primaryRegion, now.epoch);
      // A primary that answered but could not replicate, and stays: retrying it now is futile.
      else if (o.reason === NOT_DURABLE) return last;
      // No control plane either: back off, or a path that fails at once spins for the whole budget.
      else if (now === undefined) await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1_000)));
    } else {
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1_000)));
    }
    placement = await lookupTenant(env, tenantId, moved === undefined || moved.epoch <= cell.epoch);
  }
  return last;
}

/** A Graph write on the cell's primary. */
export function callPrimary(env: Env, tenantId: string, call: ReplicaCall): Promise<Routed> {
  return onPrimary(env, tenantId, (stub, topology) => stub.graph(topology, call));
}

/**
 * Runs a read on the nearest replica that answers, falling back region by region; `settled`
 * says whether an answer is final (otherwise the next region is tried, e.g. one that is behind).
 */
export async function onNearest<O extends RoutableOutcome>(
  request: Request,
  env: Env,
  placement: TenantPlacement,
  invoke: (stub: ReturnType<typeof replicaStub>, topology: CellTopology) => Promise<O>,
  settled: (outcome: O) => boolean,
): Promise<{ outcome: O | { kind: 'unavailable'; reason: string }; region: string }> {
  const cell = placement.cell;
  let last: { outcome: O | { kind: 'unavailable'; reason: string }; region: string } = { outcome: { kind: 'unavailable', reason: 'no replica answered' }, region: 'none' };
  for (const region of candidateRegions(request, env, cell.regions as Region[])) {
    try {
      const outcome = await primaryPathCall(region, CALL_TIMEOUT_MS, () => invoke(replicaStub(env, cell.id, region), topologyFor(cell, region)));
      markHealthy(region);
      last = { outcome, region };
      if (settled(outcome)) return last;
    } catch {
      markUnhealthy(region);
    }
  }
  return last;
}

/** A Graph read at the nearest replica that is not behind the caller's replica token. */
export function callNearest(request: Request, env: Env, placement: TenantPlacement, call: ReplicaCall): Promise<Routed> {
  return onNearest(request, env, placement, (stub, topology) => stub.graph(topology, call), (o) => o.kind !== 'behind');
}
