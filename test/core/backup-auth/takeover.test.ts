import { describe, expect, it } from 'vitest';
import {
  backupCanServe, claimProbe, classifyPrimary, DRILL_CACHE_MS, drillActive, drillAfterRead, drillViewActive, freshView, needsDrillRead, MIN_FAILURES, observe, parseDrill, PROBE_EVERY_MS, RECOVERY_PROBES, route, WINDOW_MS, type HealthView,
} from '../../../core/backup-auth/takeover.js';

const T0 = Date.UTC(2026, 0, 1);

function failMany(view: HealthView, n: number, at: number): HealthView {
  let v = view;
  for (let i = 0; i < n; i++) v = observe(v, 'error', at + i, false);
  return v;
}

describe('core/backup-auth/takeover: per-cell health view', () => {
  it('stays on the primary below the failure threshold', () => {
    const v = failMany(freshView(T0), MIN_FAILURES - 1, T0);
    expect(v.mode).toBe('primary');
    expect(route(v, T0 + 10)).toBe('primary');
  });

  it('moves to backup mode once enough of the window failed, and counts timeouts and 5xx as failures', () => {
    let v = observe(freshView(T0), 'timeout', T0, false);
    v = observe(v, 'server_error', T0 + 1, false);
    v = observe(v, 'error', T0 + 2, false);
    expect(v.mode).toBe('backup');
    expect(v.since).toBe(T0 + 2);
  });

  it('does not trip when failures are a small share of the traffic', () => {
    let v = freshView(T0);
    for (let i = 0; i < 20; i++) v = observe(v, 'ok', T0 + i, false);
    v = failMany(v, MIN_FAILURES, T0 + 30);
    expect(v.mode).toBe('primary');
  });

  it('forgets failures older than the window', () => {
    let v = failMany(freshView(T0), MIN_FAILURES - 1, T0);
    v = observe(v, 'error', T0 + WINDOW_MS + 5, false);
    expect(v.mode).toBe('primary');
  });

  it('in backup mode sends requests to the backup path and probes the primary every interval', () => {
    const v = failMany(freshView(T0), MIN_FAILURES, T0);
    const tripped = v.since;
    expect(route(v, tripped + 1)).toBe('backup');
    expect(route(v, tripped + PROBE_EVERY_MS)).toBe('probe');
    expect(route(claimProbe(v, tripped + PROBE_EVERY_MS), tripped + PROBE_EVERY_MS + 1)).toBe('backup');
  });

  it('returns to the primary after consecutive good probes only', () => {
    let v = failMany(freshView(T0), MIN_FAILURES, T0);
    v = observe(v, 'ok', T0 + 3_000, true);
    v = observe(v, 'error', T0 + 5_000, true);
    expect(v.goodProbes).toBe(0);
    for (let i = 0; i < RECOVERY_PROBES; i++) v = observe(v, 'ok', T0 + 7_000 + i * PROBE_EVERY_MS, true);
    expect(v.mode).toBe('primary');
    expect(v.recent).toEqual([]);
  });

  it('a good answer outside a probe does not count towards recovery', () => {
    let v = failMany(freshView(T0), MIN_FAILURES, T0);
    for (let i = 0; i < RECOVERY_PROBES + 1; i++) v = observe(v, 'ok', T0 + 100 + i, false);
    expect(v.mode).toBe('backup');
  });
});

describe('core/backup-auth/takeover: per-request rules', () => {
  it('classifies primary outcomes', () => {
    expect(classifyPrimary({ kind: 'reply', status: 200 })).toBe('ok');
    expect(classifyPrimary({ kind: 'reply', status: 400 })).toBe('ok');
    expect(classifyPrimary({ kind: 'reply', status: 503 })).toBe('server_error');
    expect(classifyPrimary({ kind: 'unavailable' })).toBe('error');
    expect(classifyPrimary({ kind: 'timeout' })).toBe('timeout');
  });

  it('serves refresh_token, client_credentials and JWKS only', () => {
    expect(backupCanServe('token', 'refresh_token')).toBe(true);
    expect(backupCanServe('token', 'client_credentials')).toBe(true);
    expect(backupCanServe('jwks', null)).toBe(true);
    expect(backupCanServe('token', 'authorization_code')).toBe(false);
    expect(backupCanServe('token', 'urn:ietf:params:oauth:grant-type:device_code')).toBe(false);
    expect(backupCanServe('authorize', null)).toBe(false);
    expect(backupCanServe('devicecode', null)).toBe(false);
  });
});

describe('core/backup-auth/takeover: drills', () => {
  it('parses {tenantId, minutes} and is active until its end', () => {
    const d = parseDrill({ tenantId: 'a1b2', minutes: 5 }, T0);
    expect(d).toEqual({ tenantId: 'a1b2', until: T0 + 300_000 });
    expect(drillActive(d as { tenantId: string; until: number }, T0 + 299_999)).toBe(true);
    expect(drillActive(d as { tenantId: string; until: number }, T0 + 300_000)).toBe(false);
    expect(drillActive(undefined, T0)).toBe(false);
  });

  it('refuses bad drills with a message', () => {
    expect(parseDrill([], T0)).toBe('body must be a JSON object');
    expect(parseDrill({ tenantId: 'a/b', minutes: 1 }, T0)).toBe('tenantId must be a tenant id');
    expect(parseDrill({ tenantId: 'a', minutes: -1 }, T0)).toMatch(/^minutes must be/);
    expect(parseDrill({ tenantId: 'a', minutes: 1e9 }, T0)).toMatch(/^minutes must be/);
    expect(parseDrill({ tenantId: 'a', minutes: 1, extra: 1 }, T0)).toBe("unknown property 'extra'");
  });

  it('are read from the store once per interval per isolate; a drill set elsewhere shows within DRILL_CACHE_MS', () => {
    expect(needsDrillRead(undefined, T0)).toBe(true);
    const none = drillAfterRead(undefined, { ok: true, until: null }, T0);
    expect(drillViewActive(none, T0)).toBe(false);
    expect(needsDrillRead(none, T0 + DRILL_CACHE_MS - 1)).toBe(false);
    expect(needsDrillRead(none, T0 + DRILL_CACHE_MS)).toBe(true);
    const set = drillAfterRead(none, { ok: true, until: T0 + 60_000 }, T0 + DRILL_CACHE_MS);
    expect(drillViewActive(set, T0 + DRILL_CACHE_MS)).toBe(true);
    expect(drillViewActive(set, T0 + 60_000)).toBe(false); // ends on time without another read
  });

  it('keep the last known answer when the store cannot be read (down or slow), and retry only after an interval', () => {
    const on = drillAfterRead(undefined, { ok: true, until: T0 + 600_000 }, T0);
    const failed = drillAfterRead(on, { ok: false }, T0 + DRILL_CACHE_MS);
    expect(drillViewActive(failed, T0 + DRILL_CACHE_MS)).toBe(true);
    expect(failed.readAt).toBe(T0 + DRILL_CACHE_MS);
    expect(drillViewActive(drillAfterRead(undefined, { ok: false }, T0), T0)).toBe(false);
  });
});
