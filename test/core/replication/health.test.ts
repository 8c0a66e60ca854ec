import { describe, expect, it } from 'vitest';
import type { HealthConfig, HealthState } from '../../../core/replication/health.js';
import { DEFAULT_HEALTH, HEALTHY, isLost, observe, worstCaseDetectionMs, worstCaseRecoveryMs } from '../../../core/replication/health.js';

const run = (probes: Array<[number, boolean]>): HealthState =>
  probes.reduce((s, [sentAt, ok]) => observe(s, { sentAt, ok }), HEALTHY);

describe('failure detector', () => {
  it('declares the primary lost after N consecutive failures spanning the minimum time', () => {
    expect(isLost(run([[1000, false], [2000, false]]))).toBe(false);
    expect(isLost(run([[1000, false], [2000, false], [3000, false]]))).toBe(true);
  });

  it('a burst of failures shorter than the span is not enough', () => {
    const s = run([[1000, false], [1100, false], [1200, false], [1300, false]]);
    expect(s.consecutiveFailures).toBe(4);
    expect(isLost(s)).toBe(false);
    expect(isLost(observe(s, { sentAt: 2600, ok: false }))).toBe(true);
  });

  it('any success resets the count', () => {
    expect(isLost(run([[1000, false], [2000, false], [2500, true], [3000, false], [4000, false]]))).toBe(false);
  });

  it('ignores a late result older than the newest one', () => {
    const s = run([[1000, false], [2000, false], [3000, false]]);
    expect(isLost(observe(s, { sentAt: 2500, ok: true }))).toBe(true);
  });

  it('is configurable', () => {
    const quick: HealthConfig = { probeIntervalMs: 200, probeTimeoutMs: 200, failures: 2, minSpanMs: 100 };
    expect(isLost(run([[200, false], [400, false]]), quick)).toBe(true);
    expect(isLost(run([[200, false], [400, false]]))).toBe(false);
  });

  it('places probes by their sends: two timeouts and a fast refusal sent an interval apart are lost', () => {
    // Concluded at 2000, 3000 and 3100 (1.1 s apart) but sent at 1000, 2000 and 3000.
    expect(isLost(run([[1000, false], [2000, false], [3000, false]]))).toBe(true);
  });

  it('the detection bound allows for a watch started while the alarm\'s probe is in flight', () => {
    // First failed probe sent within interval + timeout of the good one, two more an interval apart, the last timing out.
    expect(worstCaseDetectionMs({ probeIntervalMs: 1000, probeTimeoutMs: 2000, failures: 3, minSpanMs: 1500 })).toBe(3000 + 2000 + 2000);
    expect(worstCaseDetectionMs()).toBe(5_000);
  });

  it('the default budget keeps loss → first acknowledged write under 10 s', () => {
    expect(worstCaseDetectionMs()).toBeLessThanOrEqual(5_000);
    expect(worstCaseRecoveryMs(DEFAULT_HEALTH, 2_000, 300)).toBeLessThan(10_000);
  });
});
