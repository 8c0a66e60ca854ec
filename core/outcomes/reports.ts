/**
 * The reports over outcome counters: monthly SLA attainment (Graph beta
 * `reports/sla/azureADAuthentication`) and the service-activity metric functions
 * (`reports/serviceActivity/getMetricsFor…`). Pure: the edge gathers rows from every region.
 */
import { err, ok, type Result } from '../result.js';
import type { Scenario } from './classify.js';
import { BUCKET_MS, BUCKET_RETENTION_MS, type Counts } from './buckets.js';

export interface MonthRow extends Counts {
  /** `YYYY-MM` (UTC). */
  month: string;
}

export interface Attainment {
  startDate: string;
  endDate: string;
  score: number;
}

/**
 * score = successes ÷ (successes + service failures) × 100, truncated (not rounded) to 3
 * decimals, in integer arithmetic so 99.9999 never shows as 100. Caller errors count neither
 * way; a month with only caller errors scores 100; a month with no authentication has no entry.
 */
export function attainmentScore(c: Pick<Counts, 'success' | 'serviceFailure'>): number {
  const total = c.success + c.serviceFailure;
  if (total === 0) return 100;
  return Math.floor((c.success * 100_000) / total) / 1000;
}

const lastDayOf = (month: string): string => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
};

/** Rows of any region and scenario, merged per UTC month, oldest first. */
export function attainments(rows: readonly MonthRow[]): Attainment[] {
  const byMonth = new Map<string, Counts>();
  for (const r of rows) {
    const c = byMonth.get(r.month) ?? { success: 0, callerError: 0, serviceFailure: 0, caBlocked: 0 };
    c.success += r.success;
    c.callerError += r.callerError;
    c.serviceFailure += r.serviceFailure;
    byMonth.set(r.month, c);
  }
  return [...byMonth.entries()]
    .filter(([, c]) => c.success + c.callerError + c.serviceFailure > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([month, c]) => ({ startDate: `${month}-01`, endDate: lastDayOf(month), score: attainmentScore(c) }));
}

/** The metric functions: which scenario counters each one sums. */
type Pick2 = { scenarios: readonly Scenario[]; counts: ReadonlyArray<keyof Counts> };
export const METRICS: Readonly<Record<string, Pick2>> = {
  getMetricsForMfaSignInSuccess: { scenarios: ['mfaSignIn'], counts: ['success'] },
  getMetricsForMfaSignInFailure: { scenarios: ['mfaSignIn'], counts: ['callerError', 'serviceFailure'] },
  getMetricsForTokenIssuanceSuccess: { scenarios: ['tokenIssuance'], counts: ['success'] },
  getMetricsForTokenIssuanceFailure: { scenarios: ['tokenIssuance'], counts: ['callerError', 'serviceFailure'] },
  getMetricsForManagedIdentityTokenSuccess: { scenarios: ['managedIdentity'], counts: ['success'] },
  getMetricsForConditionalAccessBlockedSignIn: { scenarios: ['signIn', 'mfaSignIn', 'tokenIssuance'], counts: ['caBlocked'] },
};

export interface MetricQuery {
  name: string;
  start: number;
  end: number;
  intervalMinutes: number;
}

const INTERVALS = new Set([5, 10, 15, 30]);
const CALL = /^([A-Za-z]+)\((.*)\)$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/;

export type MetricQueryError = { kind: 'unknown_function'; name: string } | { kind: 'bad_request'; message: string };

/**
 * Parses the function segment `getMetricsForX(inclusiveIntervalStartDateTime=…,
 * exclusiveIntervalEndDateTime=…,aggregationIntervalInMinutes=…)`: the start must lie within
 * the last 30 days, before the end; the interval 5, 10, 15 or 30 minutes.
 */
export function parseMetricQuery(segment: string, now: number): Result<MetricQuery, MetricQueryError> {
  const m = CALL.exec(segment);
  if (m === null) return err({ kind: 'unknown_function', name: segment });
  const name = m[1]!;
  if (!Object.hasOwn(METRICS, name)) return err({ kind: 'unknown_function', name });
  const args = new Map<string, string>();
  for (const part of (m[2] ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return err({ kind: 'bad_request', message: `Invalid function parameter '${part.slice(0, 64)}'.` });
    const key = part.slice(0, eq).trim();
    if (args.has(key)) return err({ kind: 'bad_request', message: `Parameter '${key}' was specified more than once.` });
    args.set(key, part.slice(eq + 1).trim().replace(/^'(.*)'$/, '$1'));
  }
  for (const k of args.keys()) {
    if (!['inclusiveIntervalStartDateTime', 'exclusiveIntervalEndDateTime', 'aggregationIntervalInMinutes'].includes(k)) {
      return err({ kind: 'bad_request', message: `The parameter '${k.slice(0, 64)}' is not in scope.` });
    }
  }
  const time = (k: string): number | string => {
    const v = args.get(k);
    if (v === undefined) return `The required parameter '${k}' is missing.`;
    const t = ISO.test(v) ? Date.parse(v) : NaN;
    return Number.isNaN(t) ? `Invalid value '${v.slice(0, 64)}' for parameter '${k}': an ISO 8601 date and time is required.` : t;
  };
  const start = time('inclusiveIntervalStartDateTime');
  if (typeof start === 'string') return err({ kind: 'bad_request', message: start });
  const end = time('exclusiveIntervalEndDateTime');
  if (typeof end === 'string') return err({ kind: 'bad_request', message: end });
  const rawInterval = args.get('aggregationIntervalInMinutes') ?? '5';
  const intervalMinutes = /^\d{1,3}$/.test(rawInterval) ? Number(rawInterval) : NaN;
  if (!INTERVALS.has(intervalMinutes)) return err({ kind: 'bad_request', message: 'aggregationIntervalInMinutes must be one of 5, 10, 15 or 30.' });
  if (start >= end) return err({ kind: 'bad_request', message: 'inclusiveIntervalStartDateTime must be earlier than exclusiveIntervalEndDateTime.' });
  if (start < now - BUCKET_RETENTION_MS) return err({ kind: 'bad_request', message: 'inclusiveIntervalStartDateTime must be within the last 30 days.' });
  if (end > now + BUCKET_RETENTION_MS) return err({ kind: 'bad_request', message: 'exclusiveIntervalEndDateTime is too far in the future.' });
  return ok({ name, start, end, intervalMinutes });
}

export interface SeriesRow extends Counts {
  scenario: Scenario;
  start: number;
}

export interface MetricPoint {
  intervalStartDateTime: string;
  value: number;
}

/**
 * One point per aggregation interval from the start (zeros included). Counters have 5-minute
 * resolution: a bucket counts in the interval that holds its start.
 */
export function metricSeries(q: MetricQuery, rows: readonly SeriesRow[]): MetricPoint[] {
  const spec = METRICS[q.name]!;
  const step = q.intervalMinutes * 60_000;
  const n = Math.ceil((q.end - q.start) / step);
  const values = new Array<number>(n).fill(0);
  for (const r of rows) {
    if (!spec.scenarios.includes(r.scenario) || r.start + BUCKET_MS <= q.start || r.start >= q.end) continue;
    const i = Math.max(0, Math.floor((r.start - q.start) / step));
    if (i >= n) continue;
    for (const c of spec.counts) values[i]! += r[c];
  }
  return values.map((value, i) => ({ intervalStartDateTime: new Date(q.start + i * step).toISOString().replace('.000Z', 'Z'), value }));
}
