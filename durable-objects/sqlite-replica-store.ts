import type { Json, Mutation } from '../core/kv.js';
import type { ReplicaStore } from '../core/replication/store.js';
import type { Entry, ReplicaMeta, Snapshot } from '../core/replication/types.js';
import { insertValues, MAX_PARAMS } from './sql-values.js';

/** How many recent log entries stay decoded in memory (the log keeps ~512 past the applied point). */
const CACHED_ENTRIES = 1024;

/**
 * `ReplicaStore` over Durable Object SQLite; the schema is in docs/storage-schema.md.
 *
 * Recent log entries are also kept decoded in memory: the write path reads each entry back
 * several times (shipping, the previous entry's label, applying once committed, a secondary's
 * comparison with what it holds), and parsing its JSON each time was a tenth of a replicated
 * write's CPU. The cache follows every log change and is dropped when a transaction fails, so
 * it never holds what SQLite does not.
 */
export class SqliteReplicaStore implements ReplicaStore {
  private readonly cache = new Map<number, Entry>();

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
      // Frozen: callers share the cached copy, and must not change it.
      this.cache.set(e.pos, Object.freeze({ ...e, muts: Object.freeze(e.muts.map((m) => Object.freeze({ ...m }))) }));
    }
    // Oldest first, by insertion order: the log only ever grows at its end (a replaced tail is
    // deleted first), so that is position order, and no sort of the whole cache per append (it
    // was a tenth of a replica's append). Were it ever not, a wrong eviction only costs a read.
    for (const p of this.cache.keys()) {
      if (this.cache.size <= CACHED_ENTRIES) break;
      this.cache.delete(p);
    }
  }

  truncateFrom(pos: number): void {
    this.sql.exec(`DELETE FROM replica_log WHERE pos >= ?`, pos);
    for (const p of this.cache.keys()) if (p >= pos) this.cache.delete(p);
  }

  compactBefore(pos: number): void {
    this.sql.exec(`DELETE FROM replica_log WHERE pos < ?`, pos);
    for (const p of this.cache.keys()) if (p < pos) this.cache.delete(p);
  }

  entries(fromPos: number, toPos: number, limit: number): Entry[] {
    const cached: Entry[] = [];
    for (let p = fromPos; p <= toPos && cached.length < limit; p++) {
      const e = this.cache.get(p);
      if (e === undefined) break;
      cached.push(e);
    }
    if (cached.length === Math.min(limit, toPos - fromPos + 1)) return cached;
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

  /**
   * Runs of puts and of deletes each go in as few statements as SQLite's 100 bound parameters
   * allow (one statement per row cost more than the rows), in order, so a later mutation of a
   * key still wins. When no key repeats (a round's net mutations always), order cannot matter:
   * all deletes go first, then all puts, so a round of PATCHes (each deleting its old index row
   * and adding its new one) costs two statements, not two per PATCH.
   */
  applyMutations(muts: readonly Mutation[]): void {
    if (new Set(muts.map((m) => m.key)).size === muts.length) {
      const deletes = muts.filter((m) => m.value === null);
      if (deletes.length > 0 && deletes.length < muts.length) muts = [...deletes, ...muts.filter((m) => m.value !== null)];
    }
    let i = 0;
    while (i < muts.length) {
      const deleting = muts[i]!.value === null;
      let j = i;
      while (j < muts.length && (muts[j]!.value === null) === deleting) j++;
      const run = muts.slice(i, j);
      if (deleting) {
        for (let k = 0; k < run.length; k += MAX_PARAMS) {
          const keys = run.slice(k, k + MAX_PARAMS).map((m) => m.key);
          this.sql.exec(`DELETE FROM kv WHERE key IN (${keys.map(() => '?').join(', ')})`, ...keys);
        }
      } else {
        this.insertRows('kv', true, run.map((m) => [m.key, m.value, m.expiresAt ?? null]));
      }
      i = j;
    }
  }

  /** Inserts rows, as many per statement as the parameter bound allows. */
  private insertRows(table: 'kv' | 'kv_staging', replace: boolean, rows: ReadonlyArray<readonly [string, Json, number | null]>): void {
    const params: Array<string | number | null> = [];
    for (const [key, value, expiresAt] of rows) params.push(key, JSON.stringify(value), expiresAt);
    insertValues(this.sql, `${replace ? 'INSERT OR REPLACE' : 'INSERT'} INTO ${table} (key, value, expires_at)`, 3, params);
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
    this.insertRows('kv', false, rows);
  }

  stageRows(rows: Snapshot['rows'], fresh: boolean): void {
    if (fresh) this.clearStagedRows();
    this.insertRows('kv_staging', true, rows);
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
    try {
      return this.storage.transactionSync(fn);
    } catch (e) {
      this.cache.clear(); // rolled back: the log may no longer hold what was cached inside
      throw e;
    }
  }

  get(key: string): Json | undefined {
    const text = this.getText(key);
    return text === undefined ? undefined : (JSON.parse(text) as Json);
  }

  getText(key: string): string | undefined {
    return this.sql.exec<{ value: string }>(`SELECT value FROM kv WHERE key = ?`, key).toArray()[0]?.value;
  }

  /** One query per `MAX_PARAMS` keys: a page of objects named by an index costs one round, not one per row. */
  getMany(keys: readonly string[]): Map<string, Json> {
    const out = new Map<string, Json>();
    for (let k = 0; k < keys.length; k += MAX_PARAMS) {
      const part = keys.slice(k, k + MAX_PARAMS);
      const rows = this.sql.exec<{ key: string; value: string }>(`SELECT key, value FROM kv WHERE key IN (${part.map(() => '?').join(', ')})`, ...part);
      for (const r of rows) out.set(r.key, JSON.parse(r.value) as Json);
    }
    return out;
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

  /** Descending on the primary key: SQLite walks the index from the end of the range, one row. */
  lastKey(prefix: string): string | undefined {
    const row = this.sql.exec<{ key: string }>(`SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key DESC LIMIT 1`, prefix, `${prefix}\uffff`).toArray()[0];
    return row?.key;
  }

  count(prefix: string): number {
    const row = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM kv WHERE key >= ? AND key < ?`, prefix, `${prefix}\uffff`).toArray()[0];
    return row?.n ?? 0;
  }
}
