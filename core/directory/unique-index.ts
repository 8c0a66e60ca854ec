/**
 * Tenant-wide unique indexes (userPrincipalName, appId): `u/{type}.{prop}/{lowercased value}`
 * maps to the owning id, so uniqueness checks are one read and case-insensitive.
 */
import type { Mutation, StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { duplicateValue } from './errors.js';
import { uniqueKey } from './keys.js';
import type { GraphError, JsonObject, ResourceSpec } from './types.js';

/** Unique-index puts for `obj`, or a conflict if another object already owns a value. */
export function claimUnique(state: StateReader, tenantId: string, spec: ResourceSpec, id: string, obj: JsonObject): Result<Mutation[], GraphError> {
  const out: Mutation[] = [];
  for (const prop of spec.unique) {
    const v = obj[prop];
    if (typeof v !== 'string') continue;
    const key = uniqueKey(tenantId, spec.type, prop, v);
    const owner = state.get(key);
    if (owner !== undefined && owner !== id) return err(duplicateValue(prop));
    out.push({ key, value: id });
  }
  return ok(out);
}

/** Unique-index deletes for `obj` (only entries it actually owns). */
export function releaseUnique(state: StateReader, tenantId: string, spec: ResourceSpec, id: string, obj: JsonObject): Mutation[] {
  const out: Mutation[] = [];
  for (const prop of spec.unique) {
    const v = obj[prop];
    if (typeof v !== 'string') continue;
    const key = uniqueKey(tenantId, spec.type, prop, v);
    if (state.get(key) === id) out.push({ key, value: null });
  }
  return out;
}

