/**
 * The conditional access inputs of strict location enforcement (core/cae/location.ts) at the
 * edge: the tenant's policies and named locations, read from the nearest replica and cached
 * per isolate for `LOCATION_TTL_MS`. A stale entry is served while one background read
 * refreshes it (twice the TTL at most, then the request waits), so a policy change reaches
 * every edge within 2 × 30 s plus replication lag; critical events keep their own, faster path
 * (cae-state.ts). Faults: no replica answers → the last inputs are kept (fail open, like the
 * CAE state) and the read is retried after `RETRY_MS`; a tenant never read yet has none.
 */
import type { LocationInputs } from '../../core/cae/location.js';
import { internalRequest } from '../../core/directory/classify.js';
import type { ConditionalAccessPolicy, NamedLocation } from '../../core/token/conditional-access.js';
import { callNearest } from './cell-calls.js';
import type { TenantPlacement } from './topology.js';
import { TenantCache, type CacheEntry } from './tenant-cache.js';

const LOCATION_TTL_MS = 30_000;
const RETRY_MS = 2_000;
const EMPTY: LocationInputs = { policies: [], locations: [] };

const cache = new TenantCache<LocationInputs>('location policy read', () => ({ value: EMPTY, at: -Infinity }));

async function list<T>(request: Request, env: Env, placement: TenantPlacement, path: string): Promise<T[] | null> {
  const tid = placement.tenant.id;
  const routed = await callNearest(request, env, placement, {
    tenantId: tid, request: { ...internalRequest('GET', path), query: { $top: '999' } }, caller: { kind: 'operator' }, correlationId: crypto.randomUUID(),
  });
  const o = routed.outcome;
  if (o.kind !== 'reply' || o.reply.status !== 200) return null;
  const value = (o.reply.body as { value?: unknown } | undefined)?.value;
  return Array.isArray(value) ? (value as T[]) : null;
}

async function read(request: Request, env: Env, placement: TenantPlacement, entry: CacheEntry<LocationInputs>): Promise<LocationInputs> {
  const [policies, locations] = await Promise.all([
    list<ConditionalAccessPolicy>(request, env, placement, '/identity/conditionalAccess/policies'),
    list<NamedLocation>(request, env, placement, '/identity/conditionalAccess/namedLocations'),
  ]);
  if (policies === null || locations === null) {
    entry.at = Date.now() - LOCATION_TTL_MS + RETRY_MS;
    return entry.value;
  }
  entry.value = { policies, locations };
  entry.at = Date.now();
  return entry.value;
}

/** The tenant's location inputs, at most 2 × LOCATION_TTL_MS old (unless no replica answers). */
export function locationInputsFor(request: Request, env: Env, placement: TenantPlacement, waitUntil?: (p: Promise<unknown>) => void): Promise<LocationInputs> {
  return cache.get(placement.tenant.id, LOCATION_TTL_MS, RETRY_MS, (entry) => read(request, env, placement, entry), waitUntil);
}

/** Drops a tenant's cached inputs (a policy written through this isolate is seen at once). */
export function forgetLocationInputs(tenantId: string): void {
  cache.forget(tenantId);
}
