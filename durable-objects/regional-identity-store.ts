import { DurableObject } from 'cloudflare:workers';
import type { Json, StateReader } from '../core/kv.js';
import type { FeedReply } from '../core/managed-identity/feed.js';
import { authenticateWorkload, decide, managedIdentityClaims } from '../core/managed-identity/issue.js';
import { loadRegionalKeys } from '../core/managed-identity/keys.js';
import { parseMiRequest, renderMiError, type MiError, type MiProtocol } from '../core/managed-identity/protocol.js';
import { TokenCache } from '../core/managed-identity/token-cache.js';
import { issueToken } from '../core/token/jwt.js';
import { loadSigningKeys, publishedKeys, type KeyRecord } from '../core/token/signing-keys.js';
import { KeyCache } from '../core/token/key-cache.js';
import { countingCrossRegionCalls, crossCall } from '../workers/platform/faults.js';
import type { CellTopology } from './replica-protocol.js';
import { replicaStub } from './replica-protocol.js';
import { idByName } from './object-ids.js';

const FEED_TIMEOUT_MS = 5_000;
const RETRY_MS = [500, 1_000, 2_000, 5_000, 10_000, 30_000];
/** Periodic resync of every known cell: repairs lost notifications. */
const RESYNC_EVERY_MS = 60_000;
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

/** One token request as the regional Worker hands it over (already routed to a workload). */
export interface MiIssueCall {
  protocol: MiProtocol;
  region: string;
  tenantId: string;
  workloadId: string;
  /** X-IDENTITY-HEADER (App Service) or the secret path segment (IMDS). */
  secret: string | null;
  method: string;
  query: Array<[string, string]>;
  metadataHeader: string | null;
  issuerOrigin: string;
  correlationId: string;
}

export interface MiReply {
  status: number;
  body: string;
  /** Cross-region calls made by the store while answering (always 0 by design; measured). */
  crossRegionCalls: number;
  cached: boolean;
}

/**
 * A region's managed-identity store (one per region, named by region; SQLite). Fed
 * asynchronously from the cell replicas in the same region (they notify, it pulls projected
 * changes by log position), it answers token requests from its own tables alone: no call
 * leaves the region, so it keeps issuing while the region is cut off from the global path.
 */
export class RegionalIdentityStore extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly cache = new TokenCache();
  private readonly keys = new KeyCache();
  private readonly syncing = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private failures = 0;
  private readonly stats = { served: 0, errors: 0, cacheHits: 0, crossRegionCalls: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS mi_cells (cell TEXT PRIMARY KEY, topology TEXT NOT NULL, pos INTEGER NOT NULL, synced_at INTEGER)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS mi_kv (key TEXT PRIMARY KEY, cell TEXT NOT NULL, value TEXT NOT NULL) WITHOUT ROWID`);
  }

  private readonly reader: StateReader = {
    get: (key) => {
      const row = this.sql.exec<{ value: string }>(`SELECT value FROM mi_kv WHERE key = ?`, key).toArray()[0];
      return row === undefined ? undefined : (JSON.parse(row.value) as Json);
    },
    list: (prefix, options = {}) => {
      const after = options.after !== undefined && options.after >= prefix;
      return this.sql
        .exec<{ key: string; value: string }>(`SELECT key, value FROM mi_kv WHERE key ${after ? '>' : '>='} ? AND key < ? ORDER BY key LIMIT ?`, after ? options.after! : prefix, `${prefix}\uffff`, options.limit ?? -1)
        .toArray()
        .map((r) => [r.key, JSON.parse(r.value) as Json]);
    },
    count: (prefix) => this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM mi_kv WHERE key >= ? AND key < ?`, prefix, `${prefix}\uffff`).one().n,
    lastKey: (prefix) => this.sql.exec<{ key: string }>(`SELECT key FROM mi_kv WHERE key >= ? AND key < ? ORDER BY key DESC LIMIT 1`, prefix, `${prefix}\uffff`).toArray()[0]?.key,
  };

  /** From a cell replica in this region: its applied position moved. Pulls before answering. */
  async notify(t: CellTopology, appliedPos: number): Promise<{ pos: number }> {
    const row = this.sql.exec<{ pos: number }>(`SELECT pos FROM mi_cells WHERE cell = ?`, t.cell).toArray()[0];
    this.sql.exec(`INSERT INTO mi_cells (cell, topology, pos) VALUES (?, ?, 0) ON CONFLICT(cell) DO UPDATE SET topology = excluded.topology`, t.cell, JSON.stringify(t));
    if (row === undefined) await this.scheduleAlarm(Date.now() + RESYNC_EVERY_MS);
    if (row === undefined || row.pos < appliedPos) await this.sync(t.cell);
    return { pos: this.position(t.cell) };
  }

  private position(cell: string): number {
    return this.sql.exec<{ pos: number }>(`SELECT pos FROM mi_cells WHERE cell = ?`, cell).toArray()[0]?.pos ?? 0;
  }

  /** Pulls one cell's changes until caught up; one pull at a time per cell. */
  private sync(cell: string): Promise<void> {
    const running = this.syncing.get(cell);
    if (running !== undefined) {
      this.again.add(cell);
      return running;
    }
    const run = (async () => {
      try {
        do {
          this.again.delete(cell);
          await this.pullAll(cell);
        } while (this.again.has(cell));
        this.failures = 0;
      } catch {
        this.failures = Math.min(this.failures + 1, RETRY_MS.length - 1);
        await this.scheduleAlarm(Date.now() + RETRY_MS[this.failures]!);
      } finally {
        this.syncing.delete(cell);
      }
    })();
    this.syncing.set(cell, run);
    return run;
  }

  private async pullAll(cell: string): Promise<void> {
    for (let round = 0; round < 1_000; round++) {
      const row = this.sql.exec<{ topology: string; pos: number }>(`SELECT topology, pos FROM mi_cells WHERE cell = ?`, cell).one();
      const t = JSON.parse(row.topology) as CellTopology;
      // Same region only: the store never reaches across regions, not even to catch up.
      const reply: FeedReply = await crossCall(t.region, t.region, FEED_TIMEOUT_MS, () => replicaStub(this.env, cell, t.region).identityFeed(t, row.pos));
      this.apply(cell, reply);
      if (reply.kind === 'snapshot' || reply.entries.length === 0 || reply.entries.at(-1)!.pos >= reply.appliedPos) return;
    }
  }

  private apply(cell: string, reply: FeedReply): void {
    this.ctx.storage.transactionSync(() => {
      let pos: number;
      if (reply.kind === 'snapshot') {
        this.sql.exec(`DELETE FROM mi_kv WHERE cell = ?`, cell);
        for (const [k, v] of reply.rows) this.sql.exec(`INSERT OR REPLACE INTO mi_kv (key, cell, value) VALUES (?, ?, ?)`, k, cell, JSON.stringify(v));
        pos = reply.appliedPos;
      } else {
        if (reply.entries.length === 0) return;
        for (const e of reply.entries) {
          for (const m of e.muts) {
            if (m.value === null) this.sql.exec(`DELETE FROM mi_kv WHERE key = ?`, m.key);
            else this.sql.exec(`INSERT OR REPLACE INTO mi_kv (key, cell, value) VALUES (?, ?, ?)`, m.key, cell, JSON.stringify(m.value));
          }
        }
        pos = reply.entries.at(-1)!.pos;
      }
      this.sql.exec(`UPDATE mi_cells SET pos = ?, synced_at = ? WHERE cell = ?`, pos, Date.now(), cell);
    });
  }

  private async scheduleAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    const cells = this.sql.exec<{ cell: string }>(`SELECT cell FROM mi_cells`).toArray();
    for (const { cell } of cells) await this.sync(cell);
    await this.scheduleAlarm(Date.now() + RESYNC_EVERY_MS);
  }

  /** A token request (App Service or IMDS), answered from this store alone. */
  async issue(call: MiIssueCall): Promise<MiReply> {
    const { value, crossRegion } = await countingCrossRegionCalls(() => this.answer(call));
    this.stats.crossRegionCalls += crossRegion;
    if (value.status === 200) this.stats.served++;
    else this.stats.errors++;
    if (value.cached) this.stats.cacheHits++;
    return { ...value, crossRegionCalls: crossRegion };
  }

  private async answer(call: MiIssueCall): Promise<Omit<MiReply, 'crossRegionCalls'>> {
    const failure = (e: MiError) => {
      const w = renderMiError(call.protocol, e, call.correlationId);
      return { status: w.status, body: JSON.stringify(w.body), cached: false };
    };
    const headers = { get: (n: string) => (n.toLowerCase() === 'metadata' ? call.metadataHeader : null) };
    const parsed = parseMiRequest(call.protocol, call.method, new URLSearchParams(call.query), headers);
    if (!parsed.ok) return failure(parsed.error);
    const workload = await authenticateWorkload(this.reader, call.tenantId, call.workloadId, call.secret);
    if (!workload.ok) return failure(workload.error);
    const now = Date.now();
    const decision = decide(this.reader, call.tenantId, workload.value, parsed.value, call.region, now);
    if (!decision.ok) return failure(decision.error);
    const d = decision.value;
    // The roles are part of the key: an app role assigned or removed is in the next token, not after the cache's half-life.
    const cacheKey = TokenCache.key(call.tenantId, d.identity.principalId, `${call.issuerOrigin}|${d.audience}|${[...d.roles].sort().join(' ')}`, d.key.kid);
    let cached = true;
    let entry = this.cache.get(cacheKey, now);
    if (entry === undefined) {
      cached = false;
      const claims = managedIdentityClaims(d, call.issuerOrigin, call.tenantId, call.region, now, random);
      const token = await issueToken(await this.keys.signingKey(this.env.KEY_ENCRYPTION_KEY, d.key), d.key, claims, now);
      entry = { token, issuedAt: claims.iat * 1000, expiresAt: claims.exp * 1000 };
      this.cache.set(cacheKey, entry);
    }
    const expiresOn = Math.floor(entry.expiresAt / 1000);
    const notBefore = Math.floor(entry.issuedAt / 1000);
    const body: Record<string, string> =
      call.protocol === 'imds'
        ? { access_token: entry.token, client_id: d.identity.clientId, expires_in: String(Math.max(0, expiresOn - Math.floor(now / 1000))), expires_on: String(expiresOn), ext_expires_in: String(Math.max(0, expiresOn - Math.floor(now / 1000))), not_before: String(notBefore), resource: d.requested, token_type: 'Bearer' }
        : { access_token: entry.token, expires_on: String(expiresOn), not_before: String(notBefore), resource: d.requested, token_type: 'Bearer', client_id: d.identity.clientId };
    return { status: 200, body: JSON.stringify(body), cached };
  }

  /** The tenant's JWKS as this region knows it (global keys' public halves + every region's MI keys); null for an unknown tenant. */
  async jwks(tenantId: string): Promise<{ keys: Json[] } | null> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(tenantId)) return null;
    const records: KeyRecord[] = [...loadSigningKeys(this.reader, tenantId), ...loadRegionalKeys(this.reader, tenantId).map(({ region: _r, ...k }) => k)];
    if (records.length === 0) return null;
    return publishedKeys(records, Date.now()) as unknown as { keys: Json[] };
  }

  /** For operators and the bench: feed positions and serving counters. */
  async status(): Promise<Json> {
    const cells = this.sql.exec<{ cell: string; pos: number; synced_at: number | null }>(`SELECT cell, pos, synced_at FROM mi_cells ORDER BY cell`).toArray();
    return { cells: cells.map((c) => ({ cell: c.cell, pos: c.pos, syncedAt: c.synced_at })), ...this.stats, cacheSize: this.cache.size };
  }
}

export interface IdentityStoreRpc {
  notify(t: CellTopology, appliedPos: number): Promise<{ pos: number }>;
  issue(call: MiIssueCall): Promise<MiReply>;
  jwks(tenantId: string): Promise<{ keys: Json[] } | null>;
  status(): Promise<Json>;
}

export function identityStoreStub(env: Env, region: string): IdentityStoreRpc {
  const ns = env.MI_STORE;
  return ns.get(idByName(ns, `mi:${region}`), { locationHint: region as DurableObjectLocationHint }) as unknown as IdentityStoreRpc;
}
