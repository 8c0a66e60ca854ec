/**
 * `npx tsx bench/sqlite-rows.ts`: what a change-feed record row costs Durable Object SQLite by
 * itself, by layout (not part of `npm run bench`; Linux only: workerd CPU from /proc). One
 * Durable Object per layout, all in one workerd, stores rounds of 10 PATCHes' rows as a cell
 * replica's `kv` table does (a user row among 500, an idempotency row with an expiry, a
 * display-name index row replaced), and the feed's record:
 *
 *   none  no record (the feed off)
 *   sep   one `kv` row per record (as the replica store writes it today)
 *   round the round's records merged into one `kv` row
 *   block appended, each after its position, to rows of 16 positions in their own table, by
 *         SQL concatenation
 *
 * `TINY=1` makes each record `[2,seq]` (≤ 9 B) instead of ~230 B. Each sample is one request of
 * 200 rounds per layout, the layouts in a rotating order; prints workerd CPU per PATCH (one
 * replica's share) with the spread of the samples. Env: REPS (20 samples per layout).
 */
import { median } from './ab.js';
import { installExitHandlers, runCleanups } from './cleanup.js';
import { pidOf, schedCpuMs } from './process-cpu.js';
import { COMPATIBILITY_DATE, startWorker } from './servers.js';

const PER_ROUND = 10;
const ROUNDS = 200;
const LAYOUTS = ['none', 'sep', 'round', 'block'] as const;

const SCRIPT = `
const T = 'fded1a92-67c6-4a47-ac63-fd17d1dd984a';
const pad = (n) => String(n).padStart(12, '0');
export class Rows {
  constructor(state) {
    this.storage = state.storage;
    this.sql = state.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER) WITHOUT ROWID');
    this.sql.exec('CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL');
    this.sql.exec('CREATE TABLE IF NOT EXISTS feed_block (tid TEXT NOT NULL, block INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (tid, block)) WITHOUT ROWID');
    this.seq = 0;
    this.n = 0;
  }
  insert(rows) {
    for (let k = 0; k < rows.length; k += 33) {
      const part = rows.slice(k, k + 33);
      this.sql.exec('INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES ' + part.map(() => '(?, ?, ?)').join(', '), ...part.flat());
    }
  }
  round(layout, tiny) {
    const user = JSON.stringify({ id: 'x', displayName: 'Bench User', blob: 'u'.repeat(480) });
    const puts = [], dels = [], recs = [];
    for (let i = 0; i < ${PER_ROUND}; i++) {
      const n = this.n++, u = n % 500, seq = ++this.seq;
      puts.push(['t/' + T + '/o/user/' + String(u).padStart(6, '0') + '-' + 'a'.repeat(30), user, null]);
      puts.push(['idem/' + crypto.randomUUID(), JSON.stringify({ bodyHash: 'TPrOcczdLVJxXiPjtgCWlmDynNQK6B2uXBmzmhTR9pI', attempt: crypto.randomUUID(), at: 1, outcome: { status: 204 } }), Date.now() + 86400000]);
      dels.push('t/' + T + '/x/user.displayName/Bench User ' + (n - 500) + '/' + u);
      puts.push(['t/' + T + '/x/user.displayName/Bench User ' + n + '/' + u, '1', null]);
      recs.push(tiny ? JSON.stringify([2, seq]) : JSON.stringify([2, seq, Date.now(), 'operator', crypto.randomUUID(), ['user', crypto.randomUUID(), 'update', 'Bench User ' + n, ['displayName', 'Bench User ' + (n - 500), 'Bench User ' + n], [], 'bench.user29@bench.example']]));
    }
    const first = this.seq - recs.length + 1;
    this.sql.exec('DELETE FROM kv WHERE key IN (' + dels.map(() => '?').join(', ') + ')', ...dels);
    if (layout === 'sep') recs.forEach((r, i) => puts.push(['t/' + T + '/fd/' + pad(first + i), r, null]));
    if (layout === 'round') puts.push(['t/' + T + '/fd/' + pad(this.seq), '[' + recs.join(',') + ']', null]);
    this.insert(puts);
    if (layout === 'block') {
      const blocks = new Map();
      recs.forEach((r, i) => { const b = Math.floor((first + i) / 16); blocks.set(b, [...(blocks.get(b) ?? []), first + i, r]); });
      for (const [b, items] of blocks) {
        this.sql.exec("INSERT INTO feed_block (tid, block, value) VALUES (?, ?, ?) ON CONFLICT (tid, block) DO UPDATE SET value = substr(value, 1, length(value) - 1) || ',' || substr(excluded.value, 2)", T, b, '[' + items.join(',') + ']');
      }
    }
  }
  async fetch(request) {
    const u = new URL(request.url);
    const layout = u.searchParams.get('layout'), tiny = u.searchParams.get('tiny') === '1';
    for (let r = 0; r < ${ROUNDS}; r++) this.storage.transactionSync(() => this.round(layout, tiny));
    return new Response('ok');
  }
}
export default { fetch: (request, env) => env.ROWS.get(env.ROWS.idFromName(new URL(request.url).searchParams.get('layout'))).fetch(request) };
`;

type Layout = (typeof LAYOUTS)[number];

async function main(): Promise<void> {
  installExitHandlers();
  const server = await startWorker('sqlite-rows', {
    modules: true,
    script: SCRIPT,
    compatibilityDate: COMPATIBILITY_DATE,
    durableObjects: { ROWS: { className: 'Rows', useSQLite: true } },
  });
  const pid = pidOf(server.url);
  const tiny = process.env.TINY === '1' ? '1' : '0';
  const reps = Math.max(1, Math.floor(Number(process.env.REPS ?? 20)) || 20);
  const perPatch = new Map<Layout, number[]>(LAYOUTS.map((l) => [l, []]));
  for (let rep = 0; rep < reps + 2; rep++) {
    // A rotating order: work left over from one request (GC) falls on each layout in turn.
    for (let k = 0; k < LAYOUTS.length; k++) {
      const layout = LAYOUTS[(rep + k) % LAYOUTS.length]!;
      const before = schedCpuMs(pid);
      const res = await fetch(`${server.url}/?layout=${layout}&tiny=${tiny}`);
      if (!res.ok) throw new Error(`${layout}: ${res.status} ${await res.text()}`);
      await res.text();
      // The first two samples of each layout warm up.
      if (rep >= 2) perPatch.get(layout)!.push(((schedCpuMs(pid) - before) * 1000) / (ROUNDS * PER_ROUND));
    }
  }
  const none = median(perPatch.get('none')!);
  console.log(`| layout (record ${tiny === '1' ? '≤ 9 B' : '~230 B'}) | workerd CPU per PATCH, µs: median (min–max of ${reps}) | record's cost, µs |`);
  console.log('|---|---:|---:|');
  for (const l of LAYOUTS) {
    const xs = perPatch.get(l)!;
    console.log(`| ${l} | ${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}) | ${(median(xs) - none).toFixed(1)} |`);
  }
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => void runCleanups().then(() => process.exit()));
