import type { Json, Mutation } from '../core/kv.js';
import type { ReplicaStore } from '../core/replication/store.js';
import type { Entry, ReplicaMeta, Snapshot } from '../core/replication/types.js';

/** `ReplicaStore` over Durable Object SQLite; the schema is in docs/storage-schema.md. */
export class SqliteReplicaStore implements ReplicaStore {
  constructor(private readonly storage: DurableObjectStorage) {
    const sql = storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS replica_meta (id INTEGER PRIMARY KEY CHECK (id = 1), meta TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS replica_log (pos INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, gen INTEGER NOT NULL, muts TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER) WITHOUT ROWID`);
    sql.exec(`CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL`);
    sql.exec(`CREATE TABLE IF NOT EXISTS kv_staging (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER) WITHOUT ROWID`);
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  loadMeta(): ReplicaMeta | undefined {
    const row = this.sql.exec<{ meta: string }>(`SELECT meta FROM replica_meta WHERE id = 1`).toArray()[0];
    return row === undefined ? undefined : (JSON.parse(row.meta) as ReplicaMeta);
  }

  saveMeta(meta: ReplicaMeta): void {
    this.sql.exec(`INSERT OR REPLACE INTO replica_meta (id, meta) VALUES (1, ?)`, JSON.stringify(meta));
  }

  appendEntries(entries: readonly Entry[]): void {
    for (const e of entries) {
      this.sql.exec(`INSERT OR REPLACE INTO replica_log (pos, epoch, gen, muts) VALUES (?, ?, ?, ?)`, e.pos, e.epoch, e.gen, JSON.stringify(e.muts));
    }
  }

  truncateFrom(pos: number): void {
    this.sql.exec(`DELETE FROM replica_log WHERE pos >= ?`, pos);
  }

  compactBefore(pos: number): void {
    this.sql.exec(`DELETE FROM replica_log WHERE pos < ?`, pos);
  }

  entries(fromPos: number, toPos: number, limit: number): Entry[] {
    const rows = this.sql
      .exec<{ pos: number; epoch: number; gen: number; muts: string }>(
        `SELECT pos, epoch, gen, muts FROM replica_log WHERE pos >= ? AND pos <= ? ORDER BY pos LIMIT ?`,
        fromPos,
        toPos,
        limit,
      )
      .toArray();
    const out: Entry[] = [];
    // Stop at the first hole: callers rely on a dense run of positions.
    for (const r of rows) {
      if (r.pos !== fromPos + out.length) break;
      out.push({ pos: r.pos, epoch: r.epoch, gen: r.gen, muts: JSON.parse(r.muts) as Mutation[] });
    }
    return out;
  }

  applyMutations(muts: readonly Mutation[]): void {
    for (const m of muts) {
      if (m.value === null) this.sql.exec(`DELETE FROM kv WHERE key = ?`, m.key);
      else this.sql.exec(`INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES (?, ?, ?)`, m.key, JSON.stringify(m.value), m.expiresAt ?? null);
    }
  }

  expiredKeys(now: number, limit: number): string[] {
    return this.sql
      .exec<{ key: string }>(`SELECT key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY key LIMIT ?`, now, limit)
      .toArray()
      .map((r) => r.key);
  }

  nextExpiry(): number | undefined {
    const row = this.sql.exec<{ t: number | null }>(`SELECT MIN(expires_at) AS t FROM kv WHERE expires_at IS NOT NULL`).toArray()[0];
    return row?.t ?? undefined;
  }

  exportRows(): Array<[string, Json, number | null]> {
    return this.sql
      .exec<{ key: string; value: string; expires_at: number | null }>(`SELECT key, value, expires_at FROM kv ORDER BY key`)
      .toArray()
      .map((r) => [r.key, JSON.parse(r.value) as Json, r.expires_at]);
  }

  replaceRows(rows: Snapshot['rows']): void {
    this.sql.exec(`DELETE FROM kv`);
    for (const [k, v, t] of rows) this.sql.exec(`INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)`, k, JSON.stringify(v), t);
  }

  stageRows(rows: Snapshot['rows'], fresh: boolean): void {
    if (fresh) this.clearStagedRows();
    for (const [k, v, t] of rows) this.sql.exec(`INSERT OR REPLACE INTO kv_staging (key, value, expires_at) VALUES (?, ?, ?)`, k, JSON.stringify(v), t);
  }

  installStagedRows(): void {
    this.sql.exec(`DELETE FROM kv`);
    this.sql.exec(`INSERT INTO kv (key, value, expires_at) SELECT key, value, expires_at FROM kv_staging`);
    this.clearStagedRows();
  }

  clearStagedRows(): void {
    this.sql.exec(`DELETE FROM kv_staging`);
  }

  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn);
  }

  get(key: string): Json | undefined {
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM kv WHERE key = ?`, key).toArray()[0];
    return row === undefined ? undefined : (JSON.parse(row.value) as Json);
  }

  list(prefix: string, options: { after?: string; limit?: number } = {}): Array<[string, Json]> {
    // Range scan on the primary key: [prefix, prefix + U+FFFF) covers every key with the prefix.
    const lower = options.after !== undefined && options.after >= prefix ? options.after : prefix;
    const op = options.after !== undefined && options.after >= prefix ? '>' : '>=';
    return this.sql
      .exec<{ key: string; value: string }>(
        `SELECT key, value FROM kv WHERE key ${op} ? AND key < ? ORDER BY key LIMIT ?`,
        lower,
        `${prefix}\uffff`,
        options.limit ?? -1,
      )
      .toArray()
      .map((r) => [r.key, JSON.parse(r.value) as Json]);
  }

  count(prefix: string): number {
    const row = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM kv WHERE key >= ? AND key < ?`, prefix, `${prefix}\uffff`).toArray()[0];
    return row?.n ?? 0;
  }
}
