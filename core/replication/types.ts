import type { Json, Mutation } from '../kv.js';
import type { Membership, MembershipChange } from './membership.js';

/** One committed-or-pending step of a cell's history. Positions are dense and start at 1. */
export interface Entry {
  readonly epoch: number;
  /**
   * Generation within the epoch: a primary that gives up on a write burns its position and
   * moves to the next generation, so a delayed copy of the abandoned entry is recognisably stale.
   * Logs compare by (epoch, gen, pos), like Raft terms.
   */
  readonly gen: number;
  readonly pos: number;
  readonly muts: readonly Mutation[];
}

export type Role = 'primary' | 'secondary' | 'fenced';

/** What a replica persists about itself besides its log and state. */
export interface ReplicaMeta {
  /**
   * The epoch in which this replica became primary by a planned handoff (absent: never, or by a
   * failover since), so whoever finds the move later (a control copy's watcher) alerts it as planned.
   */
  handedEpoch?: number;
  cell: string;
  region: string;
  /** Every region that holds a replica of this cell, in the cell's preference order. */
  regions: string[];
  role: Role;
  /** The highest epoch this replica has seen; it refuses entries from older epochs. */
  epoch: number;
  /** Highest generation seen within `epoch` (the primary's current one). */
  gen: number;
  primaryRegion: string;
  /** Highest position in the log (committed or not). */
  lastPos: number;
  /** Epoch and generation of the entry at `lastPos` (0 when empty). */
  lastEpoch: number;
  lastGen: number;
  /** Highest position applied to the materialised state; everything at or below is committed. */
  appliedPos: number;
  /** Lowest position still held in the log; earlier entries were compacted away. */
  logStart: number;
  /**
   * Epoch and generation of the entry at `logStart - 1` (compacted, or the base of an installed
   * snapshot), so a snapshot can be labelled with the true origin of its last entry. Absent in
   * metadata written before it existed.
   */
  baseEpoch?: number;
  baseGen?: number;
  /**
   * The voting subset of `regions` (membership.ts); absent in metadata written before voters
   * existed: then every region votes. Learners are the other regions.
   */
  voters?: string[];
  /** Version of the membership (`regions`, `voters`) this replica applied; absent = 0. */
  membersVersion?: number;
}

export interface Snapshot {
  /**
   * Epoch and generation of the entry at `pos` (not the sender's current epoch): a replica that
   * installs the snapshot reports them as its last entry, and an inflated label would let the
   * promotion prefer it over a replica holding a later acknowledged write.
   */
  readonly epoch: number;
  readonly gen: number;
  readonly pos: number;
  readonly rows: ReadonlyArray<readonly [string, Json, number | null]>;
}

/** One part of a snapshot transfer: `id` names the transfer, parts go in order 0..count-1. */
export interface SnapshotPart {
  readonly id: string;
  readonly index: number;
  readonly count: number;
}

/** Messages between replicas of one cell. */
export type ReplicaMessage =
  /**
   * `prev` labels the entry just before `entries[0]`: a replica holding that same entry may take a
   * batch that starts past its applied position (Raft's consistency check), so an uncommitted
   * tail longer than one batch can still be shipped. Without it a batch must start at or before
   * `appliedPos + 1`.
   */
  /** `freshAt`: the sender's read-staleness stamp (staleness.ts), set by the Durable Object glue; the rules ignore it. */
  /** No `entries` and `prevPos`: a commit notice for entries the receiver was sent already (`prev` labels `prevPos`). */
  | { kind: 'append'; epoch: number; gen: number; primaryRegion: string; entries: Entry[]; commitPos: number; prev?: { epoch: number; gen: number }; prevPos?: number; freshAt?: number }
  /**
   * `gen` is the sender's current generation (older senders left it out: `snapshot.gen` then).
   * A snapshot larger than one message goes in parts (`part`), each carrying some of the rows
   * and the same label; the receiver installs them all at once with the last (chunks.ts).
   */
  | { kind: 'snapshot'; epoch: number; gen?: number; primaryRegion: string; snapshot: Snapshot; part?: SnapshotPart }
  /** `region`: the puller, so a primary that must answer with a large snapshot can push it there in parts instead. */
  | { kind: 'pull'; fromPos: number; epoch: number; region?: string }
  /**
   * A promise: from now on accept entries only from `candidateRegion` in `epoch`, and nothing from
   * older epochs. A second fence of the same epoch naming another candidate is refused, so two
   * racing coordinators can never both install a primary of one epoch.
   */
  | { kind: 'fence'; epoch: number; candidateRegion: string }
  /** `members`: the newest membership the coordinator saw; the new primary commits under it (failover.ts). */
  /** `planned`: a handoff, not a failover (the new primary remembers it: `ReplicaMeta.handedEpoch`). */
  | { kind: 'promote'; epoch: number; members?: Membership; planned?: boolean }
  /** Sent to the primary: change who holds replicas and who votes, one single-step change at a time (membership.ts). */
  | { kind: 'members'; change: MembershipChange }
  /** Planned failover, sent to the primary: hand the cell over to `targetRegion` without losing a write. */
  | { kind: 'handoff'; targetRegion: string }
  | { kind: 'status' }
  /** A failure detector's probe: status, plus which out-of-region peers this replica reaches (probe.ts). */
  | { kind: 'probe' };

export type ReplicaReply =
  | { kind: 'ack'; lastPos: number; appliedPos: number; epoch: number }
  | { kind: 'stale_epoch'; epoch: number; primaryRegion: string }
  /** The message came from an abandoned generation of the current primary: drop it. */
  | { kind: 'stale_gen'; epoch: number; gen: number }
  | { kind: 'gap'; lastPos: number; appliedPos: number }
  | { kind: 'entries'; epoch: number; gen: number; entries: Entry[]; commitPos: number }
  | { kind: 'snapshot'; snapshot: Snapshot; epoch: number; gen?: number }
  /** A snapshot part was staged (or was out of order): send part `next` of transfer `id`. */
  | { kind: 'snapshot_part'; id: string; next: number }
  | { kind: 'not_primary'; epoch: number; primaryRegion: string }
  /** `members`: the membership this replica applied (the coordinator's quorum is a majority of the newest seen). */
  | { kind: 'fenced'; lastPos: number; lastEpoch: number; lastGen: number; appliedPos: number; epoch: number; members?: Membership }
  | { kind: 'members_changed'; members: Membership }
  | { kind: 'members_refused'; reason: 'invalid' | 'in_flight' | 'not_primary' | 'not_durable' | 'fenced'; detail?: string; members: Membership; primaryRegion: string }
  | { kind: 'status'; meta: ReplicaMeta }
  /** `reaches`: out-of-region peers that confirmed (for a primary: that would accept its entries). */
  | { kind: 'probed'; meta: ReplicaMeta; reaches: string[] }
  | { kind: 'handed_off'; primaryRegion: string; epoch: number }
  | { kind: 'handoff_failed'; reason: 'not_primary' | 'invalid_target' | 'unreachable' | 'behind' | 'fenced' | 'promote_failed'; epoch: number; primaryRegion: string };

/** Sends a message to the replica of the same cell in `region`. Rejects on loss, timeout or refusal. */
export interface Transport {
  send(region: string, message: ReplicaMessage): Promise<ReplicaReply>;
}

export interface ReplicationConfig {
  /** Entries kept in the log behind the applied position before compaction. */
  readonly retainEntries: number;
  /** Largest batch shipped in one append. */
  readonly batchSize: number;
  /**
   * Group commit: most writes one replication round takes (default 64). Never more than
   * `batchSize`, so a round reaches a caught-up secondary in one append.
   */
  readonly groupWrites?: number;
  /** Group commit: a round takes no further writes once its mutations reach this many bytes of JSON (default 256 KiB). */
  readonly groupBytes?: number;
  /** Largest replication message: snapshot parts and appends stay within it (default 1 MiB, chunks.ts). */
  readonly messageBytes?: number;
}

export const DEFAULT_REPLICATION: ReplicationConfig = { retainEntries: 512, batchSize: 256 };
