import type { Json, Mutation } from '../kv.js';

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
}

export interface Snapshot {
  readonly epoch: number;
  readonly gen: number;
  readonly pos: number;
  readonly rows: ReadonlyArray<readonly [string, Json, number | null]>;
}

/** Messages between replicas of one cell. */
export type ReplicaMessage =
  | { kind: 'append'; epoch: number; gen: number; primaryRegion: string; entries: Entry[]; commitPos: number }
  | { kind: 'snapshot'; epoch: number; primaryRegion: string; snapshot: Snapshot }
  | { kind: 'pull'; fromPos: number; epoch: number }
  | { kind: 'fence'; epoch: number; candidateRegion: string }
  | { kind: 'promote'; epoch: number }
  | { kind: 'status' };

export type ReplicaReply =
  | { kind: 'ack'; lastPos: number; appliedPos: number; epoch: number }
  | { kind: 'stale_epoch'; epoch: number; primaryRegion: string }
  /** The message came from an abandoned generation of the current primary: drop it. */
  | { kind: 'stale_gen'; epoch: number; gen: number }
  | { kind: 'gap'; lastPos: number; appliedPos: number }
  | { kind: 'entries'; epoch: number; gen: number; entries: Entry[]; commitPos: number }
  | { kind: 'snapshot'; snapshot: Snapshot; epoch: number }
  | { kind: 'not_primary'; epoch: number; primaryRegion: string }
  | { kind: 'fenced'; lastPos: number; lastEpoch: number; lastGen: number; appliedPos: number; epoch: number }
  | { kind: 'status'; meta: ReplicaMeta };

/** Sends a message to the replica of the same cell in `region`. Rejects on loss, timeout or refusal. */
export interface Transport {
  send(region: string, message: ReplicaMessage): Promise<ReplicaReply>;
}

export interface ReplicationConfig {
  /** Entries kept in the log behind the applied position before compaction. */
  readonly retainEntries: number;
  /** Largest batch shipped in one append. */
  readonly batchSize: number;
}

export const DEFAULT_REPLICATION: ReplicationConfig = { retainEntries: 512, batchSize: 256 };
