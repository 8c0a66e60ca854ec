import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, detect, keepWatching, patchConfig, signalOf, windowsFor, type MonitorConfig } from '../../../core/health/monitors.js';
import { alertJson, patchAlertState, wantsUnknownMembers, type StoredAlert } from '../../../core/health/alerts.js';
import { bucketStart } from '../../../core/outcomes/buckets.js';

const c = (success: number, callerError: number, serviceFailure = 0, caBlocked = 0) => ({ success, callerError, serviceFailure, caBlocked });
const small: MonitorConfig = { ...DEFAULT_CONFIG, minVolume: 5, minFailures: 5, windowMinutes: 5, baselineDays: 2 };

describe('health monitors: signal and seasonal baseline', () => {
  it('computes each signal from its scenarios', () => {
    expect(signalOf('tokenIssuanceFailure', { tokenIssuance: c(10, 3, 2), signIn: c(5, 5) })).toEqual({ attempts: 15, failures: 5 });
    expect(signalOf('conditionalAccessBlockedSignIn', { tokenIssuance: c(10, 3, 0, 2), signIn: c(5, 5, 0, 1) })).toEqual({ attempts: 23, failures: 3 });
    expect(signalOf('mfaSignInFailure', {})).toEqual({ attempts: 0, failures: 0 });
  });

  it('raises on a burst against a quiet baseline', () => {
    const d = detect('tokenIssuanceFailure', small, { tokenIssuance: c(2, 8) }, [{ tokenIssuance: c(100, 1) }, {}]);
    expect(d).toMatchObject({ alertType: 'tokenIssuanceFailure', attempts: 10, failures: 8, rate: 0.8 });
    expect(d?.baselineRate).toBeCloseTo(1 / 101);
  });

  it('stays quiet below the minimum volume or failures', () => {
    expect(detect('tokenIssuanceFailure', small, { tokenIssuance: c(0, 4) }, [])).toBeNull();
    expect(detect('tokenIssuanceFailure', { ...small, minFailures: 9 }, { tokenIssuance: c(2, 8) }, [])).toBeNull();
  });

  it('stays quiet when the rate is what the baseline already shows (seasonal)', () => {
    expect(detect('tokenIssuanceFailure', small, { tokenIssuance: c(20, 80) }, [{ tokenIssuance: c(30, 70) }])).toBeNull();
  });

  it('stays quiet when disabled', () => {
    expect(detect('tokenIssuanceFailure', { ...small, enabled: false }, { tokenIssuance: c(0, 80) }, [])).toBeNull();
  });

  it('reads the current window and the same window on each baseline day', () => {
    const now = Date.UTC(2026, 11, 2, 12, 0);
    expect(windowsFor(small, now)).toEqual([
      [now - 300_000, now],
      [now - 300_000 - 86_400_000, now - 86_400_000],
      [now - 300_000 - 2 * 86_400_000, now - 2 * 86_400_000],
    ]);
  });

  it('keeps a burst in the current window for windowMinutes after it, even at the end of a 5-minute bucket', () => {
    // The outcome store sums the buckets whose start lies in [from, to) (durable-objects/outcome-store.ts).
    const inCurrent = (config: MonitorConfig, burstAt: number, now: number) => {
      const [from, to] = windowsFor(config, now)[0]!;
      return bucketStart(burstAt) >= from && bucketStart(burstAt) < to;
    };
    // Failures 2 s before 12:05, flushed ≤ 5 s later, evaluated right after the boundary: it was never seen.
    const burstAt = Date.UTC(2026, 11, 2, 12, 4, 58);
    expect(inCurrent(small, burstAt, burstAt + 5_500)).toBe(true);
    for (const config of [small, { ...small, windowMinutes: 15 }]) {
      for (let after = 1; after < config.windowMinutes * 60_000; after += 7_001) {
        for (const at of [burstAt, Date.UTC(2026, 11, 2, 12, 0, 1)]) expect(inCurrent(config, at, at + after)).toBe(true);
      }
    }
    // The baseline days keep the same (bucket-aligned) span of their day.
    const ws = windowsFor(small, burstAt + 5_500);
    expect(ws[0]).toEqual([Date.UTC(2026, 11, 2, 12, 0), burstAt + 5_500]);
    expect(ws[1]).toEqual([ws[0]![0] - 86_400_000, ws[0]![1] - 86_400_000]);
  });
});

describe('keepWatching: whether the monitor evaluates again', () => {
  const window = 5 * 60_000;
  const pass = { busy: false, unanswered: 0, now: 1_000_000, wokenAt: 1_000_000 - 1_000, wakeEveryMs: 30_000, longestWindowMs: window };

  it('goes on while a current window holds outcomes, and stops when every store answered and none does', () => {
    expect(keepWatching({ ...pass, busy: true })).toBe(true);
    expect(keepWatching(pass)).toBe(false);
  });

  it('goes on while a store did not answer and the outcomes that woke it may still be in a window', () => {
    expect(keepWatching({ ...pass, unanswered: 1 })).toBe(true);
    // The window starts at a bucket's start (up to 5 minutes earlier), and outcomes up to one
    // throttled wake later may not have woken it: after all three they are out of the current window.
    const bound = window + 5 * 60_000 + 30_000;
    expect(keepWatching({ ...pass, unanswered: 1, wokenAt: pass.now - bound + 1 })).toBe(true);
    expect(keepWatching({ ...pass, unanswered: 1, wokenAt: pass.now - bound })).toBe(false);
    expect(keepWatching({ ...pass, unanswered: 1, wokenAt: undefined })).toBe(false);
    expect(keepWatching({ ...pass, unanswered: 1, longestWindowMs: 0 })).toBe(false);
  });
});

describe('alert configurations (PATCH)', () => {
  it('merges thresholds and refuses bad values', () => {
    expect(patchConfig(DEFAULT_CONFIG, { tesseraThresholds: { minVolume: 5, enabled: false } })).toEqual({ ok: true, value: { ...DEFAULT_CONFIG, minVolume: 5, enabled: false } });
    expect(patchConfig(DEFAULT_CONFIG, { tesseraThresholds: { minVolume: 0 } }).ok).toBe(false);
    expect(patchConfig(DEFAULT_CONFIG, { tesseraThresholds: { windowMinutes: 7 } }).ok).toBe(false);
    expect(patchConfig(DEFAULT_CONFIG, { tesseraThresholds: { nope: 1 } }).ok).toBe(false);
    expect(patchConfig(DEFAULT_CONFIG, { id: 'x' }).ok).toBe(false);
    expect(patchConfig(DEFAULT_CONFIG, []).ok).toBe(false);
  });
});

describe('alert shape (Graph beta healthMonitoring.alert)', () => {
  const alert: StoredAlert = {
    id: 'a1', alertType: 'tokenIssuanceFailure', createdDateTime: '2026-12-02T12:00:00.000Z', state: 'active',
    detection: { alertType: 'tokenIssuanceFailure', attempts: 10, failures: 8, rate: 0.8, baselineRate: 0, baselineAttempts: 0 },
    impactedCount: 2, impactedCountLimitExceeded: false, windowStart: '2026-12-02T11:55:00.000Z', windowEnd: '2026-12-02T12:00:00.000Z',
  };

  it("shows Tessera's own alert types as unknownFutureValue unless the caller opts in", () => {
    expect(alertJson(alert, 'https://g', false)).toMatchObject({ alertType: 'unknownFutureValue', scenario: 'unknownFutureValue', category: 'authentication', state: 'active' });
    expect(alertJson(alert, 'https://g', true)).toMatchObject({ alertType: 'tokenIssuanceFailure', scenario: 'tokenIssuance' });
    expect(alertJson({ ...alert, alertType: 'mfaSignInFailure' }, 'https://g', false)).toMatchObject({ alertType: 'mfaSignInFailure', scenario: 'mfa' });
    expect(wantsUnknownMembers('odata.maxpagesize=5, include-unknown-enum-members')).toBe(true);
    expect(wantsUnknownMembers(null)).toBe(false);
  });

  it('carries enrichment with impacts and supporting data', () => {
    const j = alertJson(alert, 'https://g', true) as { enrichment: { state: string; impacts: unknown[]; supportingData: { signIns: string } } };
    expect(j.enrichment.state).toBe('enriched');
    expect(j.enrichment.impacts).toEqual([{ '@odata.type': '#microsoft.graph.healthMonitoring.applicationImpactSummary', resourceType: 'application', impactedCount: 2, impactedCountLimitExceeded: false }]);
    expect(j.enrichment.supportingData.signIns).toContain('https://g/beta/auditLogs/signIns?$filter=');
  });

  it('lets PATCH change only the state', () => {
    expect(patchAlertState({ state: 'resolved' })).toEqual({ ok: true, value: 'resolved' });
    expect(patchAlertState({ state: 'gone' }).ok).toBe(false);
    expect(patchAlertState({ alertType: 'x' }).ok).toBe(false);
  });
});
