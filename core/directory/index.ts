/**
 * Microsoft Graph v1.0 directory logic, pure: reads go through a `StateReader`, writes are
 * planned as `Mutation[]` for the replication layer to apply atomically. Time and ids come
 * from `GraphContext`. Every key touched lives under `t/{tenantId}/` (see README.md).
 */
import type { Mutation, StateReader } from '../kv.js';
import { err, type Result } from '../result.js';
import { authorizeDelegated } from './delegated-access.js';
import { badRequest, methodNotAllowed } from './errors.js';
import { tenantPrefix } from './keys.js';
import { routeById, type Route } from './router.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest } from './types.js';

export type { GraphContext, GraphError, GraphReply, GraphRequest, WritePlan, JsonObject } from './types.js';
export { graphErrorBody, type EdgeError } from './errors.js';
export { purgeMutations, RETENTION_MS } from './recycle-bin.js';
export { provisionTenant } from './singletons.js';
export { parseFilter, matches, type FilterExpr } from './odata-filter.js';
export { classify, classifiedRequest, internalRequest, type Classification } from './classify.js';

export { isWrite } from './classify.js';

/** The handler of a classified request; a route id this build does not know is the caller's error. */
function routeOf(req: GraphRequest): Result<Route, GraphError> {
  const route = routeById(req.routeId);
  return route === undefined ? err(badRequest('Unknown request route.')) : { ok: true, value: route };
}

/**
 * `asUser`: the signed-in user of a delegated call, whose directory roles must also allow it
 * (delegated-access.ts); absent for app-only and operator calls, whose permissions the edge
 * checked in full.
 */
export function planWrite(
  state: StateReader,
  req: GraphRequest,
  ctx: GraphContext,
  asUser?: string,
): Result<{ mutations: Mutation[]; reply: GraphReply }, GraphError> {
  const route = routeOf(req);
  if (!route.ok) return route;
  if (asUser !== undefined) {
    const allowed = authorizeDelegated(state, ctx.tenantId, asUser, req);
    if (!allowed.ok) return allowed;
  }
  const method = req.method.toUpperCase();
  const writer = method === 'POST' ? route.value.POST : method === 'PATCH' ? route.value.PATCH : method === 'PUT' ? route.value.PUT : method === 'DELETE' ? route.value.DELETE : undefined;
  if (writer === undefined) return err(methodNotAllowed(req.method));
  const planned = writer(state, req, ctx, req.params);
  if (!planned.ok) return planned;
  // Defence in depth: a key outside the tenant is a bug, never something to replicate.
  const prefix = tenantPrefix(ctx.tenantId);
  for (const m of planned.value.mutations) {
    if (!m.key.startsWith(prefix)) throw new Error('assertion failed: mutation outside tenant');
  }
  return planned;
}

export function read(state: StateReader, req: GraphRequest, ctx: GraphContext, asUser?: string): Result<GraphReply, GraphError> {
  const route = routeOf(req);
  if (!route.ok) return route;
  if (asUser !== undefined) {
    const allowed = authorizeDelegated(state, ctx.tenantId, asUser, req);
    if (!allowed.ok) return allowed;
  }
  const reader = route.value.GET;
  if (req.method.toUpperCase() !== 'GET' || reader === undefined) return err(methodNotAllowed(req.method));
  return reader(state, req, ctx, req.params);
}
