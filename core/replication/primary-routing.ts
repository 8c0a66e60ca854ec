/**
 * The edge's rule for a call that must run on a cell's primary (a Graph write, a token flow
 * that writes, a workload operation), shared by the Worker (workers/platform/cell-calls.ts)
 * and the simulator's clients (sim/workload.ts), so the simulator checks the rule production
 * runs.
 *
 * The rule. Call the primary the edge knows. A replica that says the primary moved (a newer
 * epoch) is followed. A primary that cannot be reached, or that answered but could not
 * replicate (`not_durable`), is reported to the control plane, which confirms the loss and
 * fails over; the call then follows the new primary. A primary that cannot replicate and that
 * the control plane keeps is answered at once (retrying it is futile). Everything else is the
 * answer. Retries stop once the budget is spent; between them the edge backs off (100 ms
 * doubling to 1 s), so a path that fails at once does not spin. Every retry carries the same
 * idempotency ticket, so a write whose fate was unknown never takes effect twice; `uncertain`
 * tells the caller that an earlier attempt's fate is unknown whatever the last one answered.
 */

/** The parts of a replica's answer the routing reads; every outcome union fits it. */
export interface RoutableOutcome {
  readonly kind: string;
  readonly primaryRegion?: string;
  readonly epoch?: number;
  readonly reason?: string;
}

export interface Unavailable {
  readonly kind: 'unavailable';
  readonly reason: string;
}

/** The reason a primary that answered gives when no out-of-region voter acknowledged a write. */
export const NOT_DURABLE = 'no out-of-region replica acknowledged the write';
/** The reason the routing gives when the primary could not be reached at all. */
export const UNREACHABLE = 'primary unreachable';

/** Budget for one call on the primary; a write includes its synchronous replication. */
export const PRIMARY_CALL_TIMEOUT_MS = 8_000;
/** How long a write keeps looking for the cell's (possibly new) primary before giving up. */
export const WRITE_RETRY_BUDGET_MS = 12_000;

/** Where the edge believes a cell's primary is. */
export interface PrimaryView {
  readonly primaryRegion: string;
  readonly epoch: number;
}

export interface PrimaryRoutingDeps<V extends PrimaryView, O extends RoutableOutcome> {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** The cell as the edge knows it (`fresh`: ask the control plane, not a cache); null: no such tenant. */
  lookup(fresh: boolean): Promise<V | null>;
  /** One attempt on `view.primaryRegion`; rejects when it cannot be reached in time. */
  call(view: V): Promise<O>;
  /** The control plane confirms the loss and fails over if it must: the cell as it stands; undefined if it cannot be reached. */
  ensurePrimary(view: V): Promise<PrimaryView | undefined>;
  /** A newer primary of `view`'s cell learnt along the way (so later lookups find it). */
  notePrimary(view: V, newer: PrimaryView): void;
}

export interface Routed<O> {
  readonly outcome: O | Unavailable;
  /** The region of the last attempt ('none' when there was none). */
  readonly region: string;
  readonly attempts: number;
  /** An attempt before the last one may have taken effect (timed out or `not_durable`). */
  readonly uncertain: boolean;
}

/** Backoff before the retry after attempt `attempt` (0-based). */
export const backoffMs = (attempt: number): number => Math.min(100 * 2 ** attempt, 1_000);

export async function routeToPrimary<V extends PrimaryView, O extends RoutableOutcome>(deps: PrimaryRoutingDeps<V, O>, budgetMs: number): Promise<Routed<O>> {
  const started = deps.now();
  let view = await deps.lookup(false);
  let last: { outcome: O | Unavailable; region: string } = { outcome: { kind: 'unavailable', reason: 'no primary' }, region: 'none' };
  let uncertain = false;
  let attempts = 0;
  while (view !== null) {
    if (attempts > 0 && isUnknownFate(last.outcome)) uncertain = true;
    const outcome: O | Unavailable = await deps.call(view).catch((): Unavailable => ({ kind: 'unavailable', reason: UNREACHABLE }));
    last = { outcome, region: view.primaryRegion };
    attempts++;
    const o: RoutableOutcome = outcome;
    const moved = o.kind === 'not_primary' && o.primaryRegion !== undefined && o.epoch !== undefined ? { primaryRegion: o.primaryRegion, epoch: o.epoch } : undefined;
    if (moved !== undefined && moved.epoch > view.epoch) deps.notePrimary(view, moved);
    const unreachable = isUnknownFate(outcome);
    if ((moved === undefined && !unreachable) || deps.now() - started > budgetMs) break;
    if (unreachable) {
      const now = await deps.ensurePrimary(view).catch(() => undefined);
      if (now !== undefined && now.epoch > view.epoch) deps.notePrimary(view, now);
      else if (o.reason === NOT_DURABLE) break;
      else if (now === undefined) await deps.sleep(backoffMs(attempts - 1));
    } else {
      await deps.sleep(backoffMs(attempts - 1));
    }
    view = await deps.lookup(moved === undefined || moved.epoch <= view.epoch);
  }
  return { ...last, attempts, uncertain };
}

/** An answer after which the write may or may not have taken effect. */
function isUnknownFate(o: RoutableOutcome): boolean {
  return o.kind === 'unavailable' && (o.reason === UNREACHABLE || o.reason === NOT_DURABLE);
}
