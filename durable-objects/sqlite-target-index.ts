import type { TargetIndex } from '../core/feed/target-index.js';
import { insertValues } from './sql-values.js';

/**
 * A replica's own index of change-feed records by target (core/feed/target-index.ts) in its
 * SQLite, beside the replicated tables and never replicated: built when an audit query asks,
 * from the records this replica holds. Schema in docs/storage-schema.md.
 */
export class SqliteTargetIndex implements TargetIndex {
  constructor(private readonly storage: DurableObjectStorage) {
    const sql = storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS feed_target (tid TEXT NOT NULL, target TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (tid, target, seq)) WITHOUT ROWID`);
    // Forgetting purged positions is a range delete by position.
    sql.exec(`CREATE INDEX IF NOT EXISTS feed_target_seq ON feed_target (tid, seq)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS feed_target_mark (tid TEXT PRIMARY KEY, up_to INTEGER NOT NULL, floor INTEGER NOT NULL) WITHOUT ROWID`);
  }

  mark(tid: string): { upTo: number; floor: number } {
    const row = this.storage.sql.exec<{ up_to: number; floor: number }>(`SELECT up_to, floor FROM feed_target_mark WHERE tid = ?`, tid).toArray()[0];
    return row === undefined ? { upTo: 0, floor: 0 } : { upTo: row.up_to, floor: row.floor };
  }

  add(tid: string, rows: ReadonlyArray<readonly [string, number]>, upTo: number): void {
    this.storage.transactionSync(() => {
      const sql = this.storage.sql;
      insertValues(sql, 'INSERT OR IGNORE INTO feed_target (tid, target, seq)', 3, rows.flatMap(([target, seq]) => [tid, target, seq]));
      sql.exec(
        `INSERT INTO feed_target_mark (tid, up_to, floor) VALUES (?, ?, 0) ON CONFLICT (tid) DO UPDATE SET up_to = excluded.up_to`,
        tid,
        upTo,
      );
    });
  }

  positions(tid: string, target: string, end: number, limit: number): number[] {
    return this.storage.sql
      .exec<{ seq: number }>(`SELECT seq FROM feed_target WHERE tid = ? AND target = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, tid, target, end, limit)
      .toArray()
      .map((r) => r.seq);
  }

  forget(tid: string): void {
    // The tenant's deletion (or its feed starting over): every row at once, rare by nature.
    this.storage.transactionSync(() => {
      this.storage.sql.exec(`DELETE FROM feed_target WHERE tid = ?`, tid);
      this.storage.sql.exec(`DELETE FROM feed_target_mark WHERE tid = ?`, tid);
    });
  }

  dropBelow(tid: string, seq: number, limit?: number): void {
    this.storage.transactionSync(() => {
      const sql = this.storage.sql;
      sql.exec(
        `DELETE FROM feed_target WHERE (tid, target, seq) IN (SELECT tid, target, seq FROM feed_target WHERE tid = ? AND seq < ? ORDER BY seq LIMIT ?)`,
        tid,
        seq,
        limit ?? -1, // SQLite: a negative LIMIT is none
      );
      const left = sql.exec(`SELECT 1 FROM feed_target WHERE tid = ? AND seq < ? LIMIT 1`, tid, seq).toArray().length > 0;
      if (!left) sql.exec(`UPDATE feed_target_mark SET floor = ? WHERE tid = ?`, seq, tid);
    });
  }

}
