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

const LOCATION_TTL_MS = 30_000;
const RETRY_MS = 2_000;
const MAX_TENANTS = 10_000;
const EMPTY: LocationInputs = { policies: [], locations: [] };

interface Cached {
  inputs: LocationInputs;
  at: number;
  reading?: Promise<LocationInputs> | undefined;
}

const tenants = new Map<string, Cached>();

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

async function read(request: Request, env: Env, placement: TenantPlacement, entry: Cached): Promise<LocationInputs> {
  const [policies, locations] = await Promise.all([
    list<ConditionalAccessPolicy>(request, env, placement, '/identity/conditionalAccess/policies'),
    list<NamedLocation>(request, env, placement, '/identity/conditionalAccess/namedLocations'),
  ]);
  if (policies === null || locations === null) {
    entry.at = Date.now() - LOCATION_TTL_MS + RETRY_MS;
    return entry.inputs;
  }
  entry.inputs = { policies, locations };
  entry.at = Date.now();
  return entry.inputs;
}

/** The tenant's location inputs, at most 2 × LOCATION_TTL_MS old (unless no replica answers). */
export async function locationInputsFor(request: Request, env: Env, placement: TenantPlacement, waitUntil?: (p: Promise<unknown>) => void): Promise<LocationInputs> {
  const tid = placement.tenant.id;
  let entry = tenants.get(tid);
  if (entry === undefined) {
    if (tenants.size >= MAX_TENANTS) tenants.clear();
    entry = { inputs: EMPTY, at: -Infinity };
    tenants.set(tid, entry);
  }
  const age = Date.now() - entry.at;
  if (age < LOCATION_TTL_MS) return entry.inputs;
  const background = age < 2 * LOCATION_TTL_MS && waitUntil !== undefined;
  let reading = entry.reading;
  if (reading === undefined) {
    const e = entry;
    reading = e.reading = read(request, env, placement, e)
      .catch((err: unknown) => {
        console.warn('location policy read failed', err instanceof Error ? err.message : String(err));
        e.at = Date.now() - LOCATION_TTL_MS + RETRY_MS;
        return e.inputs;
      })
      .finally(() => (e.reading = undefined));
    if (background) waitUntil(reading);
  }
  return background ? entry.inputs : reading;
}

/** Drops a tenant's cached inputs (a policy written through this isolate is seen at once). */
export function forgetLocationInputs(tenantId: string): void {
  tenants.delete(tenantId);
}
