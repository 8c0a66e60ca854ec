/**
 * Microsoft Graph v1.0 directory logic, pure: reads go through a `StateReader`, writes are
 * planned as `Mutation[]` for the replication layer to apply atomically. Time and ids come
 * from `GraphContext`. Every key touched lives under `t/{tenantId}/` (see README.md).
 */
import type { Mutation, StateReader } from '../kv.js';
import { err, type Result } from '../result.js';
import { methodNotAllowed } from './errors.js';
import { tenantPrefix } from './keys.js';
import { resolve } from './router.js';
import type { GraphContext, GraphError, GraphReply, GraphRequest } from './types.js';

export type { GraphContext, GraphError, GraphReply, GraphRequest, WritePlan, JsonObject } from './types.js';
export { graphErrorBody, type EdgeError } from './errors.js';
export { purgeMutations, RETENTION_MS } from './recycle-bin.js';
export { provisionTenant } from './singletons.js';
export { parseFilter, matches, type FilterExpr } from './odata-filter.js';

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

export function isWrite(req: GraphRequest): boolean {
  return WRITE_METHODS.has(req.method.toUpperCase());
}

export function planWrite(
  state: StateReader,
  req: GraphRequest,
  ctx: GraphContext,
): Result<{ mutations: Mutation[]; reply: GraphReply }, GraphError> {
  if (!isWrite(req)) return err(methodNotAllowed(req.method));
  const route = resolve(req, ctx);
  if (!route.ok) return route;
  if (!route.value.write) return err(methodNotAllowed(req.method));
  const planned = route.value.run(state);
  if (!planned.ok) return planned;
  // Defence in depth: a key outside the tenant is a bug, never something to replicate.
  const prefix = tenantPrefix(ctx.tenantId);
  for (const m of planned.value.mutations) {
    if (!m.key.startsWith(prefix)) throw new Error('assertion failed: mutation outside tenant');
  }
  return planned;
}

export function read(state: StateReader, req: GraphRequest, ctx: GraphContext): Result<GraphReply, GraphError> {
  if (req.method.toUpperCase() !== 'GET') return err(methodNotAllowed(req.method));
  const route = resolve(req, ctx);
  if (!route.ok) return route;
  if (route.value.write) return err(methodNotAllowed(req.method));
  return route.value.run(state);
}
