/**
 * Baseline: every request goes to one SQLite Durable Object that does one upsert and
 * returns, i.e. a single un-replicated Durable Object write (the floor under a Tessera write).
 * Bundled and served by bench/servers.ts.
 */
import { DurableObject } from 'cloudflare:workers';

interface BaselineEnv {
  COUNTER: DurableObjectNamespace<Counter>;
}

export class Counter extends DurableObject<BaselineEnv> {
  private n = 0;

  constructor(ctx: DurableObjectState, env: BaselineEnv) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)');
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
    const stub = env.COUNTER.get(env.COUNTER.idFromName('bench'));
    const n = await stub.write(body.slice(0, 64));
    return new Response(String(n));
  },
} satisfies ExportedHandler<BaselineEnv>;
