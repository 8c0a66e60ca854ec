import type { IdempotencyTicket } from '../core/idempotency.js';
import { withIdempotency } from '../core/idempotency.js';
import type { Json, Mutation, StateReader } from '../core/kv.js';
import { Replica } from '../core/replication/replica.js';
import { MemoryReplicaStore } from '../core/replication/store.js';
import type { Entry, ReplicaMessage, ReplicaReply, ReplicationConfig, Transport } from '../core/replication/types.js';
import { beforeSend, caughtUpAt, noteAck, primaryFreshAt, type VoterAcks } from '../core/replication/staleness.js';
import type { Result } from '../core/result.js';
import { err, ok } from '../core/result.js';
import type { SimClock } from './clock.js';
import type { Endpoint, SimNetwork } from './network.js';

export const PEER_TIMEOUT_MS = 2_000;

export type NodeRequest =
  | { type: 'replica'; msg: ReplicaMessage }
  /** `ticket`: the write's idempotency key (core/idempotency.ts); a client's retry sends the same. */
  | { type: 'write'; key: string; value: string; ticket: IdempotencyTicket }
  /** Create-if-absent: refused with `exists` when the key holds a value (planned against the round's earlier writes too). */
  | { type: 'create'; key: string; value: string; ticket: IdempotencyTicket }
  | { type: 'read'; key: string; minPos: number };

export type WriteOutcome = { ok: true; epoch: number; pos: number } | { ok: false; kind: string; primaryRegion?: string; epoch?: number };
export type ReadOutcome = { ok: true; value: Json | undefined; appliedPos: number } | { ok: false; kind: 'behind' | 'not_ready' };

/** The durable part of a replica; it records where each written value was first appended. */
export class SimStore extends MemoryReplicaStore {
  /** How many committed entries carrying each written value this store applied (each write's value is unique). */
  readonly applied = new Map<string, number>();
  constructor(private readonly firstSeen: (value: string, e: Entry) => void) {
    super();
  }
  override appendEntries(entries: readonly Entry[]): void {
    for (const e of entries) for (const m of e.muts) if (typeof m.value === 'string') this.firstSeen(m.value, e);
    super.appendEntries(entries);
  }
  override applyMutations(muts: readonly Mutation[]): void {
    for (const m of muts) if (typeof m.value === 'string') this.applied.set(m.value, (this.applied.get(m.value) ?? 0) + 1);
    super.applyMutations(muts);
  }
}

/**
 * One replica of one cell: the simulator's stand-in for the Durable Object. The store survives
 * a crash; the `Replica` object (its volatile state, pending awaits, timers) does not.
 */
export class SimNode implements Endpoint {
  readonly address: string;
  private gen = 0;
  private up = true;
  /** How far this node's wall clock is off true time (a clock-step fault sets it); only its time stamps read it. */
  skewMs = 0;
  replica: Replica | undefined;
  /** Observes every replication message this replica answered (the run's invariants). */
  onReply: ((node: SimNode, msg: ReplicaMessage, reply: ReplicaReply) => void) | undefined;
  /** Observes every read with the time this replica claims to have held everything committed by (core/replication/staleness.ts). */
  onFreshRead: ((node: SimNode, freshAt: number) => void) | undefined;
  /** Read staleness, as the Durable Object glue keeps it: `freshAt` persisted (true time: skew is not the rule's business), voter acknowledgements volatile. */
  private freshAt: number | undefined;
  private acks: VoterAcks | undefined;
  /** A fault armed to strike right after this replica acknowledges a write (once). */
  afterAck: (() => void) | undefined;
  /** Group-commit counters of the incarnations that crashed (see `groupStats`). */
  private readonly pastGroups = { rounds: 0, writes: 0, largest: 0 };

  constructor(
    readonly cell: string,
    readonly region: string,
    private readonly regions: string[],
    readonly store: SimStore,
    private readonly clock: SimClock,
    private readonly net: SimNetwork,
    private readonly config: ReplicationConfig,
    private readonly pushEveryMs: number,
    /** Called when a promoted replica has committed its adopted log (it can acknowledge writes). */
    private readonly onWritable: (node: SimNode, epoch: number) => void = () => undefined,
    /** The founding voting set (absent: every region votes). */
    private readonly voters?: string[],
  ) {
    this.address = SimNode.addr(cell, region);
    this.boot();
  }

  static addr(cell: string, region: string): string {
    return `${cell}/${region}`;
  }

  incarnation(): number {
    return this.gen;
  }

  alive(): boolean {
    return this.up;
  }

  crash(): void {
    if (!this.up) return;
    this.up = false;
    this.gen++;
    this.addGroups(this.replica);
    this.replica = undefined;
  }

  restart(): void {
    if (this.up) return;
    this.up = true;
    this.pausedUntil = 0; // a new process: the old one's pause ended with it
    this.boot();
  }

  /** Until when the process is paused (a long GC, CPU starvation): it takes no step before then. */
  private pausedUntil = 0;

  /** Whether a pause is in force now. */
  paused(): boolean {
    return this.clock.now < this.pausedUntil;
  }

  /**
   * The process stops for `ms` (longer than timeouts) with its volatile state kept, and resumes:
   * messages that arrived meanwhile are handled then, replies it got are acted on then, and its
   * own sends and alarms wait too. Unlike a crash, its pending rounds carry on with what it knew.
   */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now + ms);
  }

  /**
   * Resolves once no pause is in force, for the incarnation `born`; never, if that incarnation
   * crashed meanwhile (a crashed process takes no further step, even one it was paused before).
   */
  private async resumed(born: number): Promise<void> {
    while (this.clock.now < this.pausedUntil) await this.clock.sleep(this.pausedUntil - this.clock.now);
    if (this.gen !== born) await new Promise<never>(() => undefined);
  }

  /** `p`'s outcome, acted on only once a pause is over (a crashed incarnation never acts). */
  private gate<T>(born: number, p: Promise<T>): Promise<T> {
    return p.then(
      async (v) => (await this.resumed(born), v),
      async (e: unknown) => {
        await this.resumed(born);
        throw e;
      },
    );
  }

  private boot(): void {
    const born = this.gen;
    const transport: Transport = {
      // A crashed incarnation sends nothing (its code is gone, even if a continuation of it was queued).
      send: async (to, message) => {
        await this.resumed(born);
        // As durable-objects/replica-freshness.ts: a primary stamps its appends, and voters' acknowledgements move its freshAt.
        const meta = this.replica!.meta;
        const before = beforeSend(this.acks, meta);
        this.acks = before.acks;
        const sentAt = this.clock.now;
        const stamped = message.kind === 'append' && meta.role === 'primary' && this.freshAt !== undefined ? { ...message, freshAt: this.freshAt } : message;
        const reply = await this.gate(born, this.net.request<ReplicaReply>(this, SimNode.addr(this.cell, to), { type: 'replica', msg: stamped } satisfies NodeRequest, PEER_TIMEOUT_MS));
        this.acks = noteAck(this.acks, meta, to, message, reply, sentAt, before.counts);
        this.noteFresh(primaryFreshAt(this.acks, meta, this.clock.now));
        return reply;
      },
    };
    this.acks = undefined;
    this.replica = new Replica(this.store, { cell: this.cell, region: this.region }, { cell: this.cell, regions: this.regions, voters: this.voters, primaryRegion: this.regions[0]!, epoch: 1 }, transport, this.config);
    // The alarm: a primary keeps pushing to secondaries that are behind.
    const tick = () => {
      if (this.gen !== born) return;
      const r = this.replica;
      if (r?.meta.role === 'primary' && this.clock.now >= this.pausedUntil) void r.pushAll().catch(() => undefined);
      this.clock.schedule(this.pushEveryMs, tick);
    };
    this.clock.schedule(this.pushEveryMs, tick);
  }

  private addGroups(r: Replica | undefined): void {
    if (r === undefined) return;
    this.pastGroups.rounds += r.groupStats.rounds;
    this.pastGroups.writes += r.groupStats.writes;
    this.pastGroups.largest = Math.max(this.pastGroups.largest, r.groupStats.largest);
  }

  /** Replication rounds that committed, the writes they carried and the largest round, over all incarnations. */
  groupStats(): { rounds: number; writes: number; largest: number } {
    const r = this.replica?.groupStats ?? { rounds: 0, writes: 0, largest: 0 };
    return { rounds: this.pastGroups.rounds + r.rounds, writes: this.pastGroups.writes + r.writes, largest: Math.max(this.pastGroups.largest, r.largest) };
  }

  private noteFresh(at: number | undefined): void {
    if (at !== undefined && (this.freshAt === undefined || at > this.freshAt)) this.freshAt = at;
  }

  async handle(payload: unknown): Promise<unknown> {
    // The message reached this incarnation: if it crashes while paused, the message is lost with it.
    const born = this.gen;
    await this.resumed(born);
    const reply = await this.serve(payload);
    await this.resumed(born);
    return reply;
  }

  private async serve(payload: unknown): Promise<unknown> {
    const req = payload as NodeRequest;
    const r = this.replica;
    if (r === undefined) throw new Error('down');
    switch (req.type) {
      case 'replica': {
        const reply = await r.receive(req.msg);
        this.noteFresh(caughtUpAt(req.msg, reply));
        this.onReply?.(this, req.msg, reply);
        if (req.msg.kind === 'append' || req.msg.kind === 'snapshot') r.compactLog();
        if (reply.kind === 'members_changed') void r.pushAll().catch(() => undefined); // as the Durable Object does
        if (req.msg.kind === 'promote' && reply.kind === 'ack') {
          // Like the Durable Object, which schedules an immediate push after a promotion.
          const { epoch, lastPos } = reply;
          void r.pushAll().catch(() => undefined);
          // Observe (every 50 ms, for up to 30 s) when the adopted log is committed.
          const watch = (left: number) => {
            if (this.replica !== r || r.meta.role !== 'primary' || r.meta.epoch !== epoch || left === 0) return;
            if (r.meta.appliedPos >= lastPos) this.onWritable(this, epoch);
            else this.clock.schedule(50, () => watch(left - 1));
          };
          watch(600);
        }
        return reply;
      }
      case 'write':
      case 'create': {
        const { key, value } = req;
        const plan = (state: StateReader): Result<{ mutations: Mutation[]; reply: string }, { kind: 'exists' }> =>
          req.type === 'create' && state.get(key) !== undefined ? err({ kind: 'exists' }) : ok({ mutations: [{ key, value }], reply: value });
        const res = await r.write(withIdempotency(req.ticket, this.clock.now + this.skewMs, plan, (reply) => ({ kind: 'clear', outcome: reply })));
        if (!res.ok) {
          const e = res.error;
          // Where the primary went, when the replica knows (the edge follows it, as from the Durable Object).
          return 'primaryRegion' in e && 'epoch' in e ? ({ ok: false, kind: e.kind, primaryRegion: e.primaryRegion, epoch: e.epoch } satisfies WriteOutcome) : ({ ok: false, kind: e.kind } satisfies WriteOutcome);
        }
        void r.pushAll().catch(() => undefined);
        const strike = this.afterAck;
        this.afterAck = undefined;
        strike?.();
        return { ok: true, epoch: res.value.epoch, pos: res.value.pos } satisfies WriteOutcome;
      }
      case 'read': {
        if (r.meta.appliedPos < req.minPos) await r.catchUp(req.minPos);
        if (r.meta.appliedPos < req.minPos) return { ok: false, kind: 'behind' } satisfies ReadOutcome;
        const own = primaryFreshAt(this.acks, r.meta, this.clock.now);
        const fresh = own === undefined || (this.freshAt !== undefined && this.freshAt > own) ? this.freshAt : own;
        if (fresh !== undefined) this.onFreshRead?.(this, fresh);
        return { ok: true, value: r.state.get(req.key), appliedPos: r.meta.appliedPos } satisfies ReadOutcome;
      }
    }
  }
}
