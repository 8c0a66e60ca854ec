/**
 * Baselines for writes. `/` (single-do): every request goes to one SQLite Durable Object that
 * does one upsert and returns, i.e. a single un-replicated Durable Object write.
 * `/replicated` (replicated-floor): the least work of Tessera's replicated write topology with
 * none of its logic — one Durable Object per region (5), the primary appends a log row and a
 * state row, sends the entry to one other region and waits for it to do the same, answers, and
 * then pushes the entry to the three others in the background; entries arriving while a copy is
 * in flight share the next one (group commit). On one machine every replica's work shares the
 * same CPUs, so this is about the ceiling a replicated PATCH can reach here.
 * `/replicated-naive`: the same, one copy per write (what group commit buys).
 * `/replicated-rows`, `/replicated-rows-feed`: the group-commit floor, each write storing the rows
 * a PATCH stores (feed off, then on: `rowsOf`) instead of one small row, on objects of their own.
 * `/replicated-pipelined`: group commit with up to `PIPELINE_DEPTH` copies in flight (a round
 * starts while the previous one waits for its copy; callers are answered in log order): what
 * pipelining would buy over group commit on this machine.
 * `/read?n=N` (read floors, graph-query.ts): the least a Durable-Object-backed list read of N
 * stored objects does — one SQLite range query in one Durable Object, each row's JSON parsed and
 * handed back over RPC, the Worker serializing `{value: [...]}` — over rows stored once with
 * `POST /read-seed` (a JSON array of objects, e.g. Tessera's own users).
 * Bundled and served by bench/servers.ts.
 */
import { DurableObject } from 'cloudflare:workers';

interface BaselineEnv {
  COUNTER: DurableObjectNamespace<Counter>;
  NODE: DurableObjectNamespace<ReplicaNode>;
}

const REGIONS = ['weur', 'eeur', 'wnam', 'enam', 'apac'];
const PIPELINE_DEPTH = 4;
type Shipping = 'naive' | 'grouped' | 'pipelined';

interface FloorEntry {
  pos: number;
  value: string;
  /** What the write stores on every replica (`rowsOf`). */
  rows: FloorRows;
  /** The rows, made once by the primary and shipped with the entry, as Tessera ships its mutations. */
  muts?: FloorMutation[];
}

/**
 * `one`: one small row (the plain floor). `patch`: the rows a Tessera PATCH of a user's
 * displayName stores, at their sizes (the user object, ~530 B; the old displayName index key
 * deleted and the new one written; an idempotency record, ~210 B, under a random key with an
 * expiry). `patch-feed`: those plus the change feed's (a ~230 B record under the tenant's next
 * position): the least a PATCH's storage costs with the feed off and on.
 */
type FloorRows = 'one' | 'patch' | 'patch-feed';
interface FloorMutation {
  key: string;
  value: unknown;
  expiresAt?: number;
}

const TENANT = 't/88d091e6-b10b-494a-b1a0-5f2efcd45970';
const USER_ID = 'a31e4349-49c5-4c57-94e0-a77db764123f';

function rowsOf(entry: Omit<FloorEntry, 'muts'>): FloorMutation[] {
  if (entry.rows === 'one') return [{ key: 'row', value: entry.value }];
  const name = (n: number) => `Bench User ${n}`;
  const at = Date.now();
  const user = {
    id: USER_ID, displayName: name(entry.pos), userPrincipalName: 'bench.user@bench.example', accountEnabled: true, mail: null, mailNickname: 'bench.user',
    givenName: null, surname: null, jobTitle: null, department: null, usageLocation: null, businessPhones: [], mobilePhone: null, officeLocation: null,
    preferredLanguage: null, passwordProfile: { password: 'pbkdf2-sha256$100000$0mljDyJPXcwOdjEWtkPRdg$wO1Np6NenatGIH3cPkqGdc7jOCm3O5S67ex1JBWS5m4' },
    createdDateTime: '2026-12-03T12:38:03.319Z', _v: entry.pos,
  };
  const index = (n: number) => `${TENANT}/x/user.displayName/${encodeURIComponent(name(n).toLowerCase())}/${USER_ID}`;
  const idem = {
    bodyHash: '_rFRt9SHA3o00859KEvSr3LrxJZ7oY4ozyuNiH1RWJU', attempt: crypto.randomUUID(), at, kept: 'clear',
    outcome: { status: 204, body: null, headers: { ETag: `W/"${entry.pos}"` } },
  };
  const muts: FloorMutation[] = [
    { key: `${TENANT}/o/user/${USER_ID}`, value: user },
    { key: index(entry.pos - 1), value: null },
    { key: index(entry.pos), value: true },
    { key: `idem/${crypto.randomUUID()}`, value: idem, expiresAt: at + 86_400_000 },
  ];
  if (entry.rows === 'patch-feed') {
    const seq = String(entry.pos).padStart(12, '0');
    const record = [2, entry.pos, at, 'operator', crypto.randomUUID(), ['user', USER_ID, 'update', name(entry.pos), ['displayName', name(entry.pos - 1), name(entry.pos)], [], 'bench.user@bench.example']];
    // No index row: each replica indexes records by target for itself when queried (core/feed/target-index.ts).
    muts.push({ key: `${TENANT}/fd/${seq}`, value: record });
  }
  return muts;
}

export class ReplicaNode extends DurableObject<BaselineEnv> {
  private pos = 0;
  /** Group commit: entries waiting for the copy in flight, and their callers. */
  private queued: Array<{ entry: FloorEntry; done: () => void }> = [];
  private shipping = false;
  /** Pipelining: copies in flight, and the answer of the latest round (each answers after the one before). */
  private inFlight = 0;
  private answered: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: BaselineEnv) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS log (pos INTEGER PRIMARY KEY, muts TEXT NOT NULL)');
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID');
    // The same shape as Tessera's state table (durable-objects/sqlite-replica-store.ts), for the `patch` rows.
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER) WITHOUT ROWID');
    ctx.storage.sql.exec('CREATE INDEX IF NOT EXISTS state_expiry ON state (expires_at) WHERE expires_at IS NOT NULL');
  }

  /**
   * The primary: local append, one synchronous copy out of region, then the rest in the
   * background. `grouped`: entries that arrive while a copy is in flight go together in the next
   * one (group commit, as Tessera's primary does); otherwise one copy per write.
   */
  async write(value: string, mode: Shipping, rows: FloorRows = 'one'): Promise<number> {
    const pos = ++this.pos;
    const entry: FloorEntry = rows === 'one' ? { pos, value, rows } : { pos, value, rows, muts: rowsOf({ pos, value, rows }) };
    // Tessera's primary appends a write to its log when it arrives and applies the round's net
    // state once a voter holds it (drain); the plain floor applies each write at once.
    if (rows === 'one') this.apply([entry]);
    else this.appendLog([entry]);
    if (mode === 'naive') {
      await this.ship([entry]);
      return entry.pos;
    }
    await new Promise<void>((done) => {
      this.queued.push({ entry, done });
      if (mode === 'grouped') void this.drain();
      else this.pump();
    });
    return entry.pos;
  }

  /** Starts rounds while fewer than PIPELINE_DEPTH copies are in flight. */
  private pump(): void {
    while (this.queued.length > 0 && this.inFlight < PIPELINE_DEPTH) {
      const batch = this.queued.splice(0);
      this.inFlight++;
      const shipped = this.ship(batch.map((b) => b.entry)).finally(() => {
        this.inFlight--;
        this.pump();
      });
      const before = this.answered;
      this.answered = Promise.all([shipped, before]).then(() => batch.forEach((b) => b.done()));
    }
  }

  private async drain(): Promise<void> {
    if (this.shipping) return;
    this.shipping = true;
    while (this.queued.length > 0) {
      const batch = this.queued.splice(0);
      const entries = batch.map((b) => b.entry);
      await this.ship(entries);
      if (entries[0]?.rows !== 'one') this.applyState(entries);
      for (const b of batch) b.done();
    }
    this.shipping = false;
  }

  private async ship(entries: FloorEntry[]): Promise<void> {
    const rows = entries[0]?.rows ?? 'one';
    const [sync, ...rest] = REGIONS.slice(1).map((r) => this.env.NODE.get(this.env.NODE.idFromName(rows === 'one' ? r : `${rows}:${r}`)));
    await sync!.apply(entries);
    this.ctx.waitUntil(Promise.all(rest.map((peer) => peer.apply(entries))));
  }

  /** A copy: the entries' log rows and their state. */
  apply(entries: FloorEntry[]): number {
    const sql = this.ctx.storage.sql;
    if (entries[0]?.rows !== 'one') {
      this.appendLog(entries);
      this.applyState(entries);
      return entries.length;
    }
    for (const entry of entries) {
      sql.exec('INSERT OR REPLACE INTO log (pos, muts) VALUES (?, ?)', entry.pos, JSON.stringify([{ key: 'row', value: entry.value }]));
      sql.exec('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)', 'row', JSON.stringify(entry.value));
    }
    return entries.length;
  }

  private appendLog(entries: readonly FloorEntry[]): void {
    for (const e of entries) this.ctx.storage.sql.exec('INSERT OR REPLACE INTO log (pos, muts) VALUES (?, ?)', e.pos, JSON.stringify(e.muts ?? []));
  }

  /**
   * A round's rows as Tessera applies them (core/replication/secondary.ts netMutations): each
   * key's last mutation only, then the deletes in one statement and the puts in as few as 100
   * bound parameters allow (no more statements than Tessera's applyMutations uses).
   */
  private applyState(entries: readonly FloorEntry[]): void {
    const sql = this.ctx.storage.sql;
    const net = new Map<string, FloorMutation>();
    for (const e of entries) {
      for (const m of e.muts ?? []) {
        net.delete(m.key);
        net.set(m.key, m);
      }
    }
    const deletes = [...net.values()].filter((m) => m.value === null).map((m) => m.key);
    const puts = [...net.values()].filter((m) => m.value !== null);
    for (let i = 0; i < deletes.length; i += 100) {
      const part = deletes.slice(i, i + 100);
      sql.exec(`DELETE FROM state WHERE key IN (${part.map(() => '?').join(', ')})`, ...part);
    }
    for (let i = 0; i < puts.length; i += 33) {
      const part = puts.slice(i, i + 33);
      sql.exec(`INSERT OR REPLACE INTO state (key, value, expires_at) VALUES ${part.map(() => '(?, ?, ?)').join(', ')}`, ...part.flatMap((m) => [m.key, JSON.stringify(m.value), m.expiresAt ?? null]));
    }
  }
}

export class Counter extends DurableObject<BaselineEnv> {
  private n = 0;

  constructor(ctx: DurableObjectState, env: BaselineEnv) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)');
  }

  /** Stores the read floor's rows (keys in their order). */
  seedRows(rows: string[]): number {
    this.ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS rows (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID');
    this.ctx.storage.sql.exec('DELETE FROM rows');
    rows.forEach((v, i) => this.ctx.storage.sql.exec('INSERT INTO rows (k, v) VALUES (?, ?)', `r${String(i).padStart(4, '0')}`, v));
    return rows.length;
  }

  /** One range query for `n` rows, each parsed: a list read with no logic. */
  readRows(n: number): unknown[] {
    return this.ctx.storage.sql.exec<{ v: string }>('SELECT v FROM rows WHERE k >= ? ORDER BY k LIMIT ?', 'r', n).toArray().map((r) => JSON.parse(r.v) as unknown);
  }

  /** One INSERT ... ON CONFLICT DO UPDATE, like one write of a small row. */
  async write(value: string): Promise<number> {
    this.n += 1;
    this.ctx.storage.sql.exec('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v', 'row', `${value}:${this.n}`);
    return this.n;
  }
}

export default {
  async fetch(request: Request, env: BaselineEnv): Promise<Response> {
    // Drain the body (as Tessera does) so workerd can keep the connection alive.
    const body = await request.text();
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === '/read' || path === '/read-seed') {
      const stub = env.COUNTER.get(env.COUNTER.idFromName('read-floor'));
      if (path === '/read-seed') return new Response(String(await stub.seedRows((JSON.parse(body) as unknown[]).map((r) => JSON.stringify(r)))));
      const value = await stub.readRows(Number(url.searchParams.get('n') ?? 1));
      return new Response(JSON.stringify({ value }), { headers: { 'content-type': 'application/json; charset=utf-8' } });
    }
    const mode: Shipping | undefined = ({ '/replicated': 'grouped', '/replicated-naive': 'naive', '/replicated-pipelined': 'pipelined', '/replicated-rows': 'grouped', '/replicated-rows-feed': 'grouped' } as const)[path];
    if (mode !== undefined) {
      const rows: FloorRows = path === '/replicated-rows' ? 'patch' : path === '/replicated-rows-feed' ? 'patch-feed' : 'one';
      // Each row set on its own objects: the floors do not share state.
      const primary = env.NODE.get(env.NODE.idFromName(rows === 'one' ? REGIONS[0]! : `${rows}:${REGIONS[0]!}`));
      return new Response(String(await primary.write(body.slice(0, 64), mode, rows)));
    }
    const stub = env.COUNTER.get(env.COUNTER.idFromName('bench'));
    const n = await stub.write(body.slice(0, 64));
    return new Response(String(n));
  },
} satisfies ExportedHandler<BaselineEnv>;
