import type { Json, Mutation } from '../kv.js';

/** One committed-or-pending step of a cell's history. Positions are dense and start at 1. */
export interface Entry {
  readonly epoch: number;
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
  primaryRegion: string;
  /** Highest position in the log (committed or not). */
  lastPos: number;
  /** Epoch of the entry at `lastPos` (0 when empty). */
  lastEpoch: number;
  /** Highest position applied to the materialised state; everything at or below is committed. */
  appliedPos: number;
  /** Lowest position still held in the log; earlier entries were compacted away. */
  logStart: number;
}

export interface Snapshot {
  readonly epoch: number;
  readonly pos: number;
  readonly rows: ReadonlyArray<readonly [string, Json, number | null]>;
}

/** Messages between replicas of one cell. */
export type ReplicaMessage =
  | { kind: 'append'; epoch: number; primaryRegion: string; entries: Entry[]; commitPos: number }
  | { kind: 'snapshot'; epoch: number; primaryRegion: string; snapshot: Snapshot }
  | { kind: 'pull'; fromPos: number; epoch: number }
  | { kind: 'fence'; epoch: number; candidateRegion: string }
  | { kind: 'promote'; epoch: number }
  | { kind: 'status' };

export type ReplicaReply =
  | { kind: 'ack'; lastPos: number; appliedPos: number; epoch: number }
  | { kind: 'stale_epoch'; epoch: number; primaryRegion: string }
  | { kind: 'gap'; lastPos: number; appliedPos: number }
  | { kind: 'entries'; epoch: number; entries: Entry[]; commitPos: number }
  | { kind: 'snapshot'; snapshot: Snapshot; epoch: number }
  | { kind: 'not_primary'; epoch: number; primaryRegion: string }
  | { kind: 'fenced'; lastPos: number; lastEpoch: number; appliedPos: number; epoch: number }
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
