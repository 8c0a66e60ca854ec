/**
 * Entra-like smart lockout. Failures are counted separately for sign-ins from familiar and
 * unfamiliar locations (familiar-locations.ts), so an attacker hammering from elsewhere locks
 * only the "unfamiliar" bucket and the real user keeps signing in from home. After `threshold`
 * failures the bucket locks for `baseLockMs`; each further lockout (before the history is
 * forgotten) doubles it. Threshold and first duration come from the tenant's "Password Rule
 * Settings" (`LockoutThreshold`, `LockoutDurationInSeconds`; Graph `/settings`).
 * Pure transitions over a small JSON state stored at `t/{tid}/lock/{userId}`, and at
 * `t/{tid}/lockx/{sha256(upn)}` for user names that are not accounts: unknown names lock the
 * same way, so the lockout message reveals nothing about which accounts exist.
 */
import type { StateReader } from '../kv.js';
import { passwordRuleValues } from '../directory/directory-settings.js';

export type LocationFamiliarity = 'familiar' | 'unfamiliar';

export interface LockoutBucket {
  /** Failures since the last lockout or success. */
  failures: number;
  /** Epoch ms until which sign-ins from this kind of location are refused (0 = not locked). */
  lockedUntil: number;
  /** Lockouts so far; drives the growing duration. */
  lockouts: number;
  lastFailureAt: number;
}

export interface LockoutState {
  familiar: LockoutBucket;
  unfamiliar: LockoutBucket;
}

export interface LockoutPolicy {
  threshold: number;
  baseLockMs: number;
  maxLockMs: number;
  /** Quiet time after which failure counts and lockout history are forgotten. */
  forgetAfterMs: number;
}

export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = {
  threshold: 10,
  baseLockMs: 60_000,
  maxLockMs: 24 * 3_600_000,
  forgetAfterMs: 24 * 3_600_000,
};

/** The tenant's policy: its Password Rule Settings over the defaults. */
export function lockoutPolicyFor(reader: StateReader, tenantId: string): LockoutPolicy {
  const v = passwordRuleValues(reader, tenantId);
  return { ...DEFAULT_LOCKOUT_POLICY, threshold: Number(v['LockoutThreshold']), baseLockMs: Number(v['LockoutDurationInSeconds']) * 1000 };
}

/** When a stored state can be deleted: once every lock has ended and the quiet period passed. */
export function lockoutExpiresAt(state: LockoutState, now: number, policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY): number {
  return Math.max(now, state.familiar.lockedUntil, state.unfamiliar.lockedUntil) + policy.forgetAfterMs;
}

const emptyBucket = (): LockoutBucket => ({ failures: 0, lockedUntil: 0, lockouts: 0, lastFailureAt: 0 });

export function initialLockoutState(): LockoutState {
  return { familiar: emptyBucket(), unfamiliar: emptyBucket() };
}

export const lockoutKey = (tenantId: string, userId: string): string => `t/${tenantId}/lock/${userId}`;

function decay(b: LockoutBucket, now: number, p: LockoutPolicy): LockoutBucket {
  const quietSince = Math.max(b.lastFailureAt, b.lockedUntil);
  return b.lastFailureAt > 0 && now - quietSince >= p.forgetAfterMs ? emptyBucket() : b;
}

export function isLocked(state: LockoutState, now: number, location: LocationFamiliarity): boolean {
  return now < state[location].lockedUntil;
}

/** Milliseconds until sign-in from `location` is allowed again (0 when not locked). */
export function lockRemainingMs(state: LockoutState, now: number, location: LocationFamiliarity): number {
  return Math.max(0, state[location].lockedUntil - now);
}

/**
 * Records a bad password. While locked, attempts are refused before the password is checked,
 * so they are not counted (otherwise an attacker could extend a lock indefinitely for free).
 * Once a bucket has locked, the next failure after the lock ends locks again, for twice as long.
 */
export function recordFailure(
  state: LockoutState,
  now: number,
  location: LocationFamiliarity,
  policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY,
): LockoutState {
  const b = decay(state[location], now, policy);
  if (now < b.lockedUntil) return state;
  const failures = b.failures + 1;
  const limit = b.lockouts > 0 ? 1 : policy.threshold;
  let next: LockoutBucket;
  if (failures >= limit) {
    const duration = Math.min(policy.baseLockMs * 2 ** b.lockouts, policy.maxLockMs);
    next = { failures: 0, lockedUntil: now + duration, lockouts: b.lockouts + 1, lastFailureAt: now };
  } else {
    next = { ...b, failures, lastFailureAt: now };
  }
  return { ...state, [location]: next };
}

/**
 * A correct password proves knowledge of the secret: clear the bucket it came from. A success
 * from a familiar location also clears the unfamiliar bucket (the user is demonstrably fine);
 * a success from elsewhere does not unlock the familiar bucket.
 */
export function recordSuccess(state: LockoutState, location: LocationFamiliarity): LockoutState {
  return location === 'familiar' ? initialLockoutState() : { ...state, unfamiliar: emptyBucket() };
}

/** Reads stored state defensively: anything unexpected starts fresh rather than failing sign-in. */
export function parseLockoutState(value: unknown): LockoutState {
  const bucket = (v: unknown): LockoutBucket => {
    const o = v as Partial<LockoutBucket> | null;
    const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0);
    return o && typeof o === 'object' ? { failures: n(o.failures), lockedUntil: n(o.lockedUntil), lockouts: n(o.lockouts), lastFailureAt: n(o.lastFailureAt) } : emptyBucket();
  };
  const o = value as { familiar?: unknown; unfamiliar?: unknown } | null | undefined;
  return { familiar: bucket(o?.familiar), unfamiliar: bucket(o?.unfamiliar) };
}
