import type { Mutation, StateReader } from '../kv.js';
import type { Result } from '../result.js';
import { ok } from '../result.js';
import type { HandoffFailure } from './handoff.js';
import { handoff, promote } from './handoff.js';
import type { ReplicaContext } from './log.js';
import { compact, enterEpoch, snapshotOf, stepDown, transact } from './log.js';
import { Mutex } from './mutex.js';
import type { Committed, GroupStats, WriteFailure } from './primary.js';
import { GroupCommit } from './primary.js';
import { acceptAppend, acceptFence, installSnapshot } from './secondary.js';
import { Shipper } from './shipping.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import { probePeers } from './probe.js';
import type { MembershipChange } from './membership.js';
import { membershipOf, planChange, planStep } from './membership.js';
import { chunkRows, DEFAULT_MESSAGE_BYTES, withinBudget } from './chunks.js';
import type { ReplicaStore } from './store.js';
import type { ReplicaMessage, ReplicaMeta, ReplicaReply, ReplicationConfig, Snapshot, Transport } from './types.js';
import { DEFAULT_REPLICATION } from './types.js';

export type { Committed, GroupStats, WriteFailure } from './primary.js';
export type { HandoffFailure } from './handoff.js';

export interface CellTopology {
  cell: string;
  regions: string[];
  /** The founding voting set (membership.ts); absent: every region votes. */
  voters?: string[];
  primaryRegion: string;
  epoch: number;
}

/**
 * One replica of a cell: primary or secondary, decided by its persisted role and epoch.
 * Pure rules over an injected store and transport; the Durable Object is only glue.
 *
 * The parts: `primary.ts` (the write path, with group commit), `shipping.ts` (sending the log
 * to peers), `handoff.ts` (promotion and planned handoff), `secondary.ts` (the follower's
 * rules), `log.ts` (local log and metadata helpers they share).
 */
export class Replica {
  /** One replication round, commit of an adopted log, or handoff at a time. */
  private readonly writes = new Mutex();
  private readonly ctx: ReplicaContext;
  private readonly shipper: Shipper;
  private readonly primary: GroupCommit;
  private readonly snapshots: SnapshotReceiver;
  readonly meta: ReplicaMeta;

  constructor(
    private readonly store: ReplicaStore,
    self: { cell: string; region: string },
    topology: CellTopology,
    transport: Transport,
    config: ReplicationConfig = DEFAULT_REPLICATION,
  ) {
    const loaded = store.loadMeta();
    this.meta = loaded ?? {
      cell: self.cell,
      region: self.region,
      regions: [...topology.regions],
      ...(topology.voters === undefined ? {} : { voters: [...topology.voters] }),
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
    this.ctx = { store, meta: this.meta, transport, config };
    this.shipper = new Shipper(this.ctx);
    this.primary = new GroupCommit(this.ctx, this.shipper, this.writes);
    this.snapshots = new SnapshotReceiver(store, this.meta);
  }

  get state(): StateReader {
    return this.store;
  }

  /** Group-commit counters of this incarnation (rounds that committed, writes they carried, largest round). */
  get groupStats(): Readonly<GroupStats> {
    return this.primary.stats;
  }

  /**
   * Plans a write against committed state (plus the writes planned before it in the same
   * replication round), makes it durable out of region, then applies it. See `GroupCommit`.
   */
  write<R, E>(plan: (state: StateReader) => Result<{ mutations: Mutation[]; reply: R }, E>): Promise<Result<Committed<R>, E | WriteFailure>> {
    return this.primary.write(plan);
  }

  /** Out-of-region replicas, nearest in the cell's preference order first. */
  syncCandidates(): string[] {
    return this.shipper.syncCandidates();
  }

  /** The applied state, labelled with the epoch and generation of the entry at its position. */
  snapshot(): Snapshot {
    return snapshotOf(this.ctx);
  }

  /** Ships committed entries to every peer that lacks them; returns the peers still behind. */
  async pushAll(): Promise<string[]> {
    const m = this.meta;
    if (m.role !== 'primary') return [];
    if (m.appliedPos < m.lastPos) await this.writes.run(() => (this.meta.role === 'primary' ? this.primary.commitPending() : Promise.resolve(ok(undefined))));
    if (m.role !== 'primary') return [];
    const behind: string[] = [];
    await Promise.all(
      m.regions
        .filter((r) => r !== m.region && this.shipper.mayLack(r, m.appliedPos))
        .map(async (r) => {
          const reply = await this.shipper.shipTracked(r, m.appliedPos);
          if (reply?.kind === 'stale_epoch') stepDown(this.ctx, reply.epoch, reply.primaryRegion);
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
      const reply = await this.ctx.transport.send(m.primaryRegion, { kind: 'pull', fromPos: m.appliedPos + 1, epoch: m.epoch, region: m.region }).catch(() => undefined);
      if (reply === undefined) return false;
      if (reply.kind === 'entries') {
        const r = acceptAppend(this.store, m, { epoch: reply.epoch, gen: reply.gen, primaryRegion: m.primaryRegion, entries: reply.entries, commitPos: reply.commitPos });
        if (r.kind !== 'ack') return false;
        if (reply.entries.length === 0) break;
      } else if (reply.kind === 'snapshot') {
        const r = installSnapshot(this.store, m, reply.epoch, m.primaryRegion, reply.snapshot, reply.gen);
        if (r.kind !== 'ack') return false;
      } else if (reply.kind === 'not_primary') {
        // Only a newer epoch is news; within ours, the primary is the one our fence promised.
        if (reply.epoch <= m.epoch) return false;
        transact(this.store, m, () => {
          enterEpoch(m, reply.epoch, reply.primaryRegion);
          this.store.saveMeta(m);
        });
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
        return this.snapshots.receive(msg);
      case 'pull':
        return this.servePull(msg.fromPos, msg.region);
      case 'fence':
        return acceptFence(this.store, m, msg.epoch, msg.candidateRegion);
      case 'promote':
        return promote(this.ctx, this.shipper, msg.epoch, msg.members, msg.planned === true);
      case 'members':
        return this.changeMembers(msg.change);
      case 'handoff': {
        const r = await this.handoff(msg.targetRegion);
        return r.ok
          ? { kind: 'handed_off', primaryRegion: r.value.primaryRegion, epoch: r.value.epoch }
          : { kind: 'handoff_failed', reason: r.error.kind, epoch: r.error.epoch, primaryRegion: r.error.primaryRegion };
      }
      case 'status':
        return { kind: 'status', meta: structuredClone(m) };
      case 'probe':
        return probePeers(this.ctx, this.shipper);
    }
  }

  private servePull(fromPos: number, from: string | undefined): ReplicaReply {
    const m = this.meta;
    if (m.role !== 'primary') return { kind: 'not_primary', epoch: m.epoch, primaryRegion: m.primaryRegion };
    const budget = this.ctx.config.messageBytes ?? DEFAULT_MESSAGE_BYTES;
    if (fromPos < m.logStart) {
      const snapshot = this.snapshot();
      if (chunkRows(snapshot.rows, budget).length === 1 || from === undefined || !m.regions.includes(from)) return { kind: 'snapshot', snapshot, epoch: m.epoch, gen: m.gen };
      // Too large for one reply: pushed to the puller in parts; this pull learns nothing yet.
      void this.shipper.shipTracked(from, m.appliedPos);
      return { kind: 'entries', epoch: m.epoch, gen: m.gen, entries: [], commitPos: m.appliedPos };
    }
    const entries = withinBudget(this.store.entries(fromPos, m.appliedPos, this.ctx.config.batchSize), budget);
    return { kind: 'entries', epoch: m.epoch, gen: m.gen, entries, commitPos: m.appliedPos };
  }

  /**
   * Planned failover: with writes paused, ships the whole log to `target`, fences this replica
   * at the next epoch and promotes the target there (see `handoff.ts`).
   */
  handoff(target: string): Promise<Result<{ primaryRegion: string; epoch: number }, HandoffFailure>> {
    return this.writes.run(() => handoff(this.ctx, this.shipper, target));
  }

  /**
   * Changes the membership through the log, one single-step entry after another (membership.ts),
   * each committed under the membership before it. Only the primary takes it.
   */
  async changeMembers(change: MembershipChange): Promise<ReplicaReply> {
    const m = this.meta;
    const refuse = (reason: Extract<ReplicaReply, { kind: 'members_refused' }>['reason'], detail?: string): ReplicaReply => ({
      kind: 'members_refused',
      reason,
      ...(detail === undefined ? {} : { detail }),
      members: membershipOf(m),
      primaryRegion: m.primaryRegion,
    });
    if (m.role !== 'primary') return refuse('not_primary');
    const steps = planChange(membershipOf(m), m.region, change);
    if (!steps.ok) return refuse(steps.error.kind, steps.error.kind === 'invalid' ? steps.error.reason : undefined);
    for (const to of steps.value) {
      const from = membershipOf(m);
      const r = await this.primary.write((state) => planStep(state, from, to));
      if (!r.ok) return refuse(r.error.kind === 'not_primary' ? 'not_primary' : r.error.kind, r.error.kind === 'invalid' ? r.error.reason : undefined);
    }
    return { kind: 'members_changed', members: membershipOf(m) };
  }

  /**
   * Compaction for secondaries too, called after they apply. `keepEntries` overrides how much
   * applied log is kept (operators and tests force a compaction down to the applied position).
   */
  compactLog(keepEntries?: number): void {
    compact(keepEntries === undefined ? this.ctx : { ...this.ctx, config: { ...this.ctx.config, retainEntries: Math.max(1, keepEntries), batchSize: 0 } });
  }
}
