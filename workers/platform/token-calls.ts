/**
 * Routes a token-service call to the right replica: read-only work to the nearest replica
 * that has the tenant (falling back region by region, then to the primary), writes to the
 * primary (following it after a failover, like callPrimary does for Graph writes).
 */
import type { TokenCall, TokenOutcome } from '../../durable-objects/replica-protocol.js';
import { tokenCallNeedsPrimary } from '../../durable-objects/token-glue.js';
import { onNearest, onPrimary } from './cell-calls.js';
import { ticketFor } from './idempotency.js';
import type { TenantPlacement } from './topology.js';

export interface RoutedToken {
  outcome: TokenOutcome;
  region: string;
}

function tokenOnPrimary(env: Env, tenantId: string, call: TokenCall): Promise<RoutedToken> {
  return onPrimary(env, tenantId, (stub, topology) => stub.token(topology, call));
}

export async function callToken(request: Request, env: Env, placement: TenantPlacement, call: TokenCall): Promise<RoutedToken> {
  if (tokenCallNeedsPrimary(call)) {
    const content = JSON.stringify([call.op, call.method, call.params, call.body ?? null, call.action ?? null]);
    const idempotency = await ticketFor(request, { tenantId: placement.tenant.id, route: `token/${call.op}`, content });
    return tokenOnPrimary(env, placement.tenant.id, { ...call, idempotency });
  }
  // A replica that does not have the tenant yet answers `behind`: try the next, then the primary.
  const near = await onNearest(request, env, placement, (stub, topology) => stub.token(topology, call), (o) => o.kind === 'reply' || o.kind === 'not_primary');
  return near.outcome.kind === 'reply' ? near : tokenOnPrimary(env, placement.tenant.id, call);
}
