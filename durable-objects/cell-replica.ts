import { DurableObject } from 'cloudflare:workers';
import type { GraphError, GraphReply } from '../core/directory/index.js';
import { isWrite, planWrite, purgeMutations, read } from '../core/directory/index.js';
import type { Mutation, StateReader } from '../core/kv.js';
import { isIdempotencyKey, isPrior, withIdempotency, type IdempotencyTicket, type Prior } from '../core/idempotency.js';
import { graphPrior, keepGraphReply } from './idempotent-replies.js';
import { Replica } from '../core/replication/replica.js';
import type { ReplicaMessage, ReplicaReply } from '../core/replication/types.js';
import type { Result } from '../core/result.js';
import { err, ok } from '../core/result.js';
import { crossCall } from '../workers/platform/faults.js';
import { isTokenServiceKey, tokenTenantIds } from '../core/token/token-keys.js';
import type { CaeOutcome, CellTopology, GraphOutcome, ReplicaCall, TokenCall, TokenOutcome } from './replica-protocol.js';
import { TokenGlue } from './token-glue.js';
import { KeyRotation } from './key-rotation.js';
import { CoalescedRuns } from '../core/coalesced-runs.js';
import { NOT_DURABLE, replicaStub, type BackupStatusOutcome, type DeletionOutcome, type SnapshotOutcome } from './replica-protocol.js';
import { SqliteReplicaStore } from './sqlite-replica-store.js';
import type { FeedReply } from '../core/managed-identity/feed.js';
import type { WorkloadOp } from '../core/managed-identity/workloads.js';
import { identityFeed, runWorkloadOp, type WorkloadOutcome } from './mi-glue.js';
import { IdentityNotices } from './identity-notices.js';
import { DEFAULT_FEED_RETENTION_MS, isFeedKey, recorded, writesRecord, type Actor, type WriteOrigin } from '../core/feed/record.js';
import { eventsSince, isCaeKey } from '../core/cae/event-store.js';
import { singletonKey } from '../core/directory/keys.js';
import type { GraphCaller } from './replica-protocol.js';
import { MAX_FEED_PAGE, readFeed, type FeedPage } from '../core/feed/cursor.js';
import { feedDuties, readArchive } from './feed-archive.js';
import { backupConfig, snapshotsDue, takeSnapshot } from './backup.js';
import { ReplicaFreshness } from './replica-freshness.js';
import { runRecoveryJobs } from './recovery-runner.js';
import { readWithObjects } from './recovery-objects.js';
import { SqliteTargetIndex } from './sqlite-target-index.js';
import { listSnapshots, readStatus } from '../core/recovery/snapshots.js';
import { BackupLearning } from './backup-learning.js';
import { isDeleted } from '../core/tenant-deletion.js';
import { markDeletion, purgeDeletedTenants, purgeTenantObjects } from './tenant-purge.js';
import { notFound } from '../core/directory/errors.js';
import { oauthErrorResponse } from '../core/token/oauth-errors.js';
import type { ControlOp } from '../core/control/plans.js';
import { isControlKey } from '../core/control/state.js';
import { readControlChanges, runControlOp, type ControlChangesOutcome, type ControlOutcome } from './control-cell.js';

function actorOf(caller: GraphCaller): Actor {
  return caller.kind === 'user' ? { kind: 'user', id: caller.userId } : caller.kind === 'application' ? { kind: 'app', appId: caller.appId } : { kind: 'operator' };
}

const PEER_TIMEOUT_MS = 2_000;
const RETRY_BACKOFF_MS = [500, 1_000, 2_000, 5_000, 10_000, 30_000];
/** Signing-key rotation runs once a day on the primary (core/token/key-rotation.ts decides what is due). */
/** New change-feed records are copied to the archive this long after a commit (batched by the alarm). */
const ARCHIVE_DELAY_MS = 30_000;

/**
 * One replica of one cell in one region (named `{cell}:{region}`). All rules live in
 * core/replication and core/directory; this class gives them SQLite, time and transport.
 */
export class CellReplica extends DurableObject<Env> {
  private replica: Replica | undefined;
  private readonly store: SqliteReplicaStore;
  /** This replica's own index of feed records by target (audit queries by target; not replicated). */
  private readonly targets: SqliteTargetIndex;
  private pushFailures = 0;
  private readonly tokens = new TokenGlue(() => this.env.KEY_ENCRYPTION_KEY);
  private readonly rotation: KeyRotation;
  /** Tells this region's managed-identity store of applied positions that matter to it (identity-notices.ts). */
  private readonly identityNotices: IdentityNotices;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new SqliteReplicaStore(ctx.storage);
    this.targets = new SqliteTargetIndex(ctx.storage);
    this.rotation = new KeyRotation(ctx.storage, this.tokens);
    this.freshness = new ReplicaFreshness(ctx.storage.sql);
    this.identityNotices = new IdentityNotices(env, ctx, this.store);
    this.backup = new BackupLearning(env, ctx);
    if (this.backup.enabled) this.tokens.learner = (job) => this.replica !== undefined && this.backup.learn(this.replica.meta.region, this.replica.meta.regions, job);
  }

  private readonly freshness: ReplicaFreshness; // how stale reads may be: `tessera-staleness-ms`

  /** The backup authentication service learns what this replica issues and hears of feed changes (issue 14). */
  private readonly backup: BackupLearning;

  /**
   * Only when the entries applied after `appliedBefore` wrote a record of the tenant's feed (or its
   * keys changed): a plain refresh writes none. Read from the log's recent entries (in memory), not
   * the state: this runs after every Graph write and token call. More applied since than the log
   * keeps: poke anyway (the store's sync finds nothing new).
   */
  private pokeBackup(replica: Replica, tenantId: string, appliedBefore: number, keysChanged = false): void {
    const upTo = replica.meta.appliedPos;
    if (!this.backup.enabled || upTo <= appliedBefore) return;
    const entries = this.store.entries(appliedBefore + 1, upTo, upTo - appliedBefore);
    if (keysChanged || entries.length < upTo - appliedBefore || writesRecord(entries, tenantId)) this.backup.poke(replica.meta.region, replica.meta.regions, tenantId);
  }

  private open(t: CellTopology): Replica {
    if (this.replica !== undefined) return this.replica;
    const self = { cell: t.cell, region: t.region };
    const transport = {
      send: (to: string, message: ReplicaMessage): Promise<ReplicaReply> =>
        this.freshness.send(this.replica!.meta, to, message, (m) => crossCall(t.region, to, PEER_TIMEOUT_MS, () => replicaStub(this.env, t.cell, to).replicate({ ...t, region: to }, m))),
    };
    this.replica = new Replica(this.store, self, t, transport);
    return this.replica;
  }

  /** Messages from the other replicas of the cell. */
  async replicate(t: CellTopology, message: ReplicaMessage): Promise<ReplicaReply> {
    const replica = this.open(t);
    const reply = await replica.receive(message);
    this.freshness.received(message, reply);
    if (message.kind === 'append' || message.kind === 'snapshot') replica.compactLog();
    if (message.kind === 'promote' && reply.kind === 'ack') await this.schedulePush(0);
    if (reply.kind === 'members_changed') this.ctx.waitUntil(this.pushNow()); // learners and new members get it now
    this.notifyIdentityStore();
    return reply;
  }

  /** Where this replica stands (role, epoch, positions): for routing, tests and operators. */
  async status(t: CellTopology): Promise<ReplicaReply> {
    return this.open(t).receive({ kind: 'status' });
  }

  /** A Graph API call for one tenant: writes on the primary, reads anywhere. */
  async graph(t: CellTopology, call: ReplicaCall): Promise<GraphOutcome> {
    const replica = this.open(t);
    const ctx = { tenantId: call.tenantId, now: Date.now(), newId: () => crypto.randomUUID(), caller: call.caller };
    const asUser = call.caller.kind === 'user' ? call.caller.userId : undefined;
    // A deleted tenant (core/tenant-deletion.ts) serves nothing, also to an edge whose cached placement is stale.
    if (isDeleted(replica.state, call.tenantId)) return { kind: 'error', error: notFound(call.tenantId) };
    if (isWrite(call.request)) {
      const origin = this.origin(actorOf(call.caller), call.correlationId);
      // Passwords were hashed at the edge (core/directory/secrets.ts); the feed record commits with the write.
      // The deletion check again at commit: a write planned before the marker committed never lands after it.
      const plan = withIdempotency(call.idempotency, ctx.now, (state) => (isDeleted(state, call.tenantId) ? err(notFound(call.tenantId)) : planWrite(state, call.request, ctx, asUser)), keepGraphReply);
      const before = replica.meta.appliedPos;
      const outcome = await this.commit(replica, this.feedRecords() ? recorded(plan, origin) : plan);
      this.pokeBackup(replica, call.tenantId, before);
      // A new recovery job runs from the alarm: wake it now.
      if (outcome.kind === 'reply' && call.request.startsJob === true) await this.scheduleAt(Date.now());
      return outcome;
    }
    if (call.minPosition !== undefined && replica.meta.appliedPos < call.minPosition.pos) {
      const caught = await replica.catchUp(call.minPosition.pos);
      if (!caught) return { kind: 'behind', appliedPos: replica.meta.appliedPos };
    }
    // A read that needs objects kept in R2 (a difference report's pages) names them; they are fetched and it runs again.
    const result = await readWithObjects(() => backupConfig(this.env), () => replica.state, call.tenantId, (objects) => read(replica.state, call.request, { ...ctx, objects, targets: this.targets }, asUser));
    if (result === undefined) return { kind: 'unavailable', reason: 'backup object storage unavailable' };
    if (!result.ok && result.error.kind === 'behind') return { kind: 'behind', appliedPos: replica.meta.appliedPos };
    const stalenessMs = this.freshness.stalenessMs(replica.meta);
    return result.ok ? { kind: 'reply', reply: result.value, ...(stalenessMs === undefined ? {} : { stalenessMs }) } : { kind: 'error', error: result.error };
  }

  /** Raw mutations from the platform itself (tenant provisioning), committed like any write. */
  async writeMutations(t: CellTopology, mutations: Mutation[]): Promise<GraphOutcome> {
    const outcome = await this.commit(this.open(t), recorded(() => ok({ mutations, reply: { status: 204 } satisfies GraphReply }), this.origin({ kind: 'operator' }, '')));
    if (outcome.kind === 'reply') await this.rotation.schedule();
    return outcome;
  }

  /** Token service (discovery keys, token endpoint, sign-in pages, key operations); see token-glue.ts. */
  async token(t: CellTopology, call: TokenCall): Promise<TokenOutcome> {
    const replica = this.open(t);
    if (isDeleted(replica.state, call.tenantId)) {
      const e = oauthErrorResponse('unknown_tenant', { now: Date.now(), traceId: call.traceId, correlationId: call.correlationId, baseUrl: call.origin, tenantId: call.tenantSegment });
      return { kind: 'reply', status: e.status, headers: e.headers, body: JSON.stringify(e.body) };
    }
    const before = replica.meta.appliedPos;
    const outcome = await this.tokens.handle(replica, call, this.origin({ kind: 'system' }, call.correlationId));
    await this.afterCommit(replica, before);
    this.pokeBackup(replica, call.tenantId, before, call.op === 'rotate' || call.op === 'revoke_key');
    return outcome;
  }

  /** Managed identity: workload resources and their identities (writes on the primary). */
  async workloads(t: CellTopology, tenantId: string, op: WorkloadOp, idempotency?: IdempotencyTicket): Promise<WorkloadOutcome> {
    const replica = this.open(t);
    const before = replica.meta.appliedPos;
    const outcome = await runWorkloadOp(replica, () => this.tokens.kekKey(), tenantId, op, this.origin({ kind: 'operator' }, ''), idempotency);
    await this.afterCommit(replica, before);
    return outcome;
  }

  /** The control cell (core/control): a tenant placement write at its primary, under the write mutex. */
  async control(t: CellTopology, op: ControlOp): Promise<ControlOutcome> {
    const replica = this.open(t);
    const before = replica.meta.appliedPos;
    const outcome = await runControlOp(replica, op);
    await this.afterCommit(replica, before);
    return outcome;
  }

  /** The control cell: tenant changes after revision `after` for a control copy in this region (applied up to `minPos` first). */
  async controlChanges(t: CellTopology, after: number, limit: number, minPos?: number, confirm?: boolean): Promise<ControlChangesOutcome> {
    return readControlChanges(this.open(t), after, limit, minPos, confirm === true);
  }

  /** Managed identity: committed changes after `afterPos`, for this region's identity store (same region only). */
  async identityFeed(t: CellTopology, afterPos: number): Promise<FeedReply> {
    return identityFeed(this.open(t), this.store, afterPos);
  }

  /** A deleted tenant's purge (tenant-purge.ts): this replica's own index of its feed by target goes; safe to repeat. */
  async forgetTargets(tenantId: string): Promise<void> {
    this.targets.forget(tenantId);
  }

  private notifyIdentityStore(): void {
    this.identityNotices.notify(this.replica);
  }

  /** The feed is always on in production; elsewhere `FEED_RECORDS=off` gives the bench its feed-cost baseline. */
  private feedRecords(): boolean {
    const setting: string | undefined = this.env.FEED_RECORDS;
    return this.env.TESSERA_ENV === 'production' || setting !== 'off';
  }

  /** Who a write is recorded as in the change feed (core/feed). */
  private origin(actor: Actor, correlationId: string): WriteOrigin {
    return { actor, correlationId, now: Date.now() };
  }

  /** How long change-feed records stay in the cell (`FEED_RETENTION_DAYS`, default 30 days). */
  private feedRetentionMs(): number {
    const days = Number(this.env.FEED_RETENTION_DAYS ?? '');
    return Number.isFinite(days) && days > 0 ? days * 86_400_000 : DEFAULT_FEED_RETENTION_MS;
  }

  private async commit(replica: Replica, plan: (state: StateReader) => Result<{ mutations: Mutation[]; reply: GraphReply }, GraphError | Prior>): Promise<GraphOutcome> {
    const before = replica.meta.appliedPos;
    const result = await replica.write(plan);
    await this.afterCommit(replica, before);
    if (!result.ok) {
      const e = result.error;
      if (isPrior(e)) return graphPrior(e, { cell: replica.meta.cell, epoch: replica.meta.epoch, pos: replica.meta.appliedPos });
      // Fenced: the write's fate is unknown (a peer may hold it); the edge retries at the new
      // primary with the same idempotency ticket, which answers from the record if it committed.
      if (e.kind === 'not_primary' || e.kind === 'fenced') return { kind: 'not_primary', primaryRegion: e.primaryRegion, epoch: e.epoch };
      if (e.kind === 'not_durable') return { kind: 'unavailable', reason: NOT_DURABLE };
      return { kind: 'error', error: e };
    }
    return { kind: 'reply', reply: result.value.reply, position: { cell: replica.meta.cell, epoch: result.value.epoch, pos: result.value.pos } };
  }

  /**
   * Duties after any call that may have committed (Graph, token flows, workloads alike): other
   * regions get the entries at once in the background (and by alarm if that fails), expiring
   * keys (recycle bin, codes, refresh tokens) get their purge alarm, and this region's identity
   * store is told. Nothing to do when the applied position did not move.
   */
  private async afterCommit(replica: Replica, appliedBefore: number): Promise<void> {
    if (replica.meta.appliedPos <= appliedBefore) return;
    this.ctx.waitUntil(this.pushNow());
    this.notifyIdentityStore();
    const next = this.store.nextExpiry();
    if (next !== undefined) await this.scheduleAt(next);
    // The alarm archives new change-feed records (and finds nothing to do if there are none).
    if (replica.meta.role === 'primary') await this.scheduleAt(Date.now() + ARCHIVE_DELAY_MS);
  }

  /** `POST /admin/tenants/{id}/snapshots`: a snapshot of the tenant now (primary only). */
  async snapshot(t: CellTopology, tenantId: string): Promise<SnapshotOutcome> {
    const replica = this.open(t);
    if (replica.meta.role !== 'primary') return { kind: 'not_primary', primaryRegion: replica.meta.primaryRegion, epoch: replica.meta.epoch };
    const before = replica.meta.appliedPos;
    try {
      return { kind: 'snapshot', snapshot: await takeSnapshot(replica, backupConfig(this.env), tenantId) };
    } catch (e) {
      return { kind: 'unavailable', reason: e instanceof Error ? e.message : String(e) };
    } finally {
      await this.afterCommit(replica, before);
    }
  }

  /**
   * `DELETE /admin/tenants/{id}` (primary only): commits the deletion marker (a repeat finds it
   * and changes nothing) and wakes the alarm, which purges R2 and the cell (tenant-purge.ts).
   */
  async deleteTenant(t: CellTopology, tenantId: string): Promise<DeletionOutcome> {
    const replica = this.open(t);
    if (replica.meta.role !== 'primary') return { kind: 'not_primary', primaryRegion: replica.meta.primaryRegion, epoch: replica.meta.epoch };
    const before = replica.meta.appliedPos;
    const deletion = await markDeletion(replica, tenantId, Date.now());
    await this.afterCommit(replica, before);
    if (deletion === undefined) return { kind: 'unavailable', reason: NOT_DURABLE };
    if (deletion.purgedAt === null) await this.scheduleAt(Date.now());
    return { kind: 'deletion', deletion };
  }

  /** `GET /admin/tenants/{id}/snapshots`: kept snapshots and the last scheduled attempt (failures included). */
  async backupStatus(t: CellTopology, tenantId: string): Promise<BackupStatusOutcome> {
    const state = this.open(t).state;
    return { kind: 'status', snapshots: listSnapshots(state, tenantId), status: readStatus(state, tenantId) ?? null };
  }

  /** The alarm's backup duties: unfinished recovery jobs, then snapshots that are due. */
  private async backups(replica: Replica): Promise<void> {
    const tenants = tokenTenantIds(replica.state);
    const cfg = backupConfig(this.env);
    const deps = { replica, cfg, origin: (job: string) => this.origin({ kind: 'system' }, job), feed: (tid: string, after: number, limit: number) => this.feedOf(replica, tid, after, limit) };
    const before = replica.meta.appliedPos;
    const left = await runRecoveryJobs(deps, tenants);
    // Recovery writes may disable users or remove credentials: the backup store learns at once, as after a Graph write.
    for (const tid of tenants) this.pokeBackup(replica, tid, before);
    if (left !== undefined) await this.scheduleAt(Date.now() + (left === 'now' ? 50 : 5_000));
    const due = await snapshotsDue(replica, cfg, tenants, Date.now());
    if (due !== undefined) await this.scheduleAt(due);
  }

  /** Critical events after feed position `after`, from this replica's applied state (edges pull them: workers/platform/cae-state.ts). */
  async caeEvents(t: CellTopology, tenantId: string, after: number): Promise<CaeOutcome> {
    const state = this.open(t).state;
    if (state.get(singletonKey(tenantId, 'organization')) === undefined) return { kind: 'behind' };
    const since = eventsSince(state, tenantId, after);
    return { kind: 'events', watermark: since.watermark, events: [...since.events] };
  }

  /** The change feed from `after` (core/feed/cursor.ts), falling back to the R2 archive for records no longer in the cell. */
  async feed(t: CellTopology, tenantId: string, after: number, limit: number): Promise<FeedPage> {
    return this.feedOf(this.open(t), tenantId, after, limit);
  }

  private async feedOf(replica: Replica, tenantId: string, after: number, limit: number): Promise<FeedPage> {
    const page = readFeed(replica.state, tenantId, after, limit);
    if (page.kind === 'page') return page;
    const archived = await readArchive(this.env.FEED_ARCHIVE, tenantId, after, Math.min(limit, MAX_FEED_PAGE));
    if (archived[0]?.seq !== after + 1) return page;
    const next = archived[archived.length - 1]!.seq;
    return { kind: 'page', records: archived, next, more: true };
  }

  /** One background push at a time: writes committed while it runs ask for one more round after it. */
  private readonly pushes = new CoalescedRuns<null>(async () => {
    const behind = await this.replica?.pushAll();
    if (behind !== undefined && behind.length > 0) await this.schedulePush(RETRY_BACKOFF_MS[0]!);
  }, () => null);

  private pushNow(): Promise<void> {
    return this.pushes.request('push', null);
  }

  private schedulePush(delayMs: number): Promise<void> {
    return this.scheduleAt(Date.now() + delayMs);
  }

  /** Sets the alarm for `at` unless an earlier one is already set. */
  private async scheduleAt(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Retries asynchronous replication with backoff, and purges expired recycle-bin entries. */
  override async alarm(): Promise<void> {
    const replica = this.replica ?? this.reopen();
    if (replica === undefined || replica.meta.role !== 'primary') return;
    await this.rotation.rotateIfDue(replica);
    const expired = this.store.expiredKeys(Date.now(), 100);
    // Keys with no recycle bin (token service, change feed, critical events, idempotency and control-request records) go in one write; bin entries one by one (purge records).
    const plain = expired.filter((key) => isTokenServiceKey(key) || isFeedKey(key) || isCaeKey(key) || isIdempotencyKey(key) || isControlKey(key));
    if (plain.length > 0) await replica.write(() => ok({ mutations: plain.map((key) => ({ key, value: null })), reply: undefined }));
    for (const key of expired.filter((k) => !plain.includes(k))) {
      const tid = /^t\/([^/]+)\//.exec(key)?.[1];
      const before = replica.meta.appliedPos;
      await replica.write(recorded((state: StateReader) => ok({ mutations: purgeMutations(state, key), reply: undefined }), this.origin({ kind: 'system' }, '')));
      // A purge is a deletion (a revoking event): the backup store hears of it at once.
      if (tid !== undefined) this.pokeBackup(replica, tid, before);
    }
    const feedAgain = await feedDuties(replica, this.env.FEED_ARCHIVE, tokenTenantIds(replica.state), Date.now(), this.feedRetentionMs(), ARCHIVE_DELAY_MS);
    if (feedAgain !== undefined) await this.scheduleAt(feedAgain);
    await this.backups(replica).catch((e: unknown) => console.error('backup duties failed', e instanceof Error ? e.message : String(e)));
    // After the other duties: none of them runs for a tenant once its deletion marker is committed.
    const purge = await purgeDeletedTenants(replica, { backups: this.env.BACKUPS, archive: this.env.FEED_ARCHIVE, purgeObjects: (tid) => purgeTenantObjects(this.env, replica.meta.cell, replica.meta.region, replica.meta.regions, tid) });
    if (purge !== undefined) await this.scheduleAt(Date.now() + (purge === 'now' ? 50 : 60_000));
    const behind = await replica.pushAll();
    if (behind.length > 0) {
      this.pushFailures = Math.min(this.pushFailures + 1, RETRY_BACKOFF_MS.length - 1);
      await this.schedulePush(RETRY_BACKOFF_MS[this.pushFailures]!);
    } else {
      this.pushFailures = 0;
    }
    const next = this.store.nextExpiry();
    if (next !== undefined) await this.scheduleAt(Math.max(next, Date.now() + 1000));
    this.notifyIdentityStore();
  }

  /** After an eviction the alarm may run before any call: rebuild from persisted metadata. */
  private reopen(): Replica | undefined {
    const meta = this.store.loadMeta();
    if (meta === undefined) return undefined;
    return this.open({ cell: meta.cell, region: meta.region, regions: meta.regions, voters: meta.voters, primaryRegion: meta.primaryRegion, epoch: meta.epoch });
  }
}
