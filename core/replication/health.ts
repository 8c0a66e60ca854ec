/**
 * Failure detector for a cell's primary: pure rules over probe results and an injected clock.
 * A probe is a `probe` call with a timeout (probe.ts, judged by detector.ts); it fails on
 * timeout, on error, when the replica answers but is no longer primary (fenced, or a secondary
 * after a lost handoff), or when it reaches no out-of-region peer that accepts its entries.
 *
 * The primary is declared lost after `failures` consecutive failed probes that together span at
 * least `minSpanMs` (so a burst of failures from one network blip is not enough), and any success
 * resets the count. Probes are started every interval whether or not the previous one answered.
 * Probes are placed in time by when they were sent, not when they concluded: sends are one
 * interval apart, but a probe concludes anywhere from one round trip (a fast refusal: fenced,
 * moved) to the full timeout, so after two timeouts a fast third failure would span only
 * interval + round trip and a fourth probe would be needed, past the bound (simulator seed 3898).
 * The defaults keep loss → first acknowledged write at the new primary under 10 s: detection
 * ≤ (failures + 1) × interval + timeout = 5 s, then the observers' round (observers.ts), the failover's three rounds and
 * the first write's commit of the adopted log, each bounded by the peer timeout (see
 * `worstCaseRecoveryMs`).
 */
export interface HealthConfig {
  /** Time between probe starts. */
  readonly probeIntervalMs: number;
  /** A probe not answered within this counts as failed. */
  readonly probeTimeoutMs: number;
  /** Consecutive failed probes needed. */
  readonly failures: number;
  /** Minimum time from the first to the last of those failures. */
  readonly minSpanMs: number;
}

export const DEFAULT_HEALTH: HealthConfig = { probeIntervalMs: 1_000, probeTimeoutMs: 1_000, failures: 3, minSpanMs: 1_500 };

export interface ProbeResult {
  /** Clock time when the probe was sent (what it says held then, give or take its timeout). */
  readonly sentAt: number;
  readonly ok: boolean;
}

/** Times are those of the probes' sends (`ProbeResult.sentAt`). */
export interface HealthState {
  readonly consecutiveFailures: number;
  /** When the first failed probe of the current run was sent. */
  readonly firstFailureAt: number | undefined;
  readonly lastFailureAt: number | undefined;
  /** When the last good probe was sent: the primary was well at (about) that time. */
  readonly lastSuccessAt: number | undefined;
}

export const HEALTHY: HealthState = { consecutiveFailures: 0, firstFailureAt: undefined, lastFailureAt: undefined, lastSuccessAt: undefined };

/** Folds one probe result in. A probe sent before the latest one seen is ignored (its late reply is older news). */
export function observe(state: HealthState, probe: ProbeResult): HealthState {
  const latest = Math.max(state.lastFailureAt ?? -Infinity, state.lastSuccessAt ?? -Infinity);
  if (probe.sentAt < latest) return state;
  if (probe.ok) return { consecutiveFailures: 0, firstFailureAt: undefined, lastFailureAt: undefined, lastSuccessAt: probe.sentAt };
  return {
    consecutiveFailures: state.consecutiveFailures + 1,
    firstFailureAt: state.firstFailureAt ?? probe.sentAt,
    lastFailureAt: probe.sentAt,
    lastSuccessAt: state.lastSuccessAt,
  };
}

/** Whether the primary should be treated as lost (and an unplanned failover started). */
export function isLost(state: HealthState, config: HealthConfig = DEFAULT_HEALTH): boolean {
  if (state.consecutiveFailures < config.failures) return false;
  return (state.lastFailureAt ?? 0) - (state.firstFailureAt ?? 0) >= config.minSpanMs;
}

/** Worst-case time from the send of the primary's last good probe until it is declared lost. */
export function worstCaseDetectionMs(config: HealthConfig = DEFAULT_HEALTH): number {
  // Enough failed probes, sent one interval apart, to make the count and the span. The first is
  // sent within an interval of the good one, or (a watch started on demand while the alarm's
  // probe was in flight, whose result it does not see) within an interval plus a timeout;
  // the last concludes by its timeout.
  const probesNeeded = Math.max(config.failures, Math.ceil(config.minSpanMs / config.probeIntervalMs) + 1);
  const firstSent = config.probeIntervalMs + config.probeTimeoutMs;
  return firstSent + (probesNeeded - 1) * config.probeIntervalMs + config.probeTimeoutMs;
}

/**
 * Worst case from loss to the first acknowledged write at the new primary: detection, the
 * observers' round (observers.ts: one round trip to them, each probing once under its timeout),
 * then status, fence and promote rounds, then the first write (commit of the adopted log + itself).
 */
export function worstCaseRecoveryMs(config: HealthConfig = DEFAULT_HEALTH, peerTimeoutMs = 2_000, roundTripMs = 300): number {
  const observersRound = roundTripMs + config.probeTimeoutMs;
  return worstCaseDetectionMs(config) + observersRound + 3 * roundTripMs + 2 * roundTripMs + Math.min(peerTimeoutMs, 2 * roundTripMs);
}
