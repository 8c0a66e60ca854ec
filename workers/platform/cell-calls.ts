import type { Region } from '../../core/regions.js';
import type { CellRecord } from '../../durable-objects/control-plane.js';
import type { CellTopology, GraphOutcome, ReplicaCall } from '../../durable-objects/replica-protocol.js';
import { replicaStub } from '../../durable-objects/replica-protocol.js';
import { candidateRegions, markHealthy, markUnhealthy } from './client-region.js';
import { crossCall } from './faults.js';
import type { TenantPlacement } from './topology.js';
import { controlPlane, lookupTenant, notePrimary } from './topology.js';

/** Budget for one replica call from the edge; a write includes its synchronous replication. */
const CALL_TIMEOUT_MS = 8_000;
/** How long a write keeps looking for the cell's (possibly new) primary before giving up. */
const WRITE_RETRY_BUDGET_MS = 12_000;

export function topologyFor(cell: CellRecord, region: string): CellTopology {
  return { cell: cell.id, region, regions: cell.regions, primaryRegion: cell.primaryRegion, epoch: cell.epoch };
}

export interface Routed {
  outcome: GraphOutcome;
  region: string;
}

/**
 * Sends a write to the cell's primary. When the primary moved (a replica says so, or the
 * control plane learnt of a failover) the write follows it; while none is reachable, it is
 * retried within a budget and then answered 503 with Retry-After.
 */
export async function callPrimary(env: Env, tenantId: string, call: ReplicaCall): Promise<Routed> {
  const started = Date.now();
  let placement = await lookupTenant(env, tenantId);
  let last: Routed = { outcome: { kind: 'unavailable', reason: 'no primary' }, region: 'none' };
  for (let attempt = 0; placement !== null; attempt++) {
    const cell = placement.cell;
    const region = cell.primaryRegion;
    const outcome = await crossCall('edge', region, CALL_TIMEOUT_MS, () => replicaStub(env, cell.id, region).graph(topologyFor(cell, region), call)).catch(
      (): GraphOutcome => ({ kind: 'unavailable', reason: 'primary unreachable' }),
    );
    last = { outcome, region };
    if (outcome.kind === 'not_primary' && outcome.epoch > cell.epoch) notePrimary(cell.id, outcome.primaryRegion, outcome.epoch);
    const unreachable = outcome.kind === 'unavailable' && outcome.reason === 'primary unreachable';
    const retryable = outcome.kind === 'not_primary' || unreachable;
    if (!retryable || Date.now() - started > WRITE_RETRY_BUDGET_MS) return last;
    if (unreachable) {
      // Ask the control plane to confirm the loss and fail over; it answers with the cell as it
      // stands (a new primary once promoted). Writes wait for it within the budget.
      const moved = await controlPlane(env).ensurePrimary(cell.id).catch(() => undefined);
      if (moved !== undefined && moved.epoch > cell.epoch) notePrimary(cell.id, moved.primaryRegion, moved.epoch);
    } else {
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1_000)));
    }
    placement = await lookupTenant(env, tenantId, outcome.kind !== 'not_primary' || outcome.epoch <= cell.epoch);
  }
  return last;
}

/** Serves a read from the nearest replica that answers, falling back region by region. */
export async function callNearest(request: Request, env: Env, placement: TenantPlacement, call: ReplicaCall): Promise<Routed> {
  const cell = placement.cell;
  const regions = candidateRegions(request, env, cell.regions as Region[]);
  let last: Routed = { outcome: { kind: 'unavailable', reason: 'no replica answered' }, region: 'none' };
  for (const region of regions) {
    try {
      const outcome = await crossCall('edge', region, CALL_TIMEOUT_MS, () => replicaStub(env, cell.id, region).graph(topologyFor(cell, region), call));
      markHealthy(region);
      if (outcome.kind !== 'behind') return { outcome, region };
      last = { outcome, region };
    } catch {
      markUnhealthy(region);
    }
  }
  return last;
}
