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
      for (const region of this.syncCandidates()) {
        tried.push(region);
        const reply = await this.ship(region, entry.pos).catch(() => undefined);
        if (reply === undefined) continue;
        if (reply.kind === 'stale_epoch') {
          this.stepDown(reply.epoch, reply.primaryRegion);
          return err({ kind: 'fenced', epoch: reply.epoch, primaryRegion: reply.primaryRegion });
        }
        if (reply.kind === 'ack' && reply.lastPos >= entry.pos) {
          if (this.meta.role !== 'primary') break; // fenced while waiting: never acknowledge
          this.store.transaction(() => {
            applyCommitted(this.store, m, entry.pos);
            this.store.saveMeta(m);
          });
          this.compact();
          return ok({ reply: planned.value.reply, epoch: entry.epoch, pos: entry.pos });
        }
      }
      // Not durable anywhere else: the position is burnt as a no-op of a new generation, so a
      // copy that did reach a secondary (ack lost) is replaced, and a delayed one is refused.
      this.store.transaction(() => {
        m.gen += 1;
        m.lastGen = m.gen;
        this.store.truncateFrom(entry.pos);
        this.store.appendEntries([{ epoch: entry.epoch, gen: m.gen, pos: entry.pos, muts: [] }]);
        this.store.saveMeta(m);
      });
      if (this.meta.role !== 'primary') return err({ kind: 'fenced', epoch: this.meta.epoch, primaryRegion: this.meta.primaryRegion });
      return err({ kind: 'not_durable', tried });
    });
  }

  /** Out-of-region replicas, nearest in the cell's preference order first. */
  syncCandidates(): string[] {
    return this.meta.regions.filter((r) => r !== this.meta.region);
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
      const reply = await this.transport.send(region, { kind: 'append', epoch: m.epoch, gen: m.gen, primaryRegion: m.region, entries, commitPos: m.appliedPos });
      if (reply.kind === 'ack') {
        this.peerApplied.set(region, reply.appliedPos);
        // The peer's log matches ours only as far as we just sent it (or it applied).
        const sentTo = entries[entries.length - 1]?.pos ?? 0;
        if (reply.appliedPos >= upTo || sentTo >= upTo) return reply;
        from = reply.appliedPos + 1;
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
      primaryRegion: this.meta.region,
      snapshot: this.snapshot(),
    });
    if (reply.kind === 'ack') this.peerApplied.set(region, reply.appliedPos);
    return reply;
  }

  snapshot(): Snapshot {
    return { epoch: this.meta.epoch, gen: this.meta.gen, pos: this.meta.appliedPos, rows: this.store.exportRows() };
  }

  /** Ships committed entries to every peer that lacks them; returns the peers still behind. */
  async pushAll(): Promise<string[]> {
    const m = this.meta;
    if (m.role !== 'primary') return [];
    const behind: string[] = [];
    await Promise.all(
      m.regions
        .filter((r) => r !== m.region && (this.peerApplied.get(r) ?? -1) < m.appliedPos)
        .map(async (r) => {
          const reply = await this.ship(r, m.appliedPos).catch(() => undefined);
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
        installSnapshot(this.store, m, reply.epoch, m.primaryRegion, reply.snapshot);
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
        return installSnapshot(this.store, m, msg.epoch, msg.primaryRegion, msg.snapshot);
      case 'pull':
        return this.servePull(msg.fromPos);
      case 'fence':
        return acceptFence(this.store, m, msg.epoch);
      case 'promote':
        return this.promote(msg.epoch);
      case 'status':
        return { kind: 'status', meta: structuredClone(m) };
    }
  }

  private servePull(fromPos: number): ReplicaReply {
    const m = this.meta;
    if (m.role !== 'primary') return { kind: 'not_primary', epoch: m.epoch, primaryRegion: m.primaryRegion };
    if (fromPos < m.logStart) return { kind: 'snapshot', snapshot: this.snapshot(), epoch: m.epoch };
    return { kind: 'entries', epoch: m.epoch, gen: m.gen, entries: this.store.entries(fromPos, m.appliedPos, this.config.batchSize), commitPos: m.appliedPos };
  }

  /**
   * Becomes primary of `epoch` after a fence round chose this replica as the most up to date.
   * Its whole log is adopted: any acknowledged write is in it (the coordinator made sure).
   */
  private promote(epoch: number): ReplicaReply {
    const m = this.meta;
    if (epoch < m.epoch) return { kind: 'stale_epoch', epoch: m.epoch, primaryRegion: m.primaryRegion };
    this.store.transaction(() => {
      m.epoch = epoch;
      m.gen = 0;
      m.role = 'primary';
      m.primaryRegion = m.region;
      applyCommitted(this.store, m, m.lastPos);
      this.store.saveMeta(m);
    });
    this.peerApplied.clear();
    return { kind: 'ack', lastPos: m.lastPos, appliedPos: m.appliedPos, epoch: m.epoch };
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
      this.store.transaction(() => {
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
