/**
 * When a region's managed-identity endpoint needs a new signing key, and from when it signs.
 * Two callers: workload changes (a region with no usable key gets one at once), and the daily
 * roll on the cell's primary, which publishes a successor days before the current key retires,
 * so resource apps that cache the JWKS know it before the first token it signs (as Entra does
 * with its own keys). Without the daily roll a tenant whose workloads do not change would reach
 * the end of its regional keys' signing life and its regional endpoints would stop issuing.
 */
import type { StateReader } from '../kv.js';
import { keyPhase } from '../token/signing-keys.js';
import { loadRegionalKeys, regionalKeyKey } from './keys.js';

const DAY = 86_400_000;
/** A regional key must have this much signing life left, or it gets a successor. */
export const REGIONAL_KEY_MIN_REMAINING_MS = 7 * DAY;
/** A scheduled successor starts signing this long before its predecessor retires. */
const HANDOVER_MS = DAY;

export interface RegionalKeyNeed {
  region: string;
  activateAt: number;
}

type RegionalKey = ReturnType<typeof loadRegionalKeys>[number];

/** What one region needs; undefined when its keys are fine. */
function need(keys: readonly RegionalKey[], region: string, now: number): RegionalKeyNeed | undefined {
  const mine = keys.filter((k) => k.region === region);
  const active = mine.filter((k) => keyPhase(k, now) === 'active').sort((a, b) => b.retireAt - a.retireAt)[0];
  if (active === undefined) return { region, activateAt: now };
  if (active.retireAt - now >= REGIONAL_KEY_MIN_REMAINING_MS) return undefined;
  if (mine.some((k) => keyPhase(k, now) === 'pending')) return undefined; // its successor is already published
  return { region, activateAt: Math.max(now, active.retireAt - HANDOVER_MS) };
}

/** The keys a workload change adds: now for a region with none that signs, a published successor for one that is ageing. */
export function regionalKeyNeeds(reader: StateReader, tid: string, regions: readonly string[], now: number): RegionalKeyNeed[] {
  return needs(loadRegionalKeys(reader, tid), regions, now);
}

const needs = (keys: readonly RegionalKey[], regions: readonly string[], now: number): RegionalKeyNeed[] => regions.flatMap((r) => need(keys, r, now) ?? []);

export const regionsNeedingKeys = (reader: StateReader, tid: string, regions: readonly string[], now: number): string[] =>
  regionalKeyNeeds(reader, tid, regions, now).map((n) => n.region);

export interface RegionalRollover {
  /** New keys to create, by region, with the time each starts signing. */
  keys: RegionalKeyNeed[];
  /** Keys of regional key records whose tokens have all expired: removed. */
  drop: string[];
}

/** The daily roll. Only tenants that use managed identities (they have regional keys) are rolled. */
export function planRegionalKeyRollover(reader: StateReader, tid: string, regions: readonly string[], now: number): RegionalRollover {
  const keys = loadRegionalKeys(reader, tid);
  if (keys.length === 0) return { keys: [], drop: [] };
  return {
    keys: needs(keys, regions, now),
    drop: keys.filter((k) => keyPhase(k, now) === 'expired').map((k) => regionalKeyKey(tid, k.region, k.kid)),
  };
}
