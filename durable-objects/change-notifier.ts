import { DurableObject } from 'cloudflare:workers';
import { clearTables } from './clear-tables.js';
import { CoalescedRuns } from '../core/coalesced-runs.js';
import type { PokeAnswer } from '../core/poke-gate.js';
import { SubscriptionCache } from '../core/notifications/subscription-cache.js';
import { directoryNotifications, hasDirectorySubscriptions, missedNotifications } from '../core/notifications/directory-changes.js';
import { enqueue } from '../workers/platform/delivery.js';
import { MAX_FEED_PAGE } from '../core/feed/cursor.js';
import type { Subscription } from '../core/notifications/subscriptions.js';
import { reauthorizationNotices } from '../core/notifications/reauthorization.js';
import { onPrimary } from '../workers/platform/cell-calls.js';
import { tenantSubscriptions } from '../workers/platform/tenant-subscriptions.js';
import { idByName } from './object-ids.js';

const PAGE = MAX_FEED_PAGE;
/** A run catches up through at most this many pages (a tenant's first directory subscription may find a long feed behind its cursor). */
const MAX_PAGES_PER_RUN = 1_000;
/** How long the subscription list is reused when no subscription changed through the edge. */
const SUBSCRIPTIONS_TTL_MS = 60_000;
/** While the tenant has directory subscriptions, a lost poke is repaired by this alarm. */
const RECHECK_MS = 60_000;

/**
 * A tenant's directory change notifier (one object per tenant, `notify:{tenantId}`; SQLite):
 * reads the tenant's change feed (core/feed) from its cursor and queues a Graph notification
 * per user/group change and subscription (core/notifications/directory-changes.ts). The edge
 * pokes it after each users/groups write and subscription write; an alarm repairs lost pokes
 * and sends `reauthorizationRequired` notices when due (any resource's subscriptions). The cursor moves only
 * after the page's notifications were queued: at least once.
 */
export class ChangeNotifier extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly runs = new CoalescedRuns<null>((tenantId) => this.run(tenantId), () => null);
  private readonly subs = new SubscriptionCache<Subscription>(SUBSCRIPTIONS_TTL_MS);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS cn_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS cn_reauth (sub TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID`);
  }

  /** The tenant was deleted (durable-objects/tenant-purge.ts): its feed cursor and reminders go. */
  async purge(): Promise<void> {
    await clearTables(this.ctx, ['cn_meta', 'cn_reauth']);
    this.subs.invalidate();
  }

  /**
   * `reauthorizationRequired` notices due now (core/notifications/reauthorization.ts), for every
   * resource's subscriptions. Remembered only after they are queued (a failed enqueue throws and
   * the alarm retries; a crash in between tells again: at least once). Returns the next due time.
   */
  private async tellReauthorization(tenantId: string, subs: readonly Subscription[], now: number): Promise<number | undefined> {
    const told = new Map(this.sql.exec<{ sub: string; until: number }>(`SELECT sub, until FROM cn_reauth`).toArray().map((r) => [r.sub, r.until] as [string, number]));
    const plan = reauthorizationNotices(subs, told, tenantId, now);
    await enqueue(this.env, plan.messages);
    for (const [id, until] of plan.told) this.sql.exec(`INSERT OR REPLACE INTO cn_reauth VALUES (?, ?)`, id, until);
    const live = new Set(subs.map((x) => x.id));
    for (const id of told.keys()) if (!live.has(id)) this.sql.exec(`DELETE FROM cn_reauth WHERE sub = ?`, id);
    return plan.nextAt;
  }

  /** The alarm at the earliest of what is wanted (an earlier one already set stays). */
  private async armAt(at: number | undefined): Promise<void> {
    if (at === undefined) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private get(key: string): string | undefined {
    return this.sql.exec<{ value: string }>(`SELECT value FROM cn_meta WHERE key = ?`, key).toArray()[0]?.value;
  }

  private set(key: string, value: string): void {
    this.sql.exec(`INSERT OR REPLACE INTO cn_meta VALUES (?, ?)`, key, value);
  }

  /**
   * Runs (or re-runs after the current run) the notifier for `tenantId`. `subscriptionsChanged`:
   * a subscription was written, so the cached list is stale.
   */
  async poke(tenantId: string, subscriptionsChanged = false): Promise<PokeAnswer> {
    // A read, not a write per poke (the tenant never changes for this object).
    if (this.get('tenant') !== tenantId) this.set('tenant', tenantId);
    if (subscriptionsChanged) this.subs.invalidate();
    await this.runs.request(tenantId, null);
    // Idle: no directory subscription as of the run just ended (the edge stops poking for a while: core/poke-gate.ts).
    const now = Date.now();
    const subs = this.subs.current(now);
    return { idle: subs !== undefined && !hasDirectorySubscriptions(subs, now) };
  }

  override async alarm(): Promise<void> {
    const tid = this.get('tenant');
    if (tid !== undefined) await this.poke(tid, true);
  }

  private async run(tenantId: string): Promise<void> {
    const now = Date.now();
    const subs = await this.subs.get(now, () => tenantSubscriptions(this.env, tenantId));
    await this.armAt(await this.tellReauthorization(tenantId, subs, now));
    // No directory subscription: nothing to read (the cursor waits; later subscriptions only
    // get changes committed after their creation).
    if (!hasDirectorySubscriptions(subs, now)) return;
    let cursor = Number(this.get('cursor') ?? '0');
    for (let i = 0; i < MAX_PAGES_PER_RUN; i++) {
      const routed = await onPrimary(this.env, tenantId, (stub, topology) => stub.feed(topology, tenantId, cursor, PAGE));
      const page = routed.outcome;
      if (page.kind === 'expired') {
        await enqueue(this.env, missedNotifications(subs, tenantId, now));
        cursor = page.oldest - 1;
        this.set('cursor', String(cursor));
        continue;
      }
      if (page.kind !== 'page') throw new Error(`feed unavailable: ${page.kind}`);
      await enqueue(this.env, directoryNotifications(page.records, subs, tenantId, now));
      cursor = page.next;
      this.set('cursor', String(cursor));
      if (!page.more) break;
    }
    await this.armAt(now + RECHECK_MS);
  }
}

export function changeNotifierStub(env: Env, tenantId: string): DurableObjectStub<ChangeNotifier> {
  const ns = env.NOTIFIER;
  return ns.get(idByName(ns, `notify:${tenantId}`));
}
