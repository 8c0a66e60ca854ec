import type { Region } from '../../core/regions.js';
import type { CellRecord } from '../../durable-objects/control-plane.js';
import type { CellTopology, GraphOutcome, ReplicaCall } from '../../durable-objects/replica-protocol.js';
import { replicaStub } from '../../durable-objects/replica-protocol.js';
import { PRIMARY_CALL_TIMEOUT_MS, routeToPrimary, WRITE_RETRY_BUDGET_MS, type RoutableOutcome, type Unavailable } from '../../core/replication/primary-routing.js';
import { candidateRegions, markHealthy, markUnhealthy } from './client-region.js';
import { edgeCanCommit, edgeCanReach, edgeRegion, primaryPathCall } from './faults.js';
import type { TenantPlacement } from './topology.js';
import { ensurePrimary, lookupTenant, notePrimary } from './topology.js';


export function topologyFor(cell: CellRecord, region: string): CellTopology {
  return { cell: cell.id, region, regions: cell.regions, voters: cell.voters, primaryRegion: cell.primaryRegion, epoch: cell.epoch };
}

/** The `unavailable` reason of a write refused because the edge's region is isolated (its fate is certain: never sent). */
export const EDGE_CUT_OFF = "this region is cut off from the cell's primary";

export interface Routed {
  outcome: GraphOutcome;
  region: string;
}

/**
 * Runs a call on the cell's primary, whatever the call (Graph write, token flow that writes,
 * workload operation), by the edge's routing rule (core/replication/primary-routing.ts: follow
 * a moved primary, have the control plane confirm a lost one, retry within a budget, then
 * answer unavailable: 503 with Retry-After at the edge).
 */
export function onPrimary<O extends RoutableOutcome>(
  env: Env,
  tenantId: string,
  invoke: (stub: ReturnType<typeof replicaStub>, topology: CellTopology) => Promise<O>,
): Promise<{ outcome: O | Unavailable; region: string }> {
  return onCellPrimary(env, async (fresh) => (await lookupTenant(env, tenantId, fresh))?.cell ?? null, invoke);
}

/** As `onPrimary`, for a cell found otherwise than by an active tenant (a tenant being deleted, the control cell); `note` keeps a newer primary learnt on the way. */
export async function onCellPrimary<O extends RoutableOutcome>(
  env: Env,
  lookup: (fresh: boolean) => Promise<CellRecord | null>,
  invoke: (stub: ReturnType<typeof replicaStub>, topology: CellTopology) => Promise<O>,
  note: (cell: CellRecord, newer: { primaryRegion: string; epoch: number }) => void = (cell, newer) => notePrimary(cell.id, newer.primaryRegion, newer.epoch),
): Promise<{ outcome: O | Unavailable; region: string }> {
  // An edge whose region is cut off reaches no primary a failover could pick: answer at once (nothing was sent).
  const known = await lookup(false);
  if (known !== null && !edgeCanCommit(known)) return { outcome: { kind: 'unavailable', reason: EDGE_CUT_OFF }, region: edgeRegion() ?? 'none' };
  // The routing's first lookup is the one just made (a deletion's lookup is a control-plane call).
  let first: Promise<CellRecord | null> | undefined = Promise.resolve(known);
  const routed = await routeToPrimary<CellRecord, O>(
    {
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      lookup: (fresh) => {
        const reuse = fresh ? undefined : first;
        first = undefined;
        return reuse ?? lookup(fresh);
      },
      call: (cell) => primaryPathCall(cell.primaryRegion, PRIMARY_CALL_TIMEOUT_MS, () => invoke(replicaStub(env, cell.id, cell.primaryRegion), topologyFor(cell, cell.primaryRegion))),
      // Through the fault boundary, under a timeout, the control primary then its replicas (topology.ts).
      ensurePrimary: (cell) => ensurePrimary(env, cell),
      notePrimary: note,
    },
    WRITE_RETRY_BUDGET_MS,
  );
  return { outcome: routed.outcome, region: routed.region };
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
  // Regions an isolated edge cannot reach are not tried (nor marked unhealthy for this isolate's other clients).
  for (const region of candidateRegions(request, env, cell.regions as Region[]).filter(edgeCanReach)) {
    try {
      const outcome = await primaryPathCall(region, PRIMARY_CALL_TIMEOUT_MS, () => invoke(replicaStub(env, cell.id, region), topologyFor(cell, region)));
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
