import { DurableObject } from 'cloudflare:workers';
import { CoalescedRuns } from '../core/coalesced-runs.js';
import type { PokeAnswer } from '../core/poke-gate.js';
import { securityEvents, setClaims } from '../core/cae/ssf-events.js';
import {
  MAX_STREAMS, MAX_SUBJECTS, MIN_VERIFICATION_INTERVAL_S, PUSH, routeEvent, setJti, ssfUrls, verificationClaims, type PollRequest, type SsfFailure, type StreamConfig, type StreamInput, type StreamStatus,
} from '../core/cae/ssf-streams.js';
import { MAX_FEED_PAGE } from '../core/feed/cursor.js';
import type { FeedRecord } from '../core/feed/record.js';
import { pushMessage } from '../core/cae/ssf-push.js';
import { clearTables } from './clear-tables.js';
import { err, ok, type Result } from '../core/result.js';
import { enqueue } from '../workers/platform/delivery.js';
import { onPrimary } from '../workers/platform/cell-calls.js';
import type { TokenCall } from './replica-protocol.js';
import { idByName } from './object-ids.js';

/** A run reads at most this many feed pages (a tenant's first stream may find a long feed behind the cursor). */
const MAX_PAGES_PER_RUN = 200;
/** While streams exist, an alarm repairs lost pokes (events from token flows and admin calls are never poked). */
const RECHECK_MS = 30_000;
/** SETs a stream keeps for polling (or while paused); beyond it the oldest are dropped. */
const MAX_QUEUED = 10_000;
/** How long a poll waits for the feed catch-up before answering what is queued. */
const POLL_CATCH_UP_MS = 2_000;
/** Kept for retries of a stream creation with the same client-request-id. */
const CREATE_KEY_TTL_MS = 24 * 3_600_000;

export interface Caller {
  readonly tenantId: string;
  readonly origin: string;
  /** The client (appId) whose token called. */
  readonly owner: string;
}

type Row = { id: string; owner: string; config: string; status: string; reason: string | null; created_at: number };

/**
 * A tenant's Shared Signals transmitter (one object per tenant, `ssf:{tenantId}`; SQLite):
 * its streams, their subjects, the SETs waiting to be polled (or held while a stream is
 * paused), and its cursor in the tenant's change feed. The edge pokes it after directory
 * writes; an alarm every 30 s repairs lost pokes while streams exist. A run reads the feed
 * from the cell's primary, maps records to CAEP/RISC events (core/cae/ssf-events.ts), has the
 * cell sign them (op `sign_set`: private keys stay in the cell), then queues push SETs on the
 * notification queue (workers/platform/delivery.ts: retries, backoff, SSRF check at send) or
 * stores them for polling; the cursor moves only afterwards: at least once, and a SET's `jti`
 * is the same on every redelivery.
 *
 * Why here and not in the replicated cell: streams are the transmitter's own configuration,
 * written by receivers and read only by this object; a DO's SQLite is durable and
 * single-writer (no replication races), and a lost region only delays delivery (the feed is the
 * durable source of events). Faults: primary down → the run throws, the cursor stays, the alarm
 * retries; queue down → the same; this object down → pokes fail, events wait in the feed (kept
 * FEED_RETENTION_DAYS); a duplicate poke or alarm just runs again.
 */
export class SsfTransmitter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly runs = new CoalescedRuns<null>((tenantId) => this.run(tenantId), () => null);
  /** Whether the last run found no stream to deliver to (what a poke answers: core/poke-gate.ts). */
  private idle = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ssf_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ssf_streams (id TEXT PRIMARY KEY, owner TEXT NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, created_at INTEGER NOT NULL) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ssf_subjects (stream TEXT NOT NULL, key TEXT NOT NULL, included INTEGER NOT NULL, PRIMARY KEY (stream, key)) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ssf_queue (n INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, jti TEXT NOT NULL, sett TEXT NOT NULL, UNIQUE (stream, jti))`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ssf_creates (owner TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, stream TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (owner, key)) WITHOUT ROWID`);
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>(`SELECT value FROM ssf_meta WHERE key = ?`, key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec(`INSERT OR REPLACE INTO ssf_meta VALUES (?, ?)`, key, value);
  }

  private remember(c: Caller): void {
    this.setMeta('tenant', c.tenantId);
    this.setMeta('origin', c.origin);
  }

  private streams(owner?: string): StreamConfig[] {
    const rows = owner === undefined ? this.sql.exec<Row>(`SELECT * FROM ssf_streams`).toArray() : this.sql.exec<Row>(`SELECT * FROM ssf_streams WHERE owner = ?`, owner).toArray();
    return rows.map((r) => ({ ...(JSON.parse(r.config) as StreamInput), id: r.id, owner: r.owner, status: r.status as StreamStatus, ...(r.reason !== null ? { reason: r.reason } : {}), createdAt: r.created_at }));
  }

  private stream(owner: string, id: string): StreamConfig | undefined {
    return this.streams(owner).find((s) => s.id === id);
  }

  private store(s: StreamConfig): void {
    const input: StreamInput = { aud: s.aud, eventsRequested: s.eventsRequested, delivery: s.delivery, ...(s.description !== undefined ? { description: s.description } : {}) };
    this.sql.exec(`INSERT OR REPLACE INTO ssf_streams VALUES (?, ?, ?, ?, ?, ?)`, s.id, s.owner, JSON.stringify(input), s.status, s.reason ?? null, s.createdAt);
  }

  /**
   * Creates a stream. `key`: the client-request-id; a retry with it (and the same body, compared
   * by `fingerprint`, a hash of the body as the client sent it: the stored input is sealed with a
   * fresh nonce each time) gets the stream the first attempt made, never a second one; the same
   * key with another body is refused.
   */
  create(c: Caller, input: StreamInput, key: string | null, now: number, fingerprint: string): Result<StreamConfig, SsfFailure> {
    this.remember(c);
    this.sql.exec(`DELETE FROM ssf_creates WHERE at < ?`, now - CREATE_KEY_TTL_MS);
    const body = fingerprint;
    if (key !== null) {
      const prior = this.sql.exec<{ body: string; stream: string }>(`SELECT body, stream FROM ssf_creates WHERE owner = ? AND key = ?`, c.owner, key).toArray()[0];
      if (prior !== undefined) {
        if (prior.body !== body) return err({ kind: 'conflict', message: 'The client-request-id was already used for a different stream.' });
        const s = this.stream(c.owner, prior.stream);
        return s === undefined ? err({ kind: 'not_found' }) : ok(s);
      }
    }
    if (this.streams().length >= MAX_STREAMS) return err({ kind: 'conflict', message: `A tenant has at most ${MAX_STREAMS} streams.` });
    const s: StreamConfig = { ...input, id: crypto.randomUUID(), owner: c.owner, status: 'enabled', createdAt: now };
    // One transaction: the stream and its creation key exist together or not at all.
    this.ctx.storage.transactionSync(() => {
      this.store(s);
      if (key !== null) this.sql.exec(`INSERT INTO ssf_creates VALUES (?, ?, ?, ?, ?)`, c.owner, key, body, s.id, now);
      // The first stream starts the cursor at the feed's start: records before `createdAt` are skipped per stream.
      if (this.meta('cursor') === undefined) this.setMeta('cursor', '0');
    });
    void this.armAt(now + RECHECK_MS);
    return ok(s);
  }

  list(c: Caller, id: string | null): Result<StreamConfig[], SsfFailure> {
    const all = this.streams(c.owner);
    if (id === null) return ok(all);
    const s = all.find((x) => x.id === id);
    return s === undefined ? err({ kind: 'not_found' }) : ok([s]);
  }

  update(c: Caller, id: string, input: StreamInput): Result<StreamConfig, SsfFailure> {
    const s = this.stream(c.owner, id);
    if (s === undefined) return err({ kind: 'not_found' });
    const next: StreamConfig = { ...input, id, owner: s.owner, status: s.status, ...(s.reason !== undefined ? { reason: s.reason } : {}), createdAt: s.createdAt };
    this.store(next);
    return ok(next);
  }

  remove(c: Caller, id: string): Result<true, SsfFailure> {
    if (this.stream(c.owner, id) === undefined) return err({ kind: 'not_found' });
    this.ctx.storage.transactionSync(() => {
      for (const t of ['ssf_streams WHERE id', 'ssf_subjects WHERE stream', 'ssf_queue WHERE stream', 'ssf_creates WHERE stream', 'ssf_meta WHERE key']) this.sql.exec(`DELETE FROM ${t} = ?`, t.startsWith('ssf_meta') ? `verified:${id}` : id);
    });
    return ok(true);
  }

  /** A status change; re-enabling a paused push stream sends what it held. */
  async setStatus(c: Caller, id: string, status: StreamStatus, reason: string | undefined): Promise<Result<StreamConfig, SsfFailure>> {
    const s = this.stream(c.owner, id);
    if (s === undefined) return err({ kind: 'not_found' });
    const { reason: _old, ...rest } = s;
    const next: StreamConfig = { ...rest, status, ...(reason !== undefined ? { reason } : {}) };
    this.store(next);
    if (status === 'disabled') this.sql.exec(`DELETE FROM ssf_queue WHERE stream = ?`, id);
    // A stream live again: the repair alarm runs again (it stopped while every stream was
    // disabled, and edges that heard "idle" do not poke for a while: core/poke-gate.ts).
    else await this.armAt(Date.now() + RECHECK_MS);
    if (status === 'enabled' && next.delivery.method === PUSH) await this.flushHeld(next);
    return ok(next);
  }

  subject(c: Caller, id: string, key: string, include: boolean): Result<true, SsfFailure> {
    if (this.stream(c.owner, id) === undefined) return err({ kind: 'not_found' });
    const known = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ssf_subjects WHERE stream = ? AND key = ?`, id, key).one().n > 0;
    const count = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ssf_subjects WHERE stream = ?`, id).one().n;
    if (!known && count >= MAX_SUBJECTS) return err({ kind: 'conflict', message: `A stream lists at most ${MAX_SUBJECTS} subjects.` });
    this.sql.exec(`INSERT OR REPLACE INTO ssf_subjects VALUES (?, ?, ?)`, id, key, include ? 1 : 0);
    return ok(true);
  }

  /** A verification event (SSF 1.0 §8.1.4), sent through the stream like any event; at most one per interval. */
  async verify(c: Caller, id: string, state: string | undefined, now: number): Promise<Result<true, SsfFailure>> {
    this.remember(c);
    const s = this.stream(c.owner, id);
    if (s === undefined) return err({ kind: 'not_found' });
    if (s.status === 'disabled') return err({ kind: 'conflict', message: 'The stream is disabled.' });
    const last = Number(this.meta(`verified:${id}`) ?? '-Infinity');
    if (now - last < MIN_VERIFICATION_INTERVAL_S * 1000) return err({ kind: 'too_soon', retryAfter: Math.ceil((last + MIN_VERIFICATION_INTERVAL_S * 1000 - now) / 1000) });
    this.setMeta(`verified:${id}`, String(now));
    const jti = `${id}.v.${crypto.randomUUID()}`;
    const [set] = await this.sign(c.tenantId, [verificationClaims(s, { issuer: ssfUrls(c.origin, c.tenantId).issuer, jti, now, ...(state !== undefined ? { state } : {}) })]);
    await this.deliver(c.tenantId, s, [{ jti, set: set! }]);
    return ok(true);
  }

  /**
   * RFC 8936 poll: acknowledged SETs are forgotten, then (after catching up on the feed, so a
   * poll right after a change sees it) up to `maxEvents` waiting SETs are answered.
   */
  async poll(c: Caller, id: string, req: PollRequest): Promise<Result<{ sets: Record<string, string>; moreAvailable: boolean }, SsfFailure>> {
    this.remember(c);
    const s = this.stream(c.owner, id);
    if (s === undefined || s.delivery.method === PUSH) return err({ kind: 'not_found' });
    for (const jti of [...req.ack, ...Object.keys(req.setErrs)]) this.sql.exec(`DELETE FROM ssf_queue WHERE stream = ? AND jti = ?`, id, jti);
    // A slow or unreachable primary delays the answer by at most POLL_CATCH_UP_MS; the run goes on behind it.
    const catchUp = this.poke(c.tenantId).catch((e: unknown) => console.warn('ssf catch-up failed', e instanceof Error ? e.message : String(e)));
    await Promise.race([catchUp, new Promise((r) => setTimeout(r, POLL_CATCH_UP_MS))]);
    // A paused stream holds its SETs until it is enabled again.
    if (this.stream(c.owner, id)?.status !== 'enabled') return ok({ sets: {}, moreAvailable: false });
    const rows = this.sql.exec<{ jti: string; sett: string }>(`SELECT jti, sett FROM ssf_queue WHERE stream = ? ORDER BY n LIMIT ?`, id, req.maxEvents + 1).toArray();
    const sets: Record<string, string> = {};
    for (const r of rows.slice(0, req.maxEvents)) sets[r.jti] = r.sett;
    return ok({ sets, moreAvailable: rows.length > req.maxEvents });
  }

  /** Runs (or re-runs after the current run) delivery for `tenantId`. */
  async poke(tenantId: string): Promise<PokeAnswer> {
    // A read, not a write per poke: the edge pokes after every user write, and the write was
    // a storage commit each time for a value that almost never changes.
    if (this.meta('tenant') !== tenantId) this.setMeta('tenant', tenantId);
    await this.runs.request(tenantId, null);
    // Idle: the run just ended found no stream to deliver to (the edge stops poking for a while).
    return { idle: this.idle };
  }

  /** The tenant's deletion (durable-objects/tenant-purge.ts): streams, subjects, queued SETs and sealed receiver credentials go. */
  async purge(): Promise<void> {
    await clearTables(this.ctx, ['ssf_streams', 'ssf_subjects', 'ssf_queue', 'ssf_creates', 'ssf_meta']);
  }

  override async alarm(): Promise<void> {
    const tid = this.meta('tenant');
    if (tid !== undefined && this.streams().length > 0) await this.poke(tid);
  }

  private async armAt(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private async run(tenantId: string): Promise<void> {
    const streams = this.streams().filter((s) => s.status !== 'disabled');
    this.idle = streams.length === 0;
    const origin = this.meta('origin');
    if (streams.length === 0 || origin === undefined) return;
    const issuer = ssfUrls(origin, tenantId).issuer;
    let cursor = Number(this.meta('cursor') ?? '0');
    for (let i = 0; i < MAX_PAGES_PER_RUN; i++) {
      const page = (await onPrimary(this.env, tenantId, (stub, topology) => stub.feed(topology, tenantId, cursor, MAX_FEED_PAGE))).outcome;
      // Records gone from the cell and the archive cannot be told any more: skip to the oldest kept.
      if (page.kind === 'expired') cursor = page.oldest - 1;
      else if (page.kind !== 'page') throw new Error(`feed unavailable: ${page.kind}`);
      else {
        await this.sendRecords(tenantId, issuer, streams, page.records);
        cursor = page.next;
      }
      this.setMeta('cursor', String(cursor));
      if (page.kind === 'page' && !page.more) break;
    }
    await this.armAt(Date.now() + RECHECK_MS);
  }

  private async sendRecords(tenantId: string, issuer: string, streams: readonly StreamConfig[], records: readonly FeedRecord[]): Promise<void> {
    const subjects = new Map(streams.map((s) => [s.id, new Map(this.sql.exec<{ key: string; included: number }>(`SELECT key, included FROM ssf_subjects WHERE stream = ?`, s.id).toArray().map((r) => [r.key, r.included === 1] as [string, boolean]))]));
    const now = Date.now();
    const plan: Array<{ stream: StreamConfig; jti: string; claims: Record<string, unknown> }> = [];
    for (const record of records) {
      securityEvents(record, issuer).forEach((e, index) => {
        for (const s of streams) {
          const route = routeEvent(s, e, subjects.get(s.id)!);
          if (route === undefined) continue;
          const jti = setJti(s.id, record.seq, index);
          plan.push({ stream: s, jti, claims: setClaims(e, { issuer, audience: s.aud, jti, now, subject: route.subject }) });
        }
      });
    }
    if (plan.length === 0) return;
    const sets = await this.sign(tenantId, plan.map((p) => p.claims));
    for (const s of streams) {
      const mine = plan.flatMap((p, i) => (p.stream.id === s.id ? [{ jti: p.jti, set: sets[i]! }] : []));
      if (mine.length > 0) await this.deliver(tenantId, s, mine);
    }
  }

  /** Push streams that are enabled: onto the notification queue; poll streams and paused ones: kept here. */
  private async deliver(tenantId: string, s: StreamConfig, sets: ReadonlyArray<{ jti: string; set: string }>): Promise<void> {
    if (s.delivery.method === PUSH && s.status === 'enabled') {
      await enqueue(this.env, sets.map((x) => pushMessage(tenantId, s, x.set)));
      return;
    }
    for (const x of sets) this.sql.exec(`INSERT OR IGNORE INTO ssf_queue (stream, jti, sett) VALUES (?, ?, ?)`, s.id, x.jti, x.set);
    this.sql.exec(`DELETE FROM ssf_queue WHERE stream = ? AND n NOT IN (SELECT n FROM ssf_queue WHERE stream = ? ORDER BY n DESC LIMIT ?)`, s.id, s.id, MAX_QUEUED);
  }

  private async flushHeld(s: StreamConfig): Promise<void> {
    const tid = this.meta('tenant');
    if (tid === undefined) return;
    const rows = this.sql.exec<{ n: number; sett: string }>(`SELECT n, sett FROM ssf_queue WHERE stream = ? ORDER BY n`, s.id).toArray();
    for (let i = 0; i < rows.length; i += 100) {
      const chunk = rows.slice(i, i + 100);
      await enqueue(this.env, chunk.map((r) => pushMessage(tid, s, r.sett)));
      this.sql.exec(`DELETE FROM ssf_queue WHERE stream = ? AND n <= ?`, s.id, chunk[chunk.length - 1]!.n);
    }
  }

  /** Signed by the cell's primary with the tenant's active key (`typ: secevent+jwt`). */
  private async sign(tenantId: string, claims: ReadonlyArray<Record<string, unknown>>): Promise<string[]> {
    const call: TokenCall = {
      tenantId, op: 'sign_set', method: 'POST', origin: '', tenantSegment: tenantId, params: [], authorization: null,
      client: { ip: '0.0.0.0', country: null, region: '' }, traceId: '', correlationId: '', receivedAt: Date.now(), body: claims as TokenCall['body'],
    };
    const o = (await onPrimary(this.env, tenantId, (stub, t) => stub.token(t, call))).outcome;
    if (o.kind !== 'reply' || o.status !== 200) throw new Error(`SET signing unavailable: ${o.kind === 'reply' ? o.status : o.kind}`);
    const sets = (JSON.parse(o.body) as { sets: string[] }).sets;
    if (sets.length !== claims.length) throw new Error('SET signing answered a different count');
    return sets;
  }
}

export function ssfTransmitterStub(env: Env, tenantId: string): DurableObjectStub<SsfTransmitter> {
  const ns = env.SSF;
  return ns.get(idByName(ns, `ssf:${tenantId}`));
}
