import { beforeSend, caughtUpAt, noteAck, persistDue, primaryFreshAt, stalenessMs, type VoterAcks } from '../core/replication/staleness.js';
import type { ReplicaMessage, ReplicaMeta, ReplicaReply } from '../core/replication/types.js';

/** A new `freshAt` is written at most this often (a crash loses less than this: the bound only grows). */
const PERSIST_EVERY_MS = 1_000;

/**
 * When this replica last held everything its cell had committed (core/replication/staleness.ts):
 * kept in memory and in its own SQLite row (`replica_fresh`, docs/storage-schema.md) so the
 * bound survives an eviction; the primary's voter acknowledgements are kept in memory only.
 */
export class ReplicaFreshness {
  private freshAt: number | undefined;
  private persisted: number | undefined;
  private acks: VoterAcks | undefined;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS replica_fresh (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL)`);
    this.freshAt = this.persisted = sql.exec<{ at: number }>(`SELECT at FROM replica_fresh WHERE id = 1`).toArray()[0]?.at;
  }

  /**
   * Sends `message` to a peer through `send`: a primary's appends carry its stamp, and a voter's
   * acknowledgement of one may move the primary's own `freshAt`.
   */
  async send(meta: ReplicaMeta, to: string, message: ReplicaMessage, send: (message: ReplicaMessage) => Promise<ReplicaReply>): Promise<ReplicaReply> {
    const before = beforeSend(this.acks, meta);
    this.acks = before.acks;
    const sentAt = Date.now();
    const stamped = message.kind === 'append' && meta.role === 'primary' && this.freshAt !== undefined ? { ...message, freshAt: this.freshAt } : message;
    const reply = await send(stamped);
    this.acks = noteAck(this.acks, meta, to, message, reply, sentAt, before.counts);
    this.note(primaryFreshAt(this.acks, meta, Date.now()));
    return reply;
  }

  /** A message from the primary and this replica's answer to it. */
  received(message: ReplicaMessage, reply: ReplicaReply): void {
    this.note(caughtUpAt(message, reply));
  }

  stalenessMs(meta: ReplicaMeta): number | undefined {
    const now = Date.now();
    const own = primaryFreshAt(this.acks, meta, now);
    return stalenessMs(own === undefined || (this.freshAt !== undefined && this.freshAt > own) ? this.freshAt : own, now);
  }

  private note(at: number | undefined): void {
    if (at === undefined || (this.freshAt !== undefined && at <= this.freshAt)) return;
    this.freshAt = at;
    if (!persistDue(this.persisted, at, PERSIST_EVERY_MS)) return;
    this.sql.exec(`INSERT OR REPLACE INTO replica_fresh (id, at) VALUES (1, ?)`, at);
    this.persisted = at;
  }
}
