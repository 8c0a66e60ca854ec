import { DurableObject } from 'cloudflare:workers';
import { isExpired, newerOf, sessionOf, type Artifact } from '../core/backup-auth/artifacts.js';
import { backupSigningKey } from '../core/backup-auth/keys.js';
import type { BackupAction } from '../core/backup-auth/adoption.js';
import { replayedAnswer, serveBackupToken } from '../core/backup-auth/serve.js';
import type { SeenJti } from '../core/backup-auth/assertions.js';
import { NO_REVOCATIONS, type RevocationState } from '../core/backup-auth/revocation.js';
import { issueToken, type AccessTokenClaims } from '../core/token/jwt.js';
import { KeyCache } from '../core/token/key-cache.js';
import { oauthErrorResponse } from '../core/token/oauth-errors.js';
import { seal, unseal } from '../core/token/secret-box.js';
import type { KeyRecord } from '../core/token/signing-keys.js';
import type { TenantPlacement } from '../workers/platform/topology.js';
import type { BackupReply, BackupStats, BackupTokenCall } from './backup-protocol.js';
import { BackupSync, lagSummary, type BackupEnv } from './backup-sync.js';

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const MAX_ISSUED_LOG = 10_000;
const MAX_DECODED = 5_000;
/** Every table holding a tenant's rows (`forget`). */
const FORGET_TABLES = ['ba_artifacts', 'ba_token_ids', 'ba_tenants', 'ba_domains', 'ba_signing_keys', 'ba_actions', 'ba_jti', 'ba_drills', 'ba_issued'] as const;

/**
 * One region's backup authentication store (issue 14): a SQLite Durable Object of the backup
 * Worker only, never bound to the main Worker. It holds the artifacts learned from the primary
 * (sealed under the backup's own KEK), the tenant's revocation state (CAE critical events from
 * the change feed), its signing key (wrapped), its JWKS and placement copy, the rotations the
 * primary has yet to adopt, and a log of every token it issued. Serving reads nothing else:
 * no cell replica and no control plane is on its path.
 */
export class BackupStore extends DurableObject<BackupEnv> {
  readonly sql: SqlStorage;
  readonly keys = new KeyCache();
  private readonly locks = new Map<string, Promise<unknown>>();
  readonly sync: BackupSync;

  constructor(ctx: DurableObjectState, env: BackupEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ba_artifacts (tenant TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, sealed TEXT NOT NULL,
      primary_at INTEGER NOT NULL, backup_at INTEGER NOT NULL, last_used INTEGER NOT NULL, PRIMARY KEY (tenant, kind, key)) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ba_token_ids (tenant TEXT NOT NULL, token_id TEXT NOT NULL, family TEXT NOT NULL, PRIMARY KEY (tenant, token_id)) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ba_tenants (tenant TEXT PRIMARY KEY, placement TEXT, jwks TEXT, revocations TEXT NOT NULL, synced_at INTEGER,
      served INTEGER NOT NULL DEFAULT 0, refused INTEGER NOT NULL DEFAULT 0)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ba_domains (domain TEXT PRIMARY KEY, tenant TEXT NOT NULL) WITHOUT ROWID`);
    // The tenant's backup signing keys, current and successor/retiring during a rotation's overlap (core/backup-auth/keys.ts).
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ba_signing_keys (tenant TEXT NOT NULL, kid TEXT NOT NULL, record TEXT NOT NULL, published INTEGER NOT NULL,
      PRIMARY KEY (tenant, kid)) WITHOUT ROWID`);
    // Stores from before rotation kept one key per tenant in ba_keys: carried over once.
    if (this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'ba_keys'`).one().n > 0) {
      for (const r of this.sql.exec<{ tenant: string; record: string; published: number }>(`SELECT tenant, record, published FROM ba_keys`).toArray()) {
        this.sql.exec(`INSERT OR IGNORE INTO ba_signing_keys (tenant, kid, record, published) VALUES (?, ?, ?, ?)`, r.tenant, (JSON.parse(r.record) as KeyRecord).kid, r.record, r.published);
      }
      this.sql.exec(`DROP TABLE ba_keys`);
    }
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ba_actions (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, action TEXT NOT NULL)`);
    // Client assertion jtis accepted by either path, until the assertion expires (replay protection; keys are hashes).
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ba_jti (tenant TEXT NOT NULL, key TEXT NOT NULL, until INTEGER NOT NULL, PRIMARY KEY (tenant, key)) WITHOUT ROWID`);
    // Operator drills (POST /admin/backup-auth/drill): every edge isolate reads them here, and they outlive any isolate.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ba_drills (tenant TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ba_issued (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, at INTEGER NOT NULL, grant_type TEXT NOT NULL,
      user_id TEXT, client_id TEXT NOT NULL, correlation_id TEXT NOT NULL)`);
    // Deleted tenants (`forget`): a learn, poke or sync still in flight when the purge ran must not bring them back. Ids are never reused.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ba_forgotten (tenant TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID`);
    this.sync = new BackupSync(this, ctx, env);
  }

  private secret(): string {
    return this.sync.secret();
  }

  private aad = (tenant: string, kind: string, key: string) => `tessera/backup-artifact/v1|${tenant}|${kind}|${key}`;

  /** Decoded artifacts by row, valid while the row's sealed text is unchanged (unsealing and parsing per request was most of a backup token's cost). */
  private readonly decoded = new Map<string, { sealed: string; artifact: Artifact }>();

  async load(tenant: string, kind: string, key: string): Promise<Artifact | undefined> {
    const row = this.sql.exec<{ sealed: string }>(`SELECT sealed FROM ba_artifacts WHERE tenant = ? AND kind = ? AND key = ?`, tenant, kind, key).toArray()[0];
    if (row === undefined) return undefined;
    const id = `${tenant}|${kind}|${key}`;
    const hit = this.decoded.get(id);
    if (hit !== undefined && hit.sealed === row.sealed) return hit.artifact;
    const plain = await unseal(await this.keys.boxKey(this.secret()), row.sealed, this.aad(tenant, kind, key));
    if (plain === null) return undefined;
    const artifact = JSON.parse(plain) as Artifact;
    if (this.decoded.size >= MAX_DECODED) this.decoded.clear();
    this.decoded.set(id, { sealed: row.sealed, artifact });
    return artifact;
  }

  private async save(a: Artifact): Promise<void> {
    const sealed = await seal(await this.keys.boxKey(this.secret()), JSON.stringify(a), this.aad(a.tenantId, a.kind, a.key), random);
    this.sql.exec(`INSERT INTO ba_artifacts (tenant, kind, key, sealed, primary_at, backup_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(tenant, kind, key) DO UPDATE SET sealed = excluded.sealed, primary_at = excluded.primary_at, backup_at = excluded.backup_at, last_used = excluded.last_used`,
    a.tenantId, a.kind, a.key, sealed, a.primaryAt, a.backupAt, a.lastUsedAt);
    if (a.kind === 'session') {
      const s = sessionOf(a.tenantId, a.readSet);
      if (s !== undefined) this.sql.exec(`INSERT OR IGNORE INTO ba_token_ids (tenant, token_id, family) VALUES (?, ?, ?)`, a.tenantId, s.tokenId, a.key);
    }
  }

  /** One change of one artifact at a time: a refresh token must never be rotated twice. */
  private locked<T>(key: string, run: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const next = before.then(run, run);
    const tail = next.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => this.locks.get(key) === tail && this.locks.delete(key));
    return next;
  }

  /** An artifact learned on the primary. Never answers with an error the primary would see as a sign-in failure. */
  async learn(learned: Artifact): Promise<void> {
    const { seenJti, issuedAt, ...a } = learned;
    if (this.forgotten(a.tenantId)) return;
    this.sync.noteLearningLag(Date.now() - (issuedAt ?? a.primaryAt));
    this.sync.ensureTenant(a.tenantId);
    // Recorded first and idempotently (a repeated learn call changes nothing): a replay of the primary's assertion here is refused.
    for (const g of seenJti ?? []) this.recordJti(a.tenantId, g);
    await this.locked(`${a.tenantId}|${a.kind}|${a.key}`, async () => {
      const current = await this.load(a.tenantId, a.kind, a.key);
      if (!this.forgotten(a.tenantId)) await this.save(newerOf(current, a)); // forgotten while the lock was awaited
    });
    this.ctx.waitUntil(this.sync.ensureKey(a.tenantId));
  }

  /** Until when a jti guard is remembered, unless it has expired. */
  seenJti(tenant: string, key: string, now: number): number | undefined {
    const until = this.sql.exec<{ until: number }>(`SELECT until FROM ba_jti WHERE tenant = ? AND key = ?`, tenant, key).toArray()[0]?.until;
    return until !== undefined && until > now ? until : undefined;
  }

  private recordJti(tenant: string, g: SeenJti): void {
    if (!g.key.startsWith(`t/${tenant}/jti/`)) return;
    this.sql.exec(`INSERT INTO ba_jti (tenant, key, until) VALUES (?, ?, ?) ON CONFLICT(tenant, key) DO UPDATE SET until = MAX(until, excluded.until)`, tenant, g.key, g.until);
  }

  revocations(tenant: string): RevocationState {
    const row = this.sql.exec<{ revocations: string }>(`SELECT revocations FROM ba_tenants WHERE tenant = ?`, tenant).toArray()[0];
    return row === undefined ? NO_REVOCATIONS : (JSON.parse(row.revocations) as RevocationState);
  }

  private async signer(tenant: string, now: number): Promise<(claims: AccessTokenClaims) => Promise<string | null>> {
    // Published ahead of use: a key the tenant's JWKS does not list yet never signs.
    const record = backupSigningKey(this.sync.keyRows(tenant), now);
    if (record === undefined) return () => Promise.resolve(null);
    const key = this.keys.signingKey(this.secret(), record);
    return async (claims) => issueToken(await key, record, claims, now);
  }

  async token(call: BackupTokenCall): Promise<BackupReply> {
    if (this.forgotten(call.tenantId)) return backupRefusal(call);
    const now = Date.now();
    const form = new URLSearchParams(call.params);
    const tokenId = /^([A-Za-z0-9_-]{22})\./.exec(form.get('refresh_token') ?? '')?.[1];
    const family = tokenId === undefined ? undefined
      : this.sql.exec<{ family: string }>(`SELECT family FROM ba_token_ids WHERE tenant = ? AND token_id = ?`, call.tenantId, tokenId).toArray()[0]?.family;
    const serve = async (): Promise<BackupReply> => {
      let answer = await serveBackupToken({ ...call, form }, {
        now, random, sign: await this.signer(call.tenantId, now), revocations: this.revocations(call.tenantId),
        session: async () => (family === undefined ? undefined : this.load(call.tenantId, 'session', family)),
        app: (key) => this.load(call.tenantId, 'app', key),
        seenJti: (key) => this.seenJti(call.tenantId, key, now),
      });
      // Check and record in one synchronous step: of two concurrent requests with one assertion, the second is refused here.
      if (answer.guards.some((g) => this.seenJti(call.tenantId, g.key, now) !== undefined)) answer = replayedAnswer({ ...call, form }, now);
      for (const g of answer.guards) this.recordJti(call.tenantId, g);
      if (answer.updated !== undefined) await this.save(answer.updated);
      for (const action of answer.actions) this.sql.exec(`INSERT INTO ba_actions (tenant, action) VALUES (?, ?)`, call.tenantId, JSON.stringify(action));
      const ok = answer.result.status === 200;
      this.sql.exec(`UPDATE ba_tenants SET ${ok ? 'served = served + 1' : 'refused = refused + 1'} WHERE tenant = ?`, call.tenantId);
      if (ok && answer.artifact !== undefined) this.logIssued(call, answer.artifact, form.get('grant_type') ?? '', now);
      return { status: answer.result.status, headers: answer.result.headers, body: answer.result.body };
    };
    return family === undefined ? serve() : this.locked(`${call.tenantId}|session|${family}`, serve);
  }

  private logIssued(call: BackupTokenCall, a: Artifact, grant: string, now: number): void {
    this.sql.exec(`INSERT INTO ba_issued (tenant, at, grant_type, user_id, client_id, correlation_id) VALUES (?, ?, ?, ?, ?, ?)`,
      call.tenantId, now, grant, a.userId ?? null, a.clientId, call.correlationId);
    this.sql.exec(`DELETE FROM ba_issued WHERE id <= (SELECT MAX(id) FROM ba_issued) - ?`, MAX_ISSUED_LOG);
  }

  async jwks(tenant: string): Promise<string | null> {
    return this.sql.exec<{ jwks: string | null }>(`SELECT jwks FROM ba_tenants WHERE tenant = ?`, tenant).toArray()[0]?.jwks ?? null;
  }

  async placement(idOrDomain: string): Promise<TenantPlacement | null> {
    const key = idOrDomain.toLowerCase();
    const tenant = this.sql.exec<{ tenant: string }>(`SELECT tenant FROM ba_domains WHERE domain = ?`, key).toArray()[0]?.tenant ?? idOrDomain;
    const row = this.sql.exec<{ placement: string | null }>(`SELECT placement FROM ba_tenants WHERE tenant = ?`, tenant).toArray()[0];
    return row?.placement ? (JSON.parse(row.placement) as TenantPlacement) : null;
  }

  /** Sets (or with `until` in the past, ends) a drill; the same call twice leaves the same state. Returns the drill in force. */
  async setDrill(tenant: string, until: number): Promise<number | null> {
    if (until <= Date.now() || this.forgotten(tenant)) this.sql.exec(`DELETE FROM ba_drills WHERE tenant = ?`, tenant);
    else this.sql.exec(`INSERT INTO ba_drills (tenant, until) VALUES (?, ?) ON CONFLICT(tenant) DO UPDATE SET until = excluded.until`, tenant, until);
    return this.drill(tenant);
  }

  async drill(tenant: string): Promise<number | null> {
    const until = this.sql.exec<{ until: number }>(`SELECT until FROM ba_drills WHERE tenant = ?`, tenant).toArray()[0]?.until;
    return until !== undefined && until > Date.now() ? until : null;
  }

  async poke(tenant: string): Promise<void> {
    if (this.forgotten(tenant)) return;
    this.sync.ensureTenant(tenant);
    await this.sync.syncTenant(tenant);
  }

  async adoptNow(tenant: string): Promise<number> {
    return this.sync.adopt(tenant);
  }

  forgotten(tenant: string): boolean {
    return this.sql.exec(`SELECT 1 FROM ba_forgotten WHERE tenant = ?`, tenant).toArray().length > 0;
  }

  /**
   * A deleted tenant (its purge on the primary, durable-objects/tenant-purge.ts): every row the
   * store holds for it goes, in one synchronous step (no request interleaves), and the tombstone
   * keeps a late learn, poke or sync from writing it back. Repeating it drops nothing more.
   */
  async forget(tenant: string): Promise<number> {
    let dropped = 0;
    this.ctx.storage.transactionSync(() => {
      for (const table of FORGET_TABLES) {
        const deleted = this.sql.exec(`DELETE FROM ${table} WHERE tenant = ?`, tenant);
        deleted.toArray(); // run to completion before reading its count
        dropped += deleted.rowsWritten;
      }
      this.sql.exec(`INSERT OR IGNORE INTO ba_forgotten (tenant, at) VALUES (?, ?)`, tenant, Date.now());
    });
    for (const id of [...this.decoded.keys()]) if (id.startsWith(`${tenant}|`)) this.decoded.delete(id);
    return dropped;
  }

  /** Drops artifacts unused for 3 days (either path), and the token ids that pointed at them. */
  purgeExpired(now: number): void {
    const rows = this.sql.exec<{ tenant: string; kind: string; key: string; last_used: number }>(`SELECT tenant, kind, key, last_used FROM ba_artifacts`).toArray();
    for (const r of rows.filter((r) => isExpired({ lastUsedAt: r.last_used }, now))) {
      this.sql.exec(`DELETE FROM ba_artifacts WHERE tenant = ? AND kind = ? AND key = ?`, r.tenant, r.kind, r.key);
      if (r.kind === 'session') this.sql.exec(`DELETE FROM ba_token_ids WHERE tenant = ? AND family = ?`, r.tenant, r.key);
    }
    this.sql.exec(`DELETE FROM ba_jti WHERE until <= ?`, now);
    this.sql.exec(`DELETE FROM ba_drills WHERE until <= ?`, now);
  }

  async stats(region: string): Promise<BackupStats> {
    const tenants = this.sql.exec<{ tenant: string; synced_at: number | null; served: number; refused: number }>(`SELECT tenant, synced_at, served, refused FROM ba_tenants ORDER BY tenant`).toArray();
    const count = (t: string, kind: string) => this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ba_artifacts WHERE tenant = ? AND kind = ?`, t, kind).one().n;
    return {
      region,
      tenants: tenants.map((t) => ({
        tenantId: t.tenant, sessions: count(t.tenant, 'session'), apps: count(t.tenant, 'app'), served: t.served, refused: t.refused,
        pendingAdoption: this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ba_actions WHERE tenant = ?`, t.tenant).one().n,
        keyPublished: backupSigningKey(this.sync.keyRows(t.tenant), Date.now()) !== undefined,
        keys: this.sync.keyRows(t.tenant).map((k) => ({ kid: k.record.kid, published: k.published, activateAt: new Date(k.record.activateAt).toISOString(), retireAt: new Date(k.record.retireAt).toISOString() })),
        syncedAt: t.synced_at, feedPosition: this.revocations(t.tenant).watermark,
        revokedUsers: Object.keys(this.revocations(t.tenant).users).length, revokedApps: Object.keys(this.revocations(t.tenant).apps).length,
      })),
      drills: this.sql.exec<{ tenant: string; until: number }>(`SELECT tenant, until FROM ba_drills WHERE until > ? ORDER BY tenant`, Date.now()).toArray()
        .map((d) => ({ tenantId: d.tenant, until: new Date(d.until).toISOString() })),
      learningLagMs: lagSummary(this.sync.learningLag),
      revocationLagMs: lagSummary(this.sync.revocationLag),
    };
  }

  pendingActions(tenant: string): Array<{ id: number; action: BackupAction }> {
    return this.sql.exec<{ id: number; action: string }>(`SELECT id, action FROM ba_actions WHERE tenant = ? ORDER BY id LIMIT 200`, tenant).toArray()
      .map((r) => ({ id: r.id, action: JSON.parse(r.action) as BackupAction }));
  }

  override async alarm(): Promise<void> {
    await this.sync.onAlarm();
  }
}

/** A refusal answered by the backup Worker itself (bad input at its own boundary). */
export function backupRefusal(call: Pick<BackupTokenCall, 'traceId' | 'correlationId' | 'origin' | 'tenantId'>): BackupReply {
  const r = oauthErrorResponse('backup_unavailable', { now: Date.now(), traceId: call.traceId, correlationId: call.correlationId, baseUrl: call.origin, tenantId: call.tenantId });
  return { status: r.status, headers: r.headers, body: JSON.stringify(r.body) };
}
