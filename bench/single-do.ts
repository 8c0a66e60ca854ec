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
  }

  /**
   * The primary: local append, one synchronous copy out of region, then the rest in the
   * background. `grouped`: entries that arrive while a copy is in flight go together in the next
   * one (group commit, as Tessera's primary does); otherwise one copy per write.
   */
  async write(value: string, mode: Shipping): Promise<number> {
    const entry = { pos: ++this.pos, value };
    this.apply([entry]);
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
      await this.ship(batch.map((b) => b.entry));
      for (const b of batch) b.done();
    }
    this.shipping = false;
  }

  private async ship(entries: FloorEntry[]): Promise<void> {
    const [sync, ...rest] = REGIONS.slice(1).map((r) => this.env.NODE.get(this.env.NODE.idFromName(r)));
    await sync!.apply(entries);
    this.ctx.waitUntil(Promise.all(rest.map((peer) => peer.apply(entries))));
  }

  apply(entries: FloorEntry[]): number {
    for (const entry of entries) {
      const muts = JSON.stringify([{ key: 'row', value: entry.value }]);
      this.ctx.storage.sql.exec('INSERT OR REPLACE INTO log (pos, muts) VALUES (?, ?)', entry.pos, muts);
      this.ctx.storage.sql.exec('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)', 'row', JSON.stringify(entry.value));
    }
    return entries.length;
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
    const mode: Shipping | undefined = ({ '/replicated': 'grouped', '/replicated-naive': 'naive', '/replicated-pipelined': 'pipelined' } as const)[path];
    if (mode !== undefined) {
      const primary = env.NODE.get(env.NODE.idFromName(REGIONS[0]!));
      return new Response(String(await primary.write(body.slice(0, 64), mode)));
    }
    const stub = env.COUNTER.get(env.COUNTER.idFromName('bench'));
    const n = await stub.write(body.slice(0, 64));
    return new Response(String(n));
  },
} satisfies ExportedHandler<BaselineEnv>;
