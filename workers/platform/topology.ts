import type { CellRecord, ControlPlane, TenantRecord } from '../../durable-objects/control-plane.js';
import { backupPlacement } from './backup-calls.js';
import { assertControlReachable } from './faults.js';

export interface TenantPlacement {
  tenant: TenantRecord;
  cell: CellRecord;
}

const TTL_MS = 30_000;
const cache = new Map<string, { value: TenantPlacement; at: number }>();

export function controlPlane(env: Env): DurableObjectStub<ControlPlane> {
  return env.CONTROL.get(env.CONTROL.idFromName('global'));
}

/**
 * Tenant → cell lookups, cached per isolate so the control plane stays off the hot path.
 * `fresh` bypasses the cache after a replica said the primary moved.
 */
export async function lookupTenant(env: Env, idOrDomain: string, fresh = false): Promise<TenantPlacement | null> {
  const key = idOrDomain.toLowerCase();
  const hit = cache.get(key);
  if (!fresh && hit !== undefined && Date.now() - hit.at < TTL_MS) return hit.value;
  let found: TenantPlacement | null;
  try {
    assertControlReachable();
    found = await controlPlane(env).lookup(idOrDomain);
  } catch (e) {
    // Control plane unreachable (down, primary path down, or this edge's region isolated): a stale
    // entry, else the placement the backup service learned (issue 14).
    if (hit !== undefined) return hit.value;
    const learned = await backupPlacement(env, idOrDomain);
    if (learned !== null) return learned;
    throw e;
  }
  if (found === null) {
    cache.delete(key);
    return null;
  }
  cache.set(key, { value: found, at: Date.now() });
  return found;
}

/** Learns a cell's new primary from a replica, without waiting for the control plane. */
export function notePrimary(cellId: string, primaryRegion: string, epoch: number): void {
  for (const entry of cache.values()) {
    if (entry.value.cell.id === cellId && entry.value.cell.epoch < epoch) {
      entry.value = { ...entry.value, cell: { ...entry.value.cell, primaryRegion: primaryRegion as CellRecord['primaryRegion'], epoch } };
    }
  }
}

export function forgetTenant(idOrDomain: string): void {
  cache.delete(idOrDomain.toLowerCase());
}
