/**
 * The daily roll of a tenant's regional managed-identity keys (run with the global key rotation
 * on the cell's primary). Workload changes already add successors, but a tenant whose workloads
 * do not change would otherwise reach the end of its regional keys' signing life and its
 * regional endpoints would stop issuing tokens.
 */
import type { StateReader } from '../kv.js';
import { keyPhase } from '../token/signing-keys.js';
import { loadRegionalKeys, regionalKeyKey } from './keys.js';
import { regionsNeedingKeys } from './workloads.js';

export interface RegionalRollover {
  /** Regions that need a new key now (none active with enough signing life left). */
  regions: string[];
  /** Keys of regional key records whose tokens have all expired: removed. */
  drop: string[];
}

/** Only tenants that use managed identities (they have regional keys) are rolled. */
export function planRegionalKeyRollover(reader: StateReader, tid: string, regions: readonly string[], now: number): RegionalRollover {
  const keys = loadRegionalKeys(reader, tid);
  if (keys.length === 0) return { regions: [], drop: [] };
  return {
    regions: regionsNeedingKeys(reader, tid, regions, now),
    drop: keys.filter((k) => keyPhase(k, now) === 'expired').map((k) => regionalKeyKey(tid, k.region, k.kid)),
  };
}
