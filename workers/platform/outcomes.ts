/**
 * Outcome recording off the request path (issue 16). A request only bumps a counter in this
 * isolate's batch (core/outcomes/buckets.ts); a flush sends the batch, grouped by region, to
 * each region's OutcomeStore at most FLUSH_AFTER_MS after its first unflushed outcome (or at
 * once when the batch is full), inside `ctx.waitUntil` so no response waits for it.
 *
 * Loss, bounded: an isolate evicted before its flush loses at most the outcomes it counted in
 * the last FLUSH_AFTER_MS; a flush that fails (store unreachable) is kept, with its id, and
 * re-sent before the next one, so a flush that did land is not counted twice (the store
 * remembers ids); at most MAX_PENDING failed flushes are kept, older ones are dropped.
 * New distinct rows past MAX_ROWS in one batch are dropped too.
 */
import { flushDelay, OutcomeBatch, type BucketRow } from '../../core/outcomes/buckets.js';
import type { Outcome } from '../../core/outcomes/classify.js';
import { outcomeStoreStub } from '../../durable-objects/outcome-store.js';
import { crossCall } from './faults.js';

export const FLUSH_AFTER_MS = 5_000;
const MAX_ROWS = 5_000;
const FULL_AT = 2_000;
const MAX_PENDING = 32;
const STORE_TIMEOUT_MS = 5_000;

interface Flush {
  id: string;
  region: string;
  rows: BucketRow[];
}

const batch = new OutcomeBatch(MAX_ROWS);
let pending: Flush[] = [];
let armed = false;
let flushing: Promise<void> | undefined;
const lost = { flushes: 0 };

/** Outcome recording may be switched off outside production only (the bench's baseline). */
function recording(env: Env): boolean {
  const setting: string | undefined = env.OUTCOME_RECORDING;
  return setting !== 'off' || env.TESSERA_ENV === 'production';
}

/**
 * Counts one outcome of `tenantId` entering in `region`. Cheap: a map update. `subject` (who
 * failed: an app or user id) is only asked for when the outcome is a failure.
 */
export function recordOutcome(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'>, tenantId: string, region: string, outcome: Outcome | null, subject?: () => string | undefined): void {
  if (outcome === null || !recording(env)) return;
  const now = Date.now();
  batch.add(tenantId, region, outcome, now, outcome.outcome === 'success' ? undefined : subject?.());
  if (armed) return;
  const delay = flushDelay(batch, now, FLUSH_AFTER_MS, FULL_AT);
  if (delay === undefined) return;
  armed = true;
  ctx.waitUntil(flushAfter(env, delay));
}

async function flushAfter(env: Env, delay: number): Promise<void> {
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  armed = false;
  await flushOutcomes(env);
}

/** Sends what is counted (and any earlier failed flush). Concurrent calls share one flush. */
export function flushOutcomes(env: Env): Promise<void> {
  flushing ??= doFlush(env).finally(() => (flushing = undefined));
  return flushing;
}

async function doFlush(env: Env): Promise<void> {
  const byRegion = new Map<string, BucketRow[]>();
  for (const r of batch.drain()) byRegion.set(r.region, [...(byRegion.get(r.region) ?? []), r]);
  const todo = [...pending, ...[...byRegion].map(([region, rows]) => ({ id: crypto.randomUUID(), region, rows }))];
  const results = await Promise.all(
    todo.map((f) =>
      crossCall('edge', f.region, STORE_TIMEOUT_MS, () => outcomeStoreStub(env, f.region).add(f.id, f.rows)).then(
        () => undefined,
        () => f,
      ),
    ),
  );
  const failed = results.filter((f): f is Flush => f !== undefined);
  lost.flushes += Math.max(0, failed.length - MAX_PENDING);
  pending = failed.slice(-MAX_PENDING);
}

/** For the operator view: flushes dropped in this isolate after persistent failure. */
export function outcomeLoss(): { droppedFlushes: number; pendingFlushes: number } {
  return { droppedFlushes: lost.flushes, pendingFlushes: pending.length };
}
