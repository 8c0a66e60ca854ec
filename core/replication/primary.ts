import type { Mutation, StateReader } from '../kv.js';
import type { Result } from '../result.js';
import { err, ok } from '../result.js';
import { BatchState } from './batch-state.js';
import type { ReplicaContext } from './log.js';
import { compact, stepDown, stillPrimaryOf, transact } from './log.js';
import type { Mutex } from './mutex.js';
import { applyCommitted } from './secondary.js';
import type { Shipper } from './shipping.js';
import { shipToQuorum } from './quorum.js';
import type { Entry } from './types.js';

export type WriteFailure =
  | { kind: 'not_primary'; epoch: number; primaryRegion: string }
  | { kind: 'not_durable'; tried: string[] }
  | { kind: 'fenced'; epoch: number; primaryRegion: string };

export interface Committed<R> {
  readonly reply: R;
  readonly epoch: number;
  readonly pos: number;
}

export type WritePlan<R, E> = (state: StateReader) => Result<{ mutations: Mutation[]; reply: R }, E>;

export const DEFAULT_GROUP_WRITES = 64;
export const DEFAULT_GROUP_BYTES = 256 * 1024;

interface Queued {
  readonly plan: WritePlan<unknown, unknown>;
  readonly settle: (outcome: Result<Committed<unknown>, unknown>) => void;
  readonly fail: (error: unknown) => void;
}

/** Counters of the group commit (volatile): rounds that committed, the writes they carried, the largest such round. */
export interface GroupStats {
  rounds: number;
  writes: number;
  largest: number;
}

/**
 * The primary's write path, with group commit. One replication round is in flight at a time
 * (under the replica's mutex); writes that arrive meanwhile queue, and the next round takes
 * them all (up to `groupWrites`, or until their mutations reach `groupBytes`):
 *
 * 1. plans them in arrival order against committed state plus the mutations of the plans
 *    before them (`BatchState`), so each sees the earlier ones' effects;
 * 2. appends one log entry per successful plan (positions stay per write: a write's replica
 *    token names its own entry, log order is the linearization, and no two acknowledged writes
 *    share a position — a combined entry would save only a few bytes of labels);
 * 3. ships them in one append to out-of-region voters, nearest first, until a majority of the
 *    voting set holds them (quorum.ts; with three voters: one other region, as before);
 * 4. on the quorum's acks applies them all and acknowledges each write with its own position; otherwise
 *    every write of the round fails exactly as a single write fails (`fenced`, or `not_durable`
 *    with the round's positions burnt). Nothing of a round is acknowledged unless all of it is.
 *
 * A plan refused on committed state alone (no earlier plan in its round) is answered at once,
 * as before. A plan refused after earlier plans of its round may rest on their effects, which are
 * not committed yet: it is answered when the round is, and with the round's failure if it fails
 * (an ambiguous outcome, and true: nothing of it was applied). A plan that throws fails only its
 * own write, with its exception; an unexpected exception in the round fails the round's writes.
 */
export class GroupCommit {
  private readonly queue: Queued[] = [];
  private scheduled = false;
  readonly stats: GroupStats = { rounds: 0, writes: 0, largest: 0 };

  constructor(
    private readonly ctx: ReplicaContext,
    private readonly shipper: Shipper,
    private readonly mutex: Mutex,
  ) {}

  write<R, E>(plan: WritePlan<R, E>): Promise<Result<Committed<R>, E | WriteFailure>> {
    return new Promise((resolve, reject) => {
      this.queue.push({ plan, settle: resolve as Queued['settle'], fail: reject });
      this.schedule();
    });
  }

  /** Queues a round unless one is already queued (a running round no longer counts: it took its writes). */
  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    void this.mutex.run(async () => {
      this.scheduled = false;
      const { batchSize, groupWrites = DEFAULT_GROUP_WRITES } = this.ctx.config;
      const batch = this.queue.splice(0, Math.max(1, Math.min(groupWrites, batchSize)));
      try {
        await this.round(batch);
      } catch (e) {
        // Promises settle once: this reaches only the writes not yet answered (nor put back).
        for (const w of batch) if (!this.queue.includes(w)) w.fail(e);
      } finally {
        this.schedule(); // writes put back by the byte bound
      }
    });
  }

  private async round(batch: Queued[]): Promise<void> {
    const m = this.ctx.meta;
    const failAll = (e: WriteFailure) => {
      for (const w of batch) w.settle(err(e));
    };
    if (m.role !== 'primary') return failAll({ kind: 'not_primary', epoch: m.epoch, primaryRegion: m.primaryRegion });
    // A log adopted at promotion is committed before anything is planned on top of it.
    if (this.pendingMutations()) {
      const pending = await this.commitPending();
      if (!pending.ok) return failAll(pending.error);
    }
    const { accepted, refused, rest } = this.plan(batch);
    this.queue.unshift(...rest);
    if (accepted.length === 0) return;
    const committed = await this.commit(accepted.map((a) => a.mutations));
    if (!committed.ok) {
      for (const x of [...accepted, ...refused]) x.w.settle(err(committed.error));
      return;
    }
    this.stats.rounds++;
    this.stats.writes += accepted.length;
    this.stats.largest = Math.max(this.stats.largest, accepted.length);
    for (const [i, a] of accepted.entries()) a.w.settle(ok({ reply: a.reply, epoch: committed.value[i]!.epoch, pos: committed.value[i]!.pos }));
    for (const r of refused) r.w.settle(r.result);
  }

  /** Plans the round's writes in order, each against the effects of those before it. */
  private plan(batch: Queued[]) {
    const state = new BatchState(this.ctx.store);
    const accepted: Array<{ w: Queued; mutations: Mutation[]; reply: unknown }> = [];
    const refused: Array<{ w: Queued; result: Result<never, unknown> }> = [];
    const budget = this.ctx.config.groupBytes ?? DEFAULT_GROUP_BYTES;
    let bytes = 0;
    let i = 0;
    for (; i < batch.length && bytes < budget; i++) {
      const w = batch[i]!;
      let planned: ReturnType<Queued['plan']>;
      let size = 0;
      try {
        planned = w.plan(state);
        if (planned.ok) size = JSON.stringify(planned.value.mutations).length;
      } catch (e) {
        w.fail(e); // a bug in this plan: only its write fails, nothing of it was staged
        continue;
      }
      if (!planned.ok) {
        if (accepted.length === 0) w.settle(planned);
        else refused.push({ w, result: planned });
        continue;
      }
      const { mutations, reply } = planned.value;
      state.stage(mutations);
      accepted.push({ w, mutations, reply });
      bytes += size;
    }
    return { accepted, refused, rest: batch.slice(i) };
  }

  /**
   * Appends one entry per mutation list, makes them durable on a majority of voters, then applies them.
   * Returns the entries, or why none of them may be acknowledged.
   */
  private async commit(muts: Mutation[][]): Promise<Result<Entry[], WriteFailure>> {
    const { store, meta: m } = this.ctx;
    const epoch = m.epoch;
    const entries: Entry[] = muts.map((x, k) => ({ epoch, gen: m.gen, pos: m.lastPos + 1 + k, muts: x }));
    const first = entries[0]!;
    const last = entries[entries.length - 1]!;
    transact(store, m, () => {
      store.appendEntries(entries);
      m.lastPos = last.pos;
      m.lastEpoch = last.epoch;
      m.lastGen = last.gen;
      store.saveMeta(m);
    });
    // A majority of voters (membership.ts), nearest first, one more voter per failure.
    const quorum = await shipToQuorum(this.ctx, this.shipper, last.pos, 1);
    if (quorum.kind === 'stale') {
      stepDown(this.ctx, quorum.epoch, quorum.primaryRegion);
      return err({ kind: 'fenced', epoch: quorum.epoch, primaryRegion: quorum.primaryRegion });
    }
    const acked = quorum.kind === 'acked' && stillPrimaryOf(m, epoch); // fenced while waiting: never acknowledge
    if (acked) {
      this.applyThrough(last.pos);
      return ok(entries);
    }
    const tried = quorum.kind === 'short' ? quorum.tried : [];
    // Fenced meanwhile: our log may already hold the new primary's entries at these positions,
    // which burning would overwrite. Leave it; the new primary's appends settle it.
    if (!stillPrimaryOf(m, epoch)) return err({ kind: 'fenced', epoch: m.epoch, primaryRegion: m.primaryRegion });
    // Not durable anywhere else: the round's positions are burnt, replaced by one no-op of a new
    // generation at the first of them, so a copy that did reach a secondary (ack lost) is
    // replaced, and a delayed one is refused. The outcome is still ambiguous to the clients: if
    // this primary is lost before the burn reaches anyone, a promotion may adopt the copy (or a
    // prefix of it) that did arrive.
    transact(store, m, () => {
      m.gen += 1;
      m.lastGen = m.gen;
      store.truncateFrom(first.pos);
      store.appendEntries([{ epoch, gen: m.gen, pos: first.pos, muts: [] }]);
      m.lastPos = first.pos;
      store.saveMeta(m);
    });
    return err({ kind: 'not_durable', tried });
  }

  private applyThrough(pos: number): void {
    const { store, meta } = this.ctx;
    transact(store, meta, () => {
      applyCommitted(store, meta, pos);
      store.saveMeta(meta);
    });
    compact(this.ctx);
  }

  /** Whether entries past the applied position change state (an adopted log, not just burnt no-ops). */
  private pendingMutations(): boolean {
    const m = this.ctx.meta;
    if (m.appliedPos >= m.lastPos) return false;
    return this.ctx.store.entries(m.appliedPos + 1, m.lastPos, m.lastPos - m.appliedPos).some((e) => e.muts.length > 0);
  }

  /**
   * Commits everything in the log (after a promotion: the adopted tail and the epoch's opening
   * no-op) by making it durable out of region, like a write with no mutations of its own.
   * Call under the write mutex.
   */
  async commitPending(): Promise<Result<void, WriteFailure>> {
    const m = this.ctx.meta;
    const upTo = m.lastPos;
    const epoch = m.epoch;
    if (m.appliedPos >= upTo) return ok(undefined);
    // All voters at once (this runs once per promotion): a dead nearest voter costs no timeout.
    const quorum = await shipToQuorum(this.ctx, this.shipper, upTo, Number.MAX_SAFE_INTEGER);
    if (quorum.kind === 'stale') {
      stepDown(this.ctx, quorum.epoch, quorum.primaryRegion);
      return err({ kind: 'fenced', epoch: quorum.epoch, primaryRegion: quorum.primaryRegion });
    }
    if (quorum.kind === 'acked' && stillPrimaryOf(m, epoch)) {
      this.applyThrough(upTo);
      return ok(undefined);
    }
    const tried = quorum.kind === 'short' ? quorum.tried : [];
    if (!stillPrimaryOf(m, epoch)) return err({ kind: 'fenced', epoch: m.epoch, primaryRegion: m.primaryRegion });
    return err({ kind: 'not_durable', tried });
  }
}
