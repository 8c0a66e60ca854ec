import type { Mutation, StateReader } from '../kv.js';
import type { Result } from '../result.js';
import { err, ok } from '../result.js';
import { Mutex } from './mutex.js';
import { acceptAppend, acceptFence, applyCommitted, installSnapshot } from './secondary.js';
import type { ReplicaStore } from './store.js';
import type { Entry, ReplicaMessage, ReplicaMeta, ReplicaReply, ReplicationConfig, Snapshot, Transport } from './types.js';
import { DEFAULT_REPLICATION } from './types.js';

export type WriteFailure =
  | { kind: 'not_primary'; epoch: number; primaryRegion: string }
  | { kind: 'not_durable'; tried: string[] }
  | { kind: 'fenced'; epoch: number; primaryRegion: string };

export type HandoffFailure = {
  kind: 'not_primary' | 'invalid_target' | 'unreachable' | 'behind' | 'fenced' | 'promote_failed';
  epoch: number;
  primaryRegion: string;
};

export interface Committed<R> {
  readonly reply: R;
  readonly epoch: number;
  readonly pos: number;
}

export interface CellTopology {
  cell: string;
  regions: string[];
  primaryRegion: string;
  epoch: number;
}

/**
 * One replica of a cell: primary or secondary, decided by its persisted role and epoch.
 * Pure rules over an injected store and transport; the Durable Object is only glue.
 */
export class Replica {
  private readonly writes = new Mutex();
  /** Highest position each peer is known to hold applied (volatile; a restart re-learns it). */
  private readonly peerApplied = new Map<string, number>();
  /** Peers whose last exchange failed: tried last for synchronous copies until one succeeds (volatile). */
  private readonly unreachable = new Set<string>();
  readonly meta: ReplicaMeta;

  constructor(
    private readonly store: ReplicaStore,
    self: { cell: string; region: string },
    topology: CellTopology,
    private readonly transport: Transport,
    private readonly config: ReplicationConfig = DEFAULT_REPLICATION,
  ) {
    const loaded = store.loadMeta();
    this.meta = loaded ?? {
      cell: self.cell,
      region: self.region,
      regions: [...topology.regions],
      // Only the founding epoch is decided by placement; later primaries come from promotion.
      role: topology.epoch === 1 && topology.primaryRegion === self.region ? 'primary' : 'secondary',
      epoch: 1,
      gen: 0,
      primaryRegion: topology.primaryRegion,
      lastPos: 0,
      lastEpoch: 0,
      lastGen: 0,
      appliedPos: 0,
      logStart: 1,
    };
    if (loaded === undefined) store.saveMeta(this.meta);
  }

  get state(): StateReader {
    return this.store;
  }

  /** Plans a write against committed state, makes it durable out of region, then applies it. */
  write<R, E>(plan: (state: StateReader) => Result<{ mutations: Mutation[]; reply: R }, E>): Promise<Result<Committed<R>, E | WriteFailure>> {
    return this.writes.run(async () => {
      const m = this.meta;
      if (m.role !== 'primary') return err({ kind: 'not_primary', epoch: m.epoch, primaryRegion: m.primaryRegion });
      // A log adopted at promotion is committed before anything is planned on top of it.
      if (this.pendingMutations()) {
        const pending = await this.commitPending();
        if (!pending.ok) return pending;
      }
      const planned = plan(this.store);
      if (!planned.ok) return planned;
      const entry: Entry = { epoch: m.epoch, gen: m.gen, pos: m.lastPos + 1, muts: planned.value.mutations };
      this.store.transaction(() => {
        this.store.appendEntries([entry]);
        m.lastPos = entry.pos;
        m.lastEpoch = entry.epoch;
        m.lastGen = entry.gen;
        this.store.saveMeta(m);
      });
      const tried: string[] = [];
      for (const region of this.shipOrder()) {
        tried.push(region);
        const reply = await this.shipTracked(region, entry.pos);
        if (reply === undefined) continue;
        if (reply.kind === 'stale_epoch') {
          this.stepDown(reply.epoch, reply.primaryRegion);
          return err({ kind: 'fenced', epoch: reply.epoch, primaryRegion: reply.primaryRegion });
        }
        if (reply.kind === 'ack' && reply.lastPos >= entry.pos) {
          if (!this.stillPrimaryOf(entry.epoch)) break; // fenced while waiting: never acknowledge
          this.store.transaction(() => {
            applyCommitted(this.store, m, entry.pos);
            this.store.saveMeta(m);
          });
          this.compact();
          return ok({ reply: planned.value.reply, epoch: entry.epoch, pos: entry.pos });
        }
      }
      // Fenced meanwhile: our log may already hold the new primary's entries at this position,
      // which burning would overwrite. Leave it; the new primary's appends settle it.
      if (!this.stillPrimaryOf(entry.epoch)) return err({ kind: 'fenced', epoch: this.meta.epoch, primaryRegion: this.meta.primaryRegion });
      // Not durable anywhere else: the position is burnt as a no-op of a new generation, so a
      // copy that did reach a secondary (ack lost) is replaced, and a delayed one is refused.
      // The outcome is still ambiguous to the client: if this primary is lost before the burn
      // reaches anyone, a promotion may adopt the copy that did arrive.
      this.store.transaction(() => {
        m.gen += 1;
        m.lastGen = m.gen;
        this.store.truncateFrom(entry.pos);
        this.store.appendEntries([{ epoch: entry.epoch, gen: m.gen, pos: entry.pos, muts: [] }]);
        this.store.saveMeta(m);
      });
      return err({ kind: 'not_durable', tried });
    });
  }

  private stillPrimaryOf(epoch: number): boolean {
    return this.meta.role === 'primary' && this.meta.epoch === epoch;
  }

  /** Whether entries past the applied position change state (an adopted log, not just burnt no-ops). */
  private pendingMutations(): boolean {
    const m = this.meta;
    if (m.appliedPos >= m.lastPos) return false;
    return this.store.entries(m.appliedPos + 1, m.lastPos, m.lastPos - m.appliedPos).some((e) => e.muts.length > 0);
  }

  /**
   * Commits everything in the log (after a promotion: the adopted tail and the epoch's opening
   * no-op) by making it durable out of region, like a write with no mutations of its own.
   * Call under the write mutex.
   */
  private async commitPending(): Promise<Result<void, WriteFailure>> {
    const m = this.meta;
    const upTo = m.lastPos;
    const epoch = m.epoch;
    if (m.appliedPos >= upTo) return ok(undefined);
    // All peers at once (this runs once per promotion): a dead nearest peer costs no timeout.
    const tried = this.shipOrder();
    const first = await firstOf(
      tried.map((region) => this.shipTracked(region, upTo)),
      (reply) => reply?.kind === 'stale_epoch' || (reply?.kind === 'ack' && reply.lastPos >= upTo),
    );
    if (first?.kind === 'stale_epoch') {
      this.stepDown(first.epoch, first.primaryRegion);
      return err({ kind: 'fenced', epoch: first.epoch, primaryRegion: first.primaryRegion });
    }
    if (first?.kind === 'ack' && this.stillPrimaryOf(epoch)) {
      this.store.transaction(() => {
        applyCommitted(this.store, m, upTo);
        this.store.saveMeta(m);
      });
      this.compact();
      return ok(undefined);
    }
    if (!this.stillPrimaryOf(epoch)) return err({ kind: 'fenced', epoch: m.epoch, primaryRegion: m.primaryRegion });
    return err({ kind: 'not_durable', tried });
  }

  /** Out-of-region replicas, nearest in the cell's preference order first. */
  syncCandidates(): string[] {
    return this.meta.regions.filter((r) => r !== this.meta.region);
  }

  /**
   * `syncCandidates()`, but peers that just failed go last: without this every write waits a
   * full timeout on a dead nearest peer before trying the next one.
   */
  private shipOrder(): string[] {
    const all = this.syncCandidates();
    return [...all.filter((r) => !this.unreachable.has(r)), ...all.filter((r) => this.unreachable.has(r))];
  }

  private async shipTracked(region: string, upTo: number): Promise<ReplicaReply | undefined> {
    const reply = await this.ship(region, upTo).catch(() => undefined);
    if (reply === undefined) this.unreachable.add(region);
    else this.unreachable.delete(region);
    return reply;
  }

  /** Sends a peer everything it may lack up to `upTo` (a snapshot first if it fell behind compaction). */
  private async ship(region: string, upTo: number): Promise<ReplicaReply> {
    const m = this.meta;
    let from = (this.peerApplied.get(region) ?? m.appliedPos) + 1;
    for (let attempt = 0; attempt < 16; attempt++) {
      if (from < m.logStart) {
        const snap = await this.sendSnapshot(region);
        if (snap.kind !== 'ack') return snap;
        if (snap.appliedPos >= upTo) return snap;
        from = snap.appliedPos + 1;
      }
      const entries = this.store.entries(from, upTo, this.config.batchSize);
      const prev = from > 1 ? this.labelAt(from - 1) : undefined;
      const reply = await this.transport.send(region, { kind: 'append', epoch: m.epoch, gen: m.gen, primaryRegion: m.region, entries, commitPos: m.appliedPos, prev });
      if (reply.kind === 'ack') {
        this.peerApplied.set(region, reply.appliedPos);
        // The peer's log matches ours only as far as we just sent it (or it applied): continue
        // right after that, with `prev` proving the match (a tail longer than a batch needs it).
        const sentTo = entries[entries.length - 1]?.pos ?? 0;
        if (reply.appliedPos >= upTo || sentTo >= upTo) return reply;
        from = Math.max(reply.appliedPos, sentTo) + 1;
      } else if (reply.kind === 'gap') {
        from = reply.appliedPos + 1;
      } else {
        return reply;
      }
    }
    throw new Error(`peer ${region} did not converge`);
  }

  private async sendSnapshot(region: string): Promise<ReplicaReply> {
    const reply = await this.transport.send(region, {
      kind: 'snapshot',
      epoch: this.meta.epoch,
      gen: this.meta.gen,
      primaryRegion: this.meta.region,
      snapshot: this.snapshot(),
    });
    if (reply.kind === 'ack') this.peerApplied.set(region, reply.appliedPos);
    return reply;
  }

  /** The applied state, labelled with the epoch and generation of the entry at its position. */
  snapshot(): Snapshot {
    const m = this.meta;
    const label = this.labelAt(m.appliedPos) ?? { epoch: m.epoch, gen: m.gen }; // metadata from before base labels
    return { epoch: label.epoch, gen: label.gen, pos: m.appliedPos, rows: this.store.exportRows() };
  }

  /** Label of the entry at `pos`, when known (held in the log, or the compaction/snapshot base). */
  private labelAt(pos: number): { epoch: number; gen: number } | undefined {
    const m = this.meta;
    if (pos === 0) return { epoch: 0, gen: 0 };
    const e = this.store.entries(pos, pos, 1)[0];
    if (e !== undefined) return { epoch: e.epoch, gen: e.gen };
    if (pos === m.logStart - 1 && m.baseEpoch !== undefined) return { epoch: m.baseEpoch, gen: m.baseGen ?? 0 };
    return undefined;
  }

  /** Ships committed entries to every peer that lacks them; returns the peers still behind. */
  async pushAll(): Promise<string[]> {
    const m = this.meta;
    if (m.role !== 'primary') return [];
    if (m.appliedPos < m.lastPos) await this.writes.run(() => (this.meta.role === 'primary' ? this.commitPending() : Promise.resolve(ok(undefined))));
    if (m.role !== 'primary') return [];
    const behind: string[] = [];
    await Promise.all(
      m.regions
        .filter((r) => r !== m.region && (this.peerApplied.get(r) ?? -1) < m.appliedPos)
        .map(async (r) => {
          const reply = await this.shipTracked(r, m.appliedPos);
          if (reply?.kind === 'stale_epoch') this.stepDown(reply.epoch, reply.primaryRegion);
          if (reply?.kind !== 'ack' || reply.appliedPos < m.appliedPos) behind.push(r);
        }),
    );
    return behind.sort();
  }

  /** Brings this secondary up to at least `pos` by pulling committed entries from the primary. */
  async catchUp(pos: number): Promise<boolean> {
    const m = this.meta;
    for (let round = 0; m.appliedPos < pos && round < 8; round++) {
      if (m.role === 'primary') return m.appliedPos >= pos;
      const reply = await this.transport.send(m.primaryRegion, { kind: 'pull', fromPos: m.appliedPos + 1, epoch: m.epoch }).catch(() => undefined);
      if (reply === undefined) return false;
      if (reply.kind === 'entries') {
        const r = acceptAppend(this.store, m, { epoch: reply.epoch, gen: reply.gen, primaryRegion: m.primaryRegion, entries: reply.entries, commitPos: reply.commitPos });
        if (r.kind !== 'ack') return false;
        if (reply.entries.length === 0) break;
      } else if (reply.kind === 'snapshot') {
        const r = installSnapshot(this.store, m, reply.epoch, m.primaryRegion, reply.snapshot, reply.gen);
        if (r.kind !== 'ack') return false;
      } else if (reply.kind === 'not_primary') {
        if (reply.epoch < m.epoch || reply.primaryRegion === m.primaryRegion) return false;
        m.epoch = reply.epoch;
        m.primaryRegion = reply.primaryRegion;
        this.store.saveMeta(m);
      } else {
        return false;
      }
    }
    return m.appliedPos >= pos;
  }

  /** Entry point for messages from other replicas of the cell. */
  async receive(msg: ReplicaMessage): Promise<ReplicaReply> {
    const m = this.meta;
    switch (msg.kind) {
      case 'append':
        if (m.role === 'primary' && msg.epoch <= m.epoch) return { kind: 'stale_epoch', epoch: m.epoch, primaryRegion: m.region };
        return acceptAppend(this.store, m, msg);
      case 'snapshot':
        if (m.role === 'primary' && msg.epoch <= m.epoch) return { kind: 'stale_epoch', epoch: m.epoch, primaryRegion: m.region };
        return installSnapshot(this.store, m, msg.epoch, msg.primaryRegion, msg.snapshot, msg.gen);
      case 'pull':
        return this.servePull(msg.fromPos);
      case 'fence':
        return acceptFence(this.store, m, msg.epoch, msg.candidateRegion);
      case 'promote':
        return this.promote(msg.epoch);
      case 'handoff': {
        const r = await this.handoff(msg.targetRegion);
        return r.ok
          ? { kind: 'handed_off', primaryRegion: r.value.primaryRegion, epoch: r.value.epoch }
          : { kind: 'handoff_failed', reason: r.error.kind, epoch: r.error.epoch, primaryRegion: r.error.primaryRegion };
      }
      case 'status':
        return { kind: 'status', meta: structuredClone(m) };
    }
  }

  private servePull(fromPos: number): ReplicaReply {
    const m = this.meta;
    if (m.role !== 'primary') return { kind: 'not_primary', epoch: m.epoch, primaryRegion: m.primaryRegion };
    if (fromPos < m.logStart) return { kind: 'snapshot', snapshot: this.snapshot(), epoch: m.epoch, gen: m.gen };
    return { kind: 'entries', epoch: m.epoch, gen: m.gen, entries: this.store.entries(fromPos, m.appliedPos, this.config.batchSize), commitPos: m.appliedPos };
  }

  /**
   * Becomes primary of `epoch` after a fence round chose this replica as the most up to date (or
   * a planned handoff shipped it the whole log). The whole log is adopted — any acknowledged
   * write is in it — but not yet applied: it is committed, with an opening no-op of the new
   * epoch, only once an out-of-region replica holds it (`commitPending`, before the first write
   * or push). Applying it at once would let this replica serve, and keep forever, entries that
   * a later promotion may legitimately drop if we are lost before shipping them; and without an
   * entry of the new epoch a replica holding the adopted tail would not outrank a stale copy.
   */
  private promote(epoch: number): ReplicaReply {
    const m = this.meta;
    const refuse: ReplicaReply = { kind: 'stale_epoch', epoch: m.epoch, primaryRegion: m.primaryRegion };
    if (epoch < m.epoch) return refuse;
    if (epoch === m.epoch && m.role === 'primary') return { kind: 'ack', lastPos: m.lastPos, appliedPos: m.appliedPos, epoch: m.epoch };
    // This epoch was promised to another candidate (or already has another primary).
    if (epoch === m.epoch && m.primaryRegion !== m.region) return refuse;
    this.store.transaction(() => {
      m.epoch = epoch;
      m.gen = 0;
      m.role = 'primary';
      m.primaryRegion = m.region;
      const opening: Entry = { epoch, gen: 0, pos: m.lastPos + 1, muts: [] };
      this.store.appendEntries([opening]);
      m.lastPos = opening.pos;
      m.lastEpoch = epoch;
      m.lastGen = 0;
      this.store.saveMeta(m);
    });
    this.peerApplied.clear();
    return { kind: 'ack', lastPos: m.lastPos, appliedPos: m.appliedPos, epoch: m.epoch };
  }

  /**
   * Planned failover: with writes paused, ships the whole log to `target` until it holds all of
   * it, fences this replica at the next epoch (it can never acknowledge again), and promotes the
   * target there. Nothing acknowledged can be lost: the target holds everything we ever acked.
   */
  handoff(target: string): Promise<Result<{ primaryRegion: string; epoch: number }, HandoffFailure>> {
    return this.writes.run(async () => {
      const m = this.meta;
      const fail = (kind: HandoffFailure['kind']) => err({ kind, epoch: m.epoch, primaryRegion: m.primaryRegion });
      if (m.role !== 'primary') return fail('not_primary');
      if (target === m.region || !m.regions.includes(target)) return fail('invalid_target');
      const epoch = m.epoch;
      const reply = await this.ship(target, m.lastPos).catch(() => undefined);
      if (reply === undefined) return fail('unreachable');
      if (reply.kind === 'stale_epoch') {
        this.stepDown(reply.epoch, reply.primaryRegion);
        return fail('fenced');
      }
      if (!this.stillPrimaryOf(epoch)) return fail('fenced');
      if (reply.kind !== 'ack' || reply.lastPos !== m.lastPos) return fail('behind');
      this.store.transaction(() => {
        m.epoch = epoch + 1;
        m.gen = 0;
        m.role = 'fenced';
        m.primaryRegion = target;
        this.store.saveMeta(m);
      });
      for (let attempt = 0; attempt < 3; attempt++) {
        const r = await this.transport.send(target, { kind: 'promote', epoch: epoch + 1 }).catch(() => undefined);
        if (r?.kind === 'ack' && r.epoch === epoch + 1) return ok({ primaryRegion: target, epoch: epoch + 1 });
        if (r !== undefined) break;
      }
      // We stay fenced: the target may have become primary with its reply lost. The failure
      // detector notices a cell without a primary and runs an unplanned failover.
      return fail('promote_failed');
    });
  }

  private stepDown(epoch: number, primaryRegion: string): void {
    if (epoch < this.meta.epoch) return;
    this.meta.role = 'fenced';
    if (epoch > this.meta.epoch) this.meta.gen = 0;
    this.meta.epoch = epoch;
    this.meta.primaryRegion = primaryRegion;
    this.store.saveMeta(this.meta);
  }

  /** Keeps the log bounded: entries far behind the applied position are dropped. */
  private compact(): void {
    const m = this.meta;
    const keepFrom = m.appliedPos - this.config.retainEntries + 1;
    if (keepFrom > m.logStart + this.config.batchSize) {
      const base = this.labelAt(keepFrom - 1);
      this.store.transaction(() => {
        m.baseEpoch = base?.epoch;
        m.baseGen = base?.gen;
        this.store.compactBefore(keepFrom);
        m.logStart = keepFrom;
        this.store.saveMeta(m);
      });
    }
  }

  /** Compaction for secondaries too, called after they apply. */
  compactLog(): void {
    this.compact();
  }
}

/** The first settled value satisfying `pred`, or undefined once all settled without one. */
function firstOf<T>(promises: ReadonlyArray<Promise<T>>, pred: (value: T) => boolean): Promise<T | undefined> {
  return new Promise((resolve) => {
    let left = promises.length;
    if (left === 0) resolve(undefined);
    for (const p of promises) {
      void p.then((value) => {
        if (pred(value)) resolve(value);
        if (--left === 0) resolve(undefined);
      });
    }
  });
}
