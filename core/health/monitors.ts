/**
 * Health monitors (issue 16): per alert type, a signal (failures ÷ attempts of some scenarios)
 * compared with the tenant's own seasonal baseline. Pure: the HealthMonitor object feeds it
 * window sums read from the regional outcome stores.
 *
 * Method: the current window is the last `windowMinutes`, from the start of the 5-minute bucket
 * it begins in (`windowsFor`); the baseline is the same window of the day on each of the previous
 * `baselineDays` days (so daily seasonality is matched), summed.
 * An alert is raised when, in the current window, attempts ≥ `minVolume`, failures ≥
 * `minFailures`, and the failure rate exceeds both `baselineRate × multiplier` and
 * `baselineRate + minRateIncrease`. One active alert per type at a time.
 */
import { err, ok, type Result } from '../result.js';
import { BUCKET_MS, bucketStart, type Counts } from '../outcomes/buckets.js';
import type { Scenario } from '../outcomes/classify.js';
import { parseEmailConfigurations, type EmailNotificationConfiguration } from './alert-email.js';

/** Graph's own alert types first; Tessera's own come after `unknownFutureValue` (evolvable enum). */
export const GRAPH_ALERT_TYPES = ['mfaSignInFailure', 'conditionalAccessBlockedSignIn'] as const;
/** Rate monitors: raised by `detect` against the baseline. */
export const RATE_ALERT_TYPES = ['mfaSignInFailure', 'conditionalAccessBlockedSignIn', 'tokenIssuanceFailure', 'managedIdentityFailure'] as const;
/** Incident monitors: raised by a platform event (core/health/incidents.ts), not by a rate. */
export const INCIDENT_ALERT_TYPES = ['cellFailover', 'backupAuthTakeover'] as const;
export const TESSERA_ALERT_TYPES = ['tokenIssuanceFailure', 'managedIdentityFailure', ...INCIDENT_ALERT_TYPES] as const;
export type RateAlertType = (typeof RATE_ALERT_TYPES)[number];
export type IncidentAlertType = (typeof INCIDENT_ALERT_TYPES)[number];
export type AlertType = RateAlertType | IncidentAlertType;
export const ALERT_TYPES: readonly AlertType[] = [...GRAPH_ALERT_TYPES, ...TESSERA_ALERT_TYPES];
export const isAlertType = (s: string): s is AlertType => (ALERT_TYPES as readonly string[]).includes(s);

export interface MonitorConfig {
  enabled: boolean;
  windowMinutes: number;
  baselineDays: number;
  minVolume: number;
  minFailures: number;
  multiplier: number;
  minRateIncrease: number;
  /** Graph's `emailNotificationConfigurations` (core/health/alert-email.ts); absent: none. */
  emails?: EmailNotificationConfiguration[];
}

export const DEFAULT_CONFIG: MonitorConfig = { enabled: true, windowMinutes: 15, baselineDays: 7, minVolume: 100, minFailures: 20, multiplier: 3, minRateIncrease: 0.05 };

const LIMITS: Record<Exclude<keyof MonitorConfig, 'enabled' | 'emails'>, [number, number]> = {
  windowMinutes: [5, 1440], baselineDays: [0, 28], minVolume: [1, 1e9], minFailures: [1, 1e9], multiplier: [1, 1000], minRateIncrease: [0, 1],
};

/** A PATCH of an alert configuration: `{ tesseraThresholds: {...}, emailNotificationConfigurations? }` merged over the current one. */
export function patchConfig(current: MonitorConfig, body: unknown): Result<MonitorConfig, string> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return err('The request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (k !== 'tesseraThresholds' && k !== 'emailNotificationConfigurations' && k !== '@odata.type') return err(`Property '${k.slice(0, 64)}' cannot be updated.`);
  const next: MonitorConfig = { ...current };
  if (b.emailNotificationConfigurations !== undefined) {
    const emails = parseEmailConfigurations(b.emailNotificationConfigurations);
    if (!emails.ok) return emails;
    next.emails = emails.value;
  }
  const t = b.tesseraThresholds;
  if (t === undefined) return ok(next);
  if (typeof t !== 'object' || t === null || Array.isArray(t)) return err('tesseraThresholds must be an object.');
  for (const [k, v] of Object.entries(t as Record<string, unknown>)) {
    if (k === 'enabled') {
      if (typeof v !== 'boolean') return err('tesseraThresholds.enabled must be a boolean.');
      next.enabled = v;
      continue;
    }
    if (!Object.hasOwn(LIMITS, k)) return err(`Unknown threshold '${k.slice(0, 64)}'.`);
    const [lo, hi] = LIMITS[k as keyof typeof LIMITS];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) return err(`tesseraThresholds.${k} must be a number from ${lo} to ${hi}.`);
    if (k === 'windowMinutes' && v % 5 !== 0) return err('tesseraThresholds.windowMinutes must be a multiple of 5.');
    next[k as keyof typeof LIMITS] = v;
  }
  return ok(next);
}

interface Signal {
  scenarios: readonly Scenario[];
  failures: ReadonlyArray<keyof Counts>;
  /** Graph's `scenario` of the alert. */
  scenario: string;
  resourceType: 'user' | 'application';
}

export const SIGNALS: Readonly<Record<AlertType, Signal>> = {
  mfaSignInFailure: { scenarios: ['mfaSignIn'], failures: ['callerError', 'serviceFailure'], scenario: 'mfa', resourceType: 'user' },
  conditionalAccessBlockedSignIn: { scenarios: ['signIn', 'mfaSignIn', 'tokenIssuance'], failures: ['caBlocked'], scenario: 'conditionalAccess', resourceType: 'user' },
  tokenIssuanceFailure: { scenarios: ['tokenIssuance'], failures: ['callerError', 'serviceFailure'], scenario: 'tokenIssuance', resourceType: 'application' },
  managedIdentityFailure: { scenarios: ['managedIdentity'], failures: ['callerError', 'serviceFailure'], scenario: 'managedIdentity', resourceType: 'application' },
  // Incidents: the signal only counts the impact (apps whose requests failed in the window).
  cellFailover: { scenarios: ['tokenIssuance', 'managedIdentity'], failures: ['serviceFailure'], scenario: 'failover', resourceType: 'application' },
  backupAuthTakeover: { scenarios: ['tokenIssuance'], failures: ['serviceFailure'], scenario: 'backupAuthentication', resourceType: 'application' },
};

/** Counts of one window per scenario. */
export type WindowSums = Partial<Record<Scenario, Counts>>;

export function signalOf(type: AlertType, w: WindowSums): { attempts: number; failures: number } {
  const s = SIGNALS[type];
  let attempts = 0;
  let failures = 0;
  for (const sc of s.scenarios) {
    const c = w[sc];
    if (c === undefined) continue;
    attempts += c.success + c.callerError + c.serviceFailure;
    for (const f of s.failures) failures += c[f];
  }
  return { attempts, failures };
}

export interface Detection {
  alertType: AlertType;
  attempts: number;
  failures: number;
  rate: number;
  baselineRate: number;
  baselineAttempts: number;
}

/** `current`: the last window; `baseline`: the same window on each previous day (any number, maybe none). */
export function detect(type: AlertType, config: MonitorConfig, current: WindowSums, baseline: readonly WindowSums[]): Detection | null {
  if (!config.enabled) return null;
  const now = signalOf(type, current);
  if (now.attempts < config.minVolume || now.failures < config.minFailures) return null;
  let bAttempts = 0;
  let bFailures = 0;
  for (const w of baseline) {
    const s = signalOf(type, w);
    bAttempts += s.attempts;
    bFailures += s.failures;
  }
  const baselineRate = bAttempts === 0 ? 0 : bFailures / bAttempts;
  const rate = now.failures / now.attempts;
  if (rate <= baselineRate * config.multiplier || rate <= baselineRate + config.minRateIncrease) return null;
  return { alertType: type, attempts: now.attempts, failures: now.failures, rate, baselineRate, baselineAttempts: bAttempts };
}

/**
 * The windows to read: index 0 is the current one, then one per baseline day. Counters are
 * 5-minute buckets and a store sums those whose start lies in a window, so the current window
 * starts at the start of the bucket `windowMinutes` ago: it holds every outcome of the last
 * `windowMinutes` (and up to 5 minutes more). Starting at `now - windowMinutes` dropped a
 * burst's bucket as soon as the next bucket began: a burst in a bucket's last seconds (flushed
 * up to 5 s later, then evaluated) was never in a current window, and no alert came.
 */
export function windowsFor(config: MonitorConfig, now: number): Array<[number, number]> {
  const from = bucketStart(now - config.windowMinutes * 60_000);
  return Array.from({ length: config.baselineDays + 1 }, (_, d) => [from - d * 86_400_000, now - d * 86_400_000] as [number, number]);
}

/** What one evaluation saw, and when outcomes last woke the monitor. */
export interface EvaluationPass {
  /** Outcomes in a current window: keep evaluating while they last. */
  readonly busy: boolean;
  /** Outcome stores that did not answer (timed out or failed). */
  readonly unanswered: number;
  readonly now: number;
  /** When outcomes last woke the monitor (undefined: never recorded). */
  readonly wokenAt: number | undefined;
  /** Stores wake the monitor at most this often: outcomes this long after a wake may not have woken it again. */
  readonly wakeEveryMs: number;
  /** The longest enabled window, ms (0: none is enabled). */
  readonly longestWindowMs: number;
}

/**
 * Whether the monitor evaluates again after this pass. A store that did not answer may hold the
 * outcomes that woke it: stopping because the answering stores were quiet lost that burst's alert
 * for good (nothing wakes the monitor again without new outcomes). So it keeps watching while a
 * store is missing, until the outcomes of its last wake (and those a throttled wake did not
 * announce) have left the current window; a region down for hours does not keep every tenant's
 * monitor polling.
 */
export function keepWatching(pass: EvaluationPass): boolean {
  if (pass.busy) return true;
  if (pass.unanswered === 0 || pass.wokenAt === undefined || pass.longestWindowMs === 0) return false;
  return pass.now - pass.wokenAt < pass.longestWindowMs + BUCKET_MS + pass.wakeEveryMs;
}
