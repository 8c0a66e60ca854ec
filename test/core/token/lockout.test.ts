import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../core/kv.js';
import { PASSWORD_RULE_TEMPLATE_ID } from '../../../core/directory/setting-templates.js';
import {
  DEFAULT_LOCKOUT_POLICY, initialLockoutState, isLocked, lockoutExpiresAt, lockoutKey, lockoutPolicyFor, lockRemainingMs, parseLockoutState, recordFailure, recordSuccess,
  type LocationFamiliarity, type LockoutState,
} from '../../../core/token/lockout.js';
import { T0 } from './helpers.js';

const fail = (s: LockoutState, n: number, now: number, loc: LocationFamiliarity = 'familiar') => {
  for (let i = 0; i < n; i++) s = recordFailure(s, now, loc);
  return s;
};

describe('smart lockout threshold', () => {
  it('locks after 10 failures, not before', () => {
    const s9 = fail(initialLockoutState(), 9, T0);
    expect(isLocked(s9, T0, 'familiar')).toBe(false);
    const s10 = recordFailure(s9, T0, 'familiar');
    expect(isLocked(s10, T0, 'familiar')).toBe(true);
    expect(lockRemainingMs(s10, T0, 'familiar')).toBe(60_000);
    expect(isLocked(s10, T0 + 60_000, 'familiar')).toBe(false);
  });

  it('does not count attempts made while locked', () => {
    const locked = fail(initialLockoutState(), 10, T0);
    expect(fail(locked, 50, T0 + 1000)).toEqual(locked);
  });
});

describe('growing lockout interval', () => {
  it('doubles on each subsequent lockout and is capped', () => {
    let s = fail(initialLockoutState(), 10, T0);
    let now = T0;
    const durations = [lockRemainingMs(s, now, 'familiar')];
    for (let i = 0; i < 12; i++) {
      now += lockRemainingMs(s, now, 'familiar');
      s = recordFailure(s, now, 'familiar'); // one failure after a lockout re-locks
      durations.push(lockRemainingMs(s, now, 'familiar'));
    }
    expect(durations.slice(0, 4)).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(Math.max(...durations)).toBe(24 * 3_600_000);
  });

  it('forgets history after a quiet day', () => {
    let s = fail(initialLockoutState(), 10, T0);
    const later = T0 + 60_000 + 24 * 3_600_000;
    s = recordFailure(s, later, 'familiar');
    expect(isLocked(s, later, 'familiar')).toBe(false);
    expect(s.familiar.failures).toBe(1);
  });
});

describe('familiar vs unfamiliar locations', () => {
  it('failures from an unfamiliar location do not lock the familiar location', () => {
    const s = fail(initialLockoutState(), 500, T0, 'unfamiliar');
    expect(isLocked(s, T0, 'unfamiliar')).toBe(true);
    expect(isLocked(s, T0, 'familiar')).toBe(false);
    expect(s.familiar.failures).toBe(0);
  });

  it('a success from the familiar location resets both; from elsewhere only the unfamiliar bucket', () => {
    const both = fail(fail(initialLockoutState(), 5, T0, 'familiar'), 10, T0, 'unfamiliar');
    expect(recordSuccess(both, 'familiar')).toEqual(initialLockoutState());
    const partial = recordSuccess(both, 'unfamiliar');
    expect(partial.familiar.failures).toBe(5);
    expect(isLocked(partial, T0, 'unfamiliar')).toBe(false);
  });
});

describe('persistence (t/{tid}/lock/{userId})', () => {
  it('parses stored state defensively', () => {
    expect(lockoutKey('tA', 'u1')).toBe('t/tA/lock/u1');
    const s = fail(initialLockoutState(), 3, T0);
    expect(parseLockoutState(JSON.parse(JSON.stringify(s)))).toEqual(s);
    expect(parseLockoutState(undefined)).toEqual(initialLockoutState());
    expect(parseLockoutState({ familiar: { failures: 'x', lockedUntil: -5 } })).toEqual(initialLockoutState());
  });
});

describe('policy from the tenant\'s Password Rule Settings', () => {
  it('uses LockoutThreshold and LockoutDurationInSeconds, else the defaults (10, 60 s)', () => {
    const state = new MemoryState();
    expect(lockoutPolicyFor(state, 'tA')).toEqual(DEFAULT_LOCKOUT_POLICY);
    state.apply([{ key: 't/tA/ds/s1', value: { id: 's1', templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'LockoutThreshold', value: '3' }, { name: 'LockoutDurationInSeconds', value: '300' }] } }]);
    const p = lockoutPolicyFor(state, 'tA');
    expect(p).toMatchObject({ threshold: 3, baseLockMs: 300_000 });
    const s = fail(initialLockoutState(), 3, T0, 'familiar');
    expect(isLocked(s, T0, 'familiar')).toBe(false); // default policy: 3 < 10
    const custom = [0, 1, 2].reduce((acc) => recordFailure(acc, T0, 'familiar', p), initialLockoutState());
    expect(lockRemainingMs(custom, T0, 'familiar')).toBe(300_000);
    // A malformed stored value reads as the default, never a crash.
    state.apply([{ key: 't/tA/ds/s1', value: { id: 's1', templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'LockoutThreshold', value: 'lots' }] } }]);
    expect(lockoutPolicyFor(state, 'tA').threshold).toBe(10);
  });

  it('a stored state expires once its locks ended and a quiet day passed', () => {
    const s = fail(initialLockoutState(), 10, T0);
    expect(lockoutExpiresAt(s, T0)).toBe(T0 + 60_000 + 24 * 3_600_000);
    expect(lockoutExpiresAt(initialLockoutState(), T0)).toBe(T0 + 24 * 3_600_000);
  });
});
