import { caughtUpBy, confirmsPrimary, persistDue, stalenessMs } from '../core/replication/staleness.js';
import type { ReplicaMessage, ReplicaMeta, ReplicaReply } from '../core/replication/types.js';

/** A new `freshAt` is written at most this often (a crash loses less than this: the bound only grows). */
const PERSIST_EVERY_MS = 1_000;

/**
 * When this replica last knew it held everything its cell had committed (core/replication/staleness.ts),
 * kept in memory and in its own SQLite row (`replica_fresh`, docs/storage-schema.md) so the bound
 * survives an eviction.
 */
export class ReplicaFreshness {
  private freshAt: number | undefined;
  private persisted: number | undefined;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS replica_fresh (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL)`);
    this.freshAt = this.persisted = sql.exec<{ at: number }>(`SELECT at FROM replica_fresh WHERE id = 1`).toArray()[0]?.at;
  }

  /** A message from the primary and this replica's answer to it. */
  received(message: ReplicaMessage, reply: ReplicaReply): void {
    if (caughtUpBy(message, reply)) this.note(Date.now());
  }

  /** A peer's answer to this replica's message, sent at `sentAt`. */
  answered(meta: ReplicaMeta, to: string, message: ReplicaMessage, reply: ReplicaReply, sentAt: number): void {
    if (confirmsPrimary(meta, to, message, reply)) this.note(sentAt);
  }

  stalenessMs(): number | undefined {
    return stalenessMs(this.freshAt, Date.now());
  }

  private note(at: number): void {
    if (this.freshAt !== undefined && at <= this.freshAt) return;
    this.freshAt = at;
    if (!persistDue(this.persisted, at, PERSIST_EVERY_MS)) return;
    this.sql.exec(`INSERT OR REPLACE INTO replica_fresh (id, at) VALUES (1, ?)`, at);
    this.persisted = at;
  }
}
