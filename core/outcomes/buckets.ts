/**
 * Outcome counters in 5-minute UTC buckets per tenant, region and scenario, and their monthly
 * roll-ups. Pure: the isolate batches into `OutcomeBatch`, the regional store merges rows.
 */
import type { Outcome, Scenario } from './classify.js';

export const BUCKET_MS = 5 * 60_000;
/** 5-minute buckets are kept this long; monthly roll-ups are kept longer (MONTHS_KEPT). */
export const BUCKET_RETENTION_MS = 30 * 86_400_000;
export const MONTHS_KEPT = 25;

export interface Counts {
  success: number;
  callerError: number;
  serviceFailure: number;
  /** Caller errors that were Conditional Access blocks (a subset of callerError). */
  caBlocked: number;
}

export interface BucketRow extends Counts {
  tenantId: string;
  region: string;
  scenario: Scenario;
  /** Start of the bucket, ms since the epoch, a multiple of BUCKET_MS. */
  start: number;
  /** Distinct callers (app or user ids) with a failed attempt, at most MAX_SUBJECTS: alert impact. */
  subjects: string[];
}

export const MAX_SUBJECTS = 20;

export const bucketStart = (at: number): number => at - (at % BUCKET_MS);

/** `YYYY-MM` of a UTC instant. */
export const monthOf = (at: number): string => new Date(at).toISOString().slice(0, 7);

export const zero = (): Counts => ({ success: 0, callerError: 0, serviceFailure: 0, caBlocked: 0 });

export function addCounts(into: Counts, from: Counts): void {
  into.success += from.success;
  into.callerError += from.callerError;
  into.serviceFailure += from.serviceFailure;
  into.caBlocked += from.caBlocked;
}

/** Outcomes counted in one isolate since its last flush, merged per bucket. */
export class OutcomeBatch {
  private rows = new Map<string, BucketRow>();
  private oldest: number | undefined;

  constructor(private readonly maxRows: number) {}

  get size(): number {
    return this.rows.size;
  }

  /** When the oldest unflushed outcome was counted; undefined when empty. */
  get since(): number | undefined {
    return this.oldest;
  }

  /** `subject`: who failed (an app or user id), for a failed outcome when known. */
  add(tenantId: string, region: string, o: Outcome, now: number, subject?: string): void {
    const start = bucketStart(now);
    const key = `${tenantId}|${region}|${o.scenario}|${start}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      // Bounded: past maxRows distinct buckets, further new ones are dropped (counted as loss).
      if (this.rows.size >= this.maxRows) return;
      row = { tenantId, region, scenario: o.scenario, start, ...zero(), subjects: [] };
      this.rows.set(key, row);
    }
    row[o.outcome]++;
    if (o.caBlocked) row.caBlocked++;
    if (subject !== undefined && o.outcome !== 'success' && row.subjects.length < MAX_SUBJECTS && !row.subjects.includes(subject)) row.subjects.push(subject);
    this.oldest ??= now;
  }

  /** Takes every row out (the batch is then empty). */
  drain(): BucketRow[] {
    const out = [...this.rows.values()];
    this.rows = new Map();
    this.oldest = undefined;
    return out;
  }
}

/** The flush rule: at most `maxAgeMs` after the first unflushed outcome, or at once when full. */
export function flushDelay(batch: OutcomeBatch, now: number, maxAgeMs: number, fullAt: number): number | undefined {
  if (batch.since === undefined) return undefined;
  if (batch.size >= fullAt) return 0;
  return Math.max(0, batch.since + maxAgeMs - now);
}
