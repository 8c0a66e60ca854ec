/**
 * The backup store's traffic with the primary, always in the background: pulling the change
 * feed (critical events, core/cae) with the tenant's JWKS and placement, publishing its signing
 * key, and handing its rotations to the primary for adoption. Nothing here is on a sign-in's
 * path: a failure is retried by the alarm with backoff, never surfaced to a client.
 */
import { planBackupKeys, type BackupKeyRow } from '../core/backup-auth/keys.js';
import { foldRecords } from '../core/backup-auth/revocation.js';
import { criticalEvents } from '../core/cae/critical-events.js';
import { deriveKek, generateSigningKey, type KeyRecord, type SigningAlg } from '../core/token/signing-keys.js';
import type { BackupSourceRpc } from './backup-protocol.js';
import type { BackupStore } from './backup-store.js';

export interface BackupEnv {
  BACKUP_STORE: DurableObjectNamespace<BackupStore>;
  /** Service binding to the main Worker's `BackupSource` entrypoint. */
  PRIMARY: Fetcher;
  /** The backup's own key-encryption key (never KEY_ENCRYPTION_KEY); a development default outside production. */
  BACKUP_AUTH_KEY_ENCRYPTION_KEY?: string;
  TESSERA_ENV?: string;
  /** This Worker's region label when it serves one region (default: the store named in each call). */
  REGION?: string;
}

/** Development only (like .dev.vars): production refuses to run without its own secret. */
const DEV_BACKUP_KEK = 'dev-only-backup-key-encryption-key-not-for-production';
const RESYNC_EVERY_MS = 30_000;
const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];
const LAG_SAMPLES = 1_000;
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

export function lagSummary(samples: readonly number[]): { n: number; p50: number; p99: number; max: number } {
  if (samples.length === 0) return { n: 0, p50: 0, p99: 0, max: 0 };
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: s[s.length - 1]! };
}

/** The algorithm of the tenant's published keys (RS256 when unknown, Entra's). */
export function tenantAlg(jwks: string | null): SigningAlg {
  try {
    const keys = (JSON.parse(jwks ?? '{}') as { keys?: Array<{ alg?: unknown }> }).keys ?? [];
    return keys.some((k) => k.alg === 'RS256') || !keys.some((k) => k.alg === 'ES256') ? 'RS256' : 'ES256';
  } catch {
    return 'RS256';
  }
}

export class BackupSync {
  readonly learningLag: number[] = [];
  readonly revocationLag: number[] = [];
  private readonly syncing = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly keyJobs = new Map<string, Promise<void>>();
  private failures = 0;

  constructor(private readonly store: BackupStore, private readonly ctx: DurableObjectState, private readonly env: BackupEnv) {}

  secret(): string {
    const s = this.env.BACKUP_AUTH_KEY_ENCRYPTION_KEY;
    if (s !== undefined && s.length >= 32) return s;
    if (this.env.TESSERA_ENV === 'production') throw new Error('BACKUP_AUTH_KEY_ENCRYPTION_KEY is not set');
    return DEV_BACKUP_KEK;
  }

  private primary(): BackupSourceRpc {
    return this.env.PRIMARY as unknown as BackupSourceRpc;
  }

  private note(list: number[], ms: number): void {
    list.push(Math.max(0, ms));
    if (list.length > LAG_SAMPLES) list.splice(0, list.length - LAG_SAMPLES);
  }

  noteLearningLag(ms: number): void {
    this.note(this.learningLag, ms);
  }

  /** A tenant seen for the first time gets a row (and is synced soon). */
  ensureTenant(tenant: string): void {
    if (this.store.forgotten(tenant)) return;
    const known = this.store.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ba_tenants WHERE tenant = ?`, tenant).one().n > 0;
    if (known) return;
    this.store.sql.exec(`INSERT INTO ba_tenants (tenant, revocations) VALUES (?, ?)`, tenant, JSON.stringify({ watermark: 0, users: {}, apps: {} }));
    this.ctx.waitUntil(this.syncTenant(tenant).then(() => this.schedule(Date.now() + RESYNC_EVERY_MS)));
  }

  /** The tenant's backup keys (records hold the private key wrapped under the backup KEK). */
  keyRows(tenant: string): BackupKeyRow[] {
    return this.store.sql.exec<{ record: string; published: number }>(`SELECT record, published FROM ba_signing_keys WHERE tenant = ?`, tenant).toArray()
      .map((r) => ({ record: JSON.parse(r.record) as KeyRecord, published: r.published === 1 }));
  }

  /**
   * One lifecycle step of the tenant's backup keys (core/backup-auth/keys.ts decides): generate
   * the first key or the due successor, forget expired ones, publish unpublished ones through the
   * primary. One step per tenant at a time (learning and the alarm both call it); a failed
   * publication is retried by the alarm, and publishing twice writes the same record.
   */
  ensureKey(tenant: string, now = Date.now()): Promise<void> {
    const running = this.keyJobs.get(tenant);
    if (running !== undefined) return running;
    const job = this.keyStep(tenant, now).finally(() => this.keyJobs.delete(tenant));
    this.keyJobs.set(tenant, job);
    return job;
  }

  private async keyStep(tenant: string, now: number): Promise<void> {
    const sql = this.store.sql;
    // Same algorithm as the tenant's own keys (validators may pin it): known once the JWKS is synced.
    if (this.keyRows(tenant).length === 0 && this.jwksOf(tenant) === null) await this.syncTenant(tenant);
    if (this.store.forgotten(tenant)) return; // deleted (also while the sync above ran)
    const step = planBackupKeys(this.keyRows(tenant), now, tenantAlg(this.jwksOf(tenant)));
    for (const kid of step.drop) sql.exec(`DELETE FROM ba_signing_keys WHERE tenant = ? AND kid = ?`, tenant, kid);
    if (step.create !== null) {
      const { alg, ...schedule } = step.create;
      const record = await generateSigningKey(await deriveKek(this.secret()), tenant, alg, now, random, schedule);
      if (this.store.forgotten(tenant)) return;
      sql.exec(`INSERT INTO ba_signing_keys (tenant, kid, record, published) VALUES (?, ?, ?, 0)`, tenant, record.kid, JSON.stringify(record));
      step.publish.push(record.kid);
    }
    let published = 0;
    for (const row of this.keyRows(tenant).filter((r) => step.publish.includes(r.record.kid))) {
      const { wrappedPrivateKey: _private, ...pub } = row.record;
      if (!(await this.primary().publishKey(tenant, pub).catch(() => false))) {
        await this.schedule(Date.now() + RETRY_MS[0]!);
        break;
      }
      sql.exec(`UPDATE ba_signing_keys SET published = 1 WHERE tenant = ? AND kid = ?`, tenant, row.record.kid);
      published++;
    }
    if (published > 0) await this.syncTenant(tenant); // the JWKS copy now lists the key
  }

  private jwksOf(tenant: string): string | null {
    return this.store.sql.exec<{ jwks: string | null }>(`SELECT jwks FROM ba_tenants WHERE tenant = ?`, tenant).toArray()[0]?.jwks ?? null;
  }

  /** Pulls the tenant's feed until caught up (one pull at a time per tenant; a request during one runs once more after it). */
  syncTenant(tenant: string): Promise<void> {
    const running = this.syncing.get(tenant);
    if (running !== undefined) {
      this.again.add(tenant);
      return running;
    }
    const run = (async () => {
      try {
        do {
          this.again.delete(tenant);
          await this.pull(tenant);
        } while (this.again.has(tenant));
        this.failures = 0;
        if (this.store.pendingActions(tenant).length > 0) await this.adopt(tenant);
      } catch {
        this.failures = Math.min(this.failures + 1, RETRY_MS.length - 1);
        await this.schedule(Date.now() + RETRY_MS[this.failures]!);
      } finally {
        this.syncing.delete(tenant);
      }
    })();
    this.syncing.set(tenant, run);
    return run;
  }

  private async pull(tenant: string): Promise<void> {
    const sql = this.store.sql;
    for (let round = 0; round < 100; round++) {
      let state = this.store.revocations(tenant);
      const reply = await this.primary().sync(tenant, state.watermark);
      if (this.store.forgotten(tenant)) return; // deleted while the call ran: nothing is written back
      const now = Date.now();
      const page = reply.page;
      if (page !== null && page.kind === 'page') {
        // Lag counts only records committed while this store was following the tenant (not its first catch-up).
        if (state.watermark > 0) for (const r of page.records) if (criticalEvents(r).length > 0) this.note(this.revocationLag, now - r.at);
        state = foldRecords(state, page.records);
      } else if (page !== null) {
        // Records were dropped before we read them: resume at the oldest kept (the gap is beyond the feed's retention).
        state = { ...state, watermark: Math.max(state.watermark, page.oldest - 1) };
      }
      sql.exec(`UPDATE ba_tenants SET revocations = ?, synced_at = ?, jwks = COALESCE(?, jwks), placement = COALESCE(?, placement) WHERE tenant = ?`,
        JSON.stringify(state), now, reply.jwks, reply.placement === null ? null : JSON.stringify(reply.placement), tenant);
      const domain = reply.placement?.tenant.domain;
      if (typeof domain === 'string') sql.exec(`INSERT OR REPLACE INTO ba_domains (domain, tenant) VALUES (?, ?)`, domain.toLowerCase(), tenant);
      if (page === null || page.kind !== 'page' || !page.more) return;
    }
  }

  /** Hands the tenant's rotations and revocations to the primary, oldest first; returns how many it took. */
  async adopt(tenant: string): Promise<number> {
    let sent = 0;
    for (let round = 0; round < 50; round++) {
      const pending = this.store.pendingActions(tenant);
      if (pending.length === 0) break;
      const done = await this.primary().adopt(tenant, pending.map((p) => p.action)).catch(() => null);
      if (done === null) {
        await this.schedule(Date.now() + RETRY_MS[0]!);
        break;
      }
      this.store.sql.exec(`DELETE FROM ba_actions WHERE tenant = ? AND id <= ?`, tenant, pending[pending.length - 1]!.id);
      sent += pending.length;
    }
    return sent;
  }

  private async schedule(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Periodic resync (repairs lost pokes), pending key publications and adoptions, and the 3-day expiry. */
  async onAlarm(): Promise<void> {
    const tenants = this.store.sql.exec<{ tenant: string }>(`SELECT tenant FROM ba_tenants`).toArray().map((r) => r.tenant);
    for (const t of tenants) {
      await this.ensureKey(t).catch(() => undefined);
      await this.syncTenant(t);
    }
    this.store.purgeExpired(Date.now());
    await this.schedule(Date.now() + RESYNC_EVERY_MS);
  }
}
