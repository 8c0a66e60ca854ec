/**
 * Routes a token-service call to the right replica: read-only work to the nearest replica
 * that has the tenant (falling back region by region, then to the primary), writes to the
 * primary (following it after a failover, like callPrimary does for Graph writes).
 */
import type { Region } from '../../core/regions.js';
import type { TokenCall, TokenOutcome } from '../../durable-objects/replica-protocol.js';
import { replicaStub } from '../../durable-objects/replica-protocol.js';
import { tokenCallNeedsPrimary } from '../../durable-objects/token-glue.js';
import { topologyFor } from './cell-calls.js';
import { candidateRegions, markHealthy, markUnhealthy } from './client-region.js';
import { crossCall } from './faults.js';
import type { TenantPlacement } from './topology.js';
import { lookupTenant, notePrimary } from './topology.js';

const CALL_TIMEOUT_MS = 8_000;
const WRITE_RETRY_BUDGET_MS = 10_000;

export interface RoutedToken {
  outcome: TokenOutcome;
  region: string;
}

async function onPrimary(env: Env, tenantId: string, call: TokenCall): Promise<RoutedToken> {
  const started = Date.now();
  let placement = await lookupTenant(env, tenantId);
  let last: RoutedToken = { outcome: { kind: 'unavailable', reason: 'no primary' }, region: 'none' };
  for (let attempt = 0; placement !== null; attempt++) {
    const cell = placement.cell;
    const region = cell.primaryRegion;
    const outcome = await crossCall('edge', region, CALL_TIMEOUT_MS, () => replicaStub(env, cell.id, region).token(topologyFor(cell, region), call)).catch(
      (): TokenOutcome => ({ kind: 'unavailable', reason: 'primary unreachable' }),
    );
    last = { outcome, region };
    if (outcome.kind === 'not_primary' && outcome.epoch > cell.epoch) notePrimary(cell.id, outcome.primaryRegion, outcome.epoch);
    const retryable = outcome.kind === 'not_primary' || (outcome.kind === 'unavailable' && outcome.reason === 'primary unreachable');
    if (!retryable || Date.now() - started > WRITE_RETRY_BUDGET_MS) return last;
    await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 2_000)));
    placement = await lookupTenant(env, tenantId, true);
  }
  return last;
}

export async function callToken(request: Request, env: Env, placement: TenantPlacement, call: TokenCall): Promise<RoutedToken> {
  if (tokenCallNeedsPrimary(call)) return onPrimary(env, placement.tenant.id, call);
  const cell = placement.cell;
  for (const region of candidateRegions(request, env, cell.regions as Region[])) {
    try {
      const outcome = await crossCall('edge', region, CALL_TIMEOUT_MS, () => replicaStub(env, cell.id, region).token(topologyFor(cell, region), call));
      markHealthy(region);
      if (outcome.kind === 'reply') return { outcome, region };
      if (outcome.kind === 'not_primary') return onPrimary(env, placement.tenant.id, call);
    } catch {
      markUnhealthy(region);
    }
  }
  return onPrimary(env, placement.tenant.id, call);
}
