import { DurableObject } from 'cloudflare:workers';
import type { Placement } from '../core/placement.js';
import { DEFAULT_PLACEMENT, placeTenant } from '../core/placement.js';
import type { Region } from '../core/regions.js';
import { parseRegionList, regionsFrom } from '../core/regions.js';
import { IDEMPOTENCY_TTL_MS } from '../core/idempotency.js';
import type { HealthState } from '../core/replication/health.js';
import { HEALTHY, observe } from '../core/replication/health.js';
import { probeCell, watchCell } from '../core/replication/detector.js';
import type { WatchOutcome } from './cell-watch.js';
import { cellTransport, healthConfig, observeFrom, watchDeps } from './cell-watch.js';
import type { ObserverVote } from '../core/replication/observers.js';
import type { Membership, MembershipChange } from '../core/replication/membership.js';
import { DEFAULT_VOTERS, foundingVoters } from '../core/replication/membership.js';
import { incidentKey, type Incident } from '../core/health/incidents.js';
import { IncidentOutbox } from './incident-outbox.js';
import type { ControlChanges, ControlCursor } from './control-replica.js';
import { CONTROL_SYNC_TIMEOUT_MS, controlRegionOf, controlStub, pokeReplicas, pullFromPrimary, ReplicaMeta, syncIntervalMs } from './control-replica.js';
import { crossCall } from '../workers/platform/faults.js';
import type { CellRecord, Confirmed, TenantRecord } from './control-records.js';

export type MembersError = 'not_found' | 'invalid' | 'in_flight' | 'unavailable';

/** A change is two log commits at most (a replacement); each is bounded by the peer timeout. */
const MEMBERS_TIMEOUT_MS = 10_000;

/** Voters of a new cell: `CELL_VOTERS` (3 by default, 5 configurable), never more than its regions. */
function cellVoters(env: Env): number {
  const n = Number(env.CELL_VOTERS ?? DEFAULT_VOTERS);
  return Number.isInteger(n) && n >= 1 ? n : DEFAULT_VOTERS;
}

export type { CellRecord, Confirmed, TenantRecord } from './control-records.js';

/**
 * The tenant → cell map and each cell's current primary. Small, rarely written, and cached by
 * every edge isolate; it is not on the path of directory reads or writes once cached. The
 * object named `global` (in the control region) is the primary; `replica:{region}` objects are
 * its read copies and stand-in failure detectors (control-replica.ts).
 */
export class ControlPlane extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** One detection/failover per cell at a time; concurrent callers share it. */
  private readonly watching = new Map<string, Promise<Confirmed | undefined>>();
  /** What the alarm's probes saw of each cell's primary (volatile: a restart starts healthy). */
  private readonly health = new Map<string, HealthState>();
  /** Cells with a membership change in flight (volatile: the primary's log is the real guard). */
  private readonly changing = new Set<string>();
  /** Failovers to tell every tenant of the cell (health alerts, issue 16). */
  private readonly incidents: IncidentOutbox;
  /** A replica's region and pull cursor (absent region: this is the primary). */
  private readonly meta: ReplicaMeta;
  /** The primary poked every replica since it started (so replicas of an older deployment start their alarms). */
  private pokedReplicas = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS cells (id TEXT PRIMARY KEY, home_region TEXT NOT NULL, regions TEXT NOT NULL,
      primary_region TEXT NOT NULL, epoch INTEGER NOT NULL, tenants INTEGER NOT NULL DEFAULT 0)`);
    // Cells created before voters existed have every region voting (NULL voters), as their replicas do.
    const columns = this.sql.exec<{ name: string }>(`PRAGMA table_info(cells)`).toArray().map((c) => c.name);
    if (!columns.includes('voters')) this.sql.exec(`ALTER TABLE cells ADD COLUMN voters TEXT`);
    if (!columns.includes('members_version')) this.sql.exec(`ALTER TABLE cells ADD COLUMN members_version INTEGER NOT NULL DEFAULT 0`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, display_name TEXT NOT NULL, cell TEXT NOT NULL,
      status TEXT NOT NULL, domain TEXT UNIQUE, created_at INTEGER NOT NULL)`);
    // Replicas pull active tenants in (rev, id) order; rows from before replicas existed have rev 0.
    if (!this.sql.exec<{ name: string }>(`PRAGMA table_info(tenants)`).toArray().some((c) => c.name === 'rev')) {
      this.sql.exec(`ALTER TABLE tenants ADD COLUMN rev INTEGER NOT NULL DEFAULT 0`);
    }
    this.sql.exec(`CREATE INDEX IF NOT EXISTS tenants_by_rev ON tenants (rev, id)`);
    this.meta = new ReplicaMeta(this.sql);
    this.incidents = new IncidentOutbox(this.sql, env, (cell, after, limit) =>
      this.sql.exec<{ id: string }>(`SELECT id FROM tenants WHERE cell = ? AND status = 'active' AND id > ? ORDER BY id LIMIT ?`, cell, after, limit).toArray().map((r) => r.id));
    this.sql.exec(`CREATE TABLE IF NOT EXISTS tenant_requests (id TEXT PRIMARY KEY, body_hash TEXT NOT NULL, tenant_id TEXT NOT NULL,
      sealed TEXT, created_at INTEGER NOT NULL)`);
  }

  /**
   * Reserves a tenant in a cell (placement); it becomes visible once `activateTenant` runs.
   * `request`: the call's idempotency ticket (core/idempotency.ts): a retry of a request seen in
   * the last 24 h gets that request's tenant back (`prior`) instead of a second tenant.
   */
  reserveTenant(input: { id: string; displayName: string; homeRegion: Region; domain: string | null; now: number; request?: { id: string; bodyHash: string } }):
    | { tenant: TenantRecord; cell: CellRecord }
    | { conflict: string }
    | { prior: { tenantId: string; status: TenantRecord['status']; sealed: string | null; createdAt: number } } {
    return this.ctx.storage.transactionSync(() => {
      const req = input.request;
      if (req !== undefined) {
        this.sql.exec(`DELETE FROM tenant_requests WHERE created_at <= ?`, input.now - IDEMPOTENCY_TTL_MS);
        const row = this.sql.exec<{ body_hash: string; tenant_id: string; sealed: string | null; created_at: number }>(`SELECT * FROM tenant_requests WHERE id = ?`, req.id).toArray()[0];
        const earlier = row === undefined ? undefined : this.tenantRow(row.tenant_id);
        if (row !== undefined && row.body_hash !== req.bodyHash) return { conflict: 'key_reused' };
        if (row !== undefined && earlier !== undefined) return { prior: { tenantId: earlier.id, status: earlier.status, sealed: row.sealed, createdAt: row.created_at } };
      }
      if (input.domain !== null && this.sql.exec(`SELECT 1 FROM tenants WHERE domain = ?`, input.domain).toArray().length > 0) {
        return { conflict: 'domain' };
      }
      const cells = this.cells();
      const placement: Placement = placeTenant(
        cells.map((c) => ({ id: c.id, homeRegion: c.homeRegion, tenants: c.tenants })),
        input.homeRegion,
        { maxShare: Number(this.env.CELL_MAX_SHARE ?? DEFAULT_PLACEMENT.maxShare), minCellCapacity: Number(this.env.CELL_MIN_CAPACITY ?? DEFAULT_PLACEMENT.minCellCapacity) },
      );
      let cellId: string;
      if (placement.kind === 'new') {
        cellId = `cell-${String(cells.length + 1).padStart(4, '0')}`;
        const regions = regionsFrom(placement.homeRegion, parseRegionList(this.env.REGIONS));
        const voters = foundingVoters(regions, cellVoters(this.env));
        this.sql.exec(`INSERT INTO cells (id, home_region, regions, voters, primary_region, epoch, tenants) VALUES (?, ?, ?, ?, ?, 1, 0)`,
          cellId, placement.homeRegion, JSON.stringify(regions), JSON.stringify(voters), placement.homeRegion);
      } else {
        cellId = placement.cellId;
      }
      this.sql.exec(`UPDATE cells SET tenants = tenants + 1 WHERE id = ?`, cellId);
      if (placement.kind === 'new') void this.ctx.storage.setAlarm(Date.now() + healthConfig(this.env).probeIntervalMs);
      this.sql.exec(`INSERT INTO tenants (id, display_name, cell, status, domain, created_at) VALUES (?, ?, ?, 'provisioning', ?, ?)`,
        input.id, input.displayName, cellId, input.domain, input.now);
      if (req !== undefined) this.sql.exec(`INSERT OR REPLACE INTO tenant_requests (id, body_hash, tenant_id, sealed, created_at) VALUES (?, ?, ?, NULL, ?)`, req.id, req.bodyHash, input.id, input.now);
      return { tenant: this.tenantRow(input.id)!, cell: this.cell(cellId)! };
    });
  }

  /** Keeps the sealed reply of a tenant creation for its retries (10 min; the secret box seals it). */
  rememberTenantReply(requestId: string, sealed: string): void {
    this.sql.exec(`UPDATE tenant_requests SET sealed = ? WHERE id = ?`, sealed, requestId);
  }

  activateTenant(id: string): void {
    this.sql.exec(`UPDATE tenants SET status = 'active', rev = (SELECT COALESCE(MAX(rev), 0) + 1 FROM tenants) WHERE id = ?`, id);
    this.ctx.waitUntil(pokeReplicas(this.env));
  }

  /** The primary's changes after `after`, for a replica's pull: every cell, and a page of active and deleted tenants. */
  changesSince(after: ControlCursor, limit: number): ControlChanges {
    const rows = this.sql
      .exec<{ id: string; rev: number }>(`SELECT id, rev FROM tenants WHERE status IN ('active', 'deleted') AND (rev, id) > (?, ?) ORDER BY rev, id LIMIT ?`, after.rev, after.id, limit + 1)
      .toArray();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { cells: this.cells(), tenants: page.map((r) => this.tenantRow(r.id)!), next: last === undefined ? after : { rev: last.rev, id: last.id }, more: rows.length > limit };
  }

  /** For `GET /admin/control`: this copy's role and how far it is (a replica has every tenant up to `rev`). */
  summary(): { role: 'primary' | 'replica'; tenants: number; cells: number; rev: number } {
    const tenants = this.sql.exec<{ n: number; rev: number | null }>(`SELECT SUM(status = 'active') AS n, MAX(rev) AS rev FROM tenants`).toArray()[0]!;
    const cells = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM cells`).toArray()[0]!.n;
    const replica = this.meta.region() !== undefined;
    return { role: replica ? 'replica' : 'primary', tenants: tenants.n ?? 0, cells, rev: replica ? this.meta.cursor().rev : (tenants.rev ?? 0) };
  }

  /** Makes this object the read copy of `region` (idempotent) and has it pull now. */
  async replicate(region: string): Promise<void> {
    this.meta.becomeReplica(region);
    const at = await this.ctx.storage.getAlarm();
    if (at === null || at > Date.now() + 50) await this.ctx.storage.setAlarm(Date.now());
  }

  /** Undoes a reservation whose provisioning write could not be made durable. */
  abandonTenant(id: string): void {
    this.ctx.storage.transactionSync(() => {
      const t = this.tenantRow(id);
      if (t === undefined || t.status !== 'provisioning') return;
      this.sql.exec(`DELETE FROM tenants WHERE id = ?`, id);
      this.sql.exec(`DELETE FROM tenant_requests WHERE tenant_id = ?`, id); // a retry may try again
      this.sql.exec(`UPDATE cells SET tenants = tenants - 1 WHERE id = ?`, t.cell);
    });
  }

  /**
   * `DELETE /admin/tenants/{id}`: hides the tenant at once (`lookup` answers only active ones),
   * releases its domain and its place in the cell's count. A repeat returns the same record;
   * a tenant still being provisioned is refused (its creation would activate it again).
   */
  markTenantDeleted(id: string): { tenant: TenantRecord; cell: CellRecord } | { conflict: 'provisioning' } | null {
    return this.ctx.storage.transactionSync(() => {
      const t = this.tenantRow(id);
      if (t === undefined) return null;
      if (t.status === 'provisioning') return { conflict: 'provisioning' as const };
      if (t.status === 'active') {
        // A new rev ships the tombstone to the read copies, which then stop answering for it.
        this.sql.exec(`UPDATE tenants SET status = 'deleted', domain = NULL, rev = (SELECT COALESCE(MAX(rev), 0) + 1 FROM tenants) WHERE id = ?`, id);
        this.sql.exec(`UPDATE cells SET tenants = tenants - 1 WHERE id = ?`, t.cell);
        this.ctx.waitUntil(pokeReplicas(this.env));
      }
      return { tenant: this.tenantRow(id)!, cell: this.cell(t.cell)! };
    });
  }

  /** An active tenant by id or verified domain, with its cell. */
  lookup(idOrDomain: string): { tenant: TenantRecord; cell: CellRecord } | null {
    const row = this.sql
      .exec<{ id: string }>(`SELECT id FROM tenants WHERE (id = ? OR domain = ?) AND status = 'active'`, idOrDomain, idOrDomain.toLowerCase())
      .toArray()[0];
    if (row === undefined) return null;
    const tenant = this.tenantRow(row.id)!;
    return { tenant, cell: this.cell(tenant.cell)! };
  }

  cells(): CellRecord[] {
    return this.sql.exec<{ id: string }>(`SELECT id FROM cells ORDER BY id`).toArray().map((r) => this.cell(r.id)!);
  }

  cell(id: string): CellRecord | undefined {
    const r = this.sql
      .exec<{ id: string; home_region: string; regions: string; voters: string | null; members_version: number; primary_region: string; epoch: number; tenants: number }>(
        `SELECT * FROM cells WHERE id = ?`,
        id,
      )
      .toArray()[0];
    if (r === undefined) return undefined;
    const regions = JSON.parse(r.regions) as Region[];
    const voters = r.voters === null ? regions : (JSON.parse(r.voters) as Region[]);
    return { id: r.id, homeRegion: r.home_region as Region, regions, voters, membersVersion: r.members_version, primaryRegion: r.primary_region as Region, epoch: r.epoch, tenants: r.tenants };
  }

  /**
   * Records a cell's new primary after a failover; older epochs never overwrite newer ones. A
   * change of primary is put in the incident outbox in the same transaction (a `cellFailover`
   * health alert for each tenant of the cell) and told at once; the alarm retries what is left.
   */
  setPrimary(cellId: string, primaryRegion: Region, epoch: number, planned = false): CellRecord | undefined {
    const primary = this.meta.region() === undefined;
    const moved = this.ctx.storage.transactionSync(() => {
      const before = this.cell(cellId);
      if (before === undefined || before.epoch >= epoch) return false;
      this.sql.exec(`UPDATE cells SET primary_region = ?, epoch = ? WHERE id = ? AND epoch < ?`, primaryRegion, epoch, cellId, epoch);
      if (primary) this.ctx.waitUntil(pokeReplicas(this.env));
      // A replica's failover reaches the primary's outbox when it tells the primary (pullFromPrimary).
      if (before.primaryRegion === primaryRegion || !primary) return false;
      const incident: Incident = { type: 'cellFailover', cellId, fromRegion: before.primaryRegion, toRegion: primaryRegion, epoch, planned, at: Date.now() };
      this.incidents.record(incidentKey(incident), incident);
      return true;
    });
    if (moved) this.ctx.waitUntil(this.incidents.drain(Date.now()));
    return this.cell(cellId);
  }

  private tenantRow(id: string): TenantRecord | undefined {
    const r = this.sql
      .exec<{ id: string; display_name: string; cell: string; status: string; domain: string | null; created_at: number }>(`SELECT * FROM tenants WHERE id = ?`, id)
      .toArray()[0];
    if (r === undefined) return undefined;
    return { id: r.id, displayName: r.display_name, cell: r.cell, status: r.status as TenantRecord['status'], domain: r.domain, createdAt: r.created_at };
  }

  /**
   * Called when a cell's primary did not answer a write: probes it and, once it is declared
   * lost, promotes the most up-to-date out-of-region replica under a new epoch. Returns the
   * cell as it now stands.
   */
  async ensurePrimary(cellId: string): Promise<Confirmed | undefined> {
    const running = this.watching.get(cellId);
    if (running !== undefined) return running;
    const cell = this.cell(cellId);
    if (cell === undefined) return undefined;
    const config = healthConfig(this.env);
    const job = watchCell({ ...watchDeps(this.env, cell, config, this.region()), recorded: () => this.cell(cellId) }, cell, this.health.get(cellId) ?? HEALTHY)
      .then((outcome) => this.record(cellId, outcome))
      .finally(() => {
        this.watching.delete(cellId);
        this.health.delete(cellId);
      });
    this.watching.set(cellId, job);
    return job;
  }

  /**
   * Observer of `region` (core/replication/observers.ts): a watcher that declared `cell`'s primary
   * lost asks whether it is unreachable from here too, before any failover. One probe from
   * `region` (named by the caller: this copy may never have been told its region), under the
   * probe's timeout; the caller's call to it goes through the fault boundary.
   */
  confirmLost(region: string, cell: CellRecord): Promise<ObserverVote> {
    return observeFrom(this.env, cell, region);
  }

  /** Planned failover: the primary hands the cell to `region` after syncing it (no write lost). */
  async movePrimary(cellId: string, region: Region): Promise<{ cell: CellRecord } | { error: string }> {
    const cell = this.cell(cellId);
    if (cell === undefined) return { error: 'no such cell' };
    if (!cell.voters.includes(region)) return { error: 'region holds no voting replica of this cell' };
    if (cell.primaryRegion === region) return { cell };
    const reply = await cellTransport(this.env, cell).send(cell.primaryRegion, { kind: 'handoff', targetRegion: region }).catch(() => undefined);
    if (reply?.kind !== 'handed_off') return { error: reply?.kind === 'handoff_failed' ? `handoff failed: ${reply.reason}` : 'primary unreachable' };
    return { cell: this.setPrimary(cellId, reply.primaryRegion as Region, reply.epoch, true)! };
  }

  /**
   * `POST /admin/cells/{cell}/members`: the primary changes the membership through the log, one
   * single-step change at a time (core/replication/membership.ts). One change per cell at a time
   * from here too: a second request while one runs is refused (`in_flight`), never queued.
   */
  async changeMembers(cellId: string, change: MembershipChange): Promise<{ cell: CellRecord } | { error: MembersError; detail: string }> {
    const cell = this.cell(cellId);
    if (cell === undefined) return { error: 'not_found', detail: 'No such cell.' };
    if (this.changing.has(cellId)) return { error: 'in_flight', detail: 'A membership change of this cell is already in flight.' };
    this.changing.add(cellId);
    try {
      const send = (region: string) => cellTransport(this.env, cell, MEMBERS_TIMEOUT_MS).send(region, { kind: 'members', change }).catch(() => undefined);
      let reply = await send(cell.primaryRegion);
      // This record may be behind a failover a control copy ran while this object was unreachable
      // (it hears of it at the copy's next pull): follow the primary the refusal names, once.
      if (reply?.kind === 'members_refused' && reply.reason === 'not_primary' && reply.primaryRegion !== cell.primaryRegion) reply = await send(reply.primaryRegion);
      if (reply?.kind === 'members_changed') return { cell: this.recordMembers(cellId, reply.members) };
      if (reply?.kind !== 'members_refused') return { error: 'unavailable', detail: 'The primary did not answer; the change may or may not have happened: repeat it.' };
      this.recordMembers(cellId, reply.members);
      if (reply.reason === 'invalid') return { error: 'invalid', detail: reply.detail ?? 'Invalid change.' };
      if (reply.reason === 'in_flight') return { error: 'in_flight', detail: 'Another membership change is in flight.' };
      return { error: 'unavailable', detail: `The change did not commit (${reply.reason}); repeat it.` };
    } finally {
      this.changing.delete(cellId);
    }
  }

  /** Records a membership the primary reported; an older version never overwrites a newer one. */
  private recordMembers(cellId: string, m: Membership): CellRecord {
    this.sql.exec(`UPDATE cells SET regions = ?, voters = ?, members_version = ? WHERE id = ? AND members_version < ?`, JSON.stringify(m.regions), JSON.stringify(m.voters), m.version, cellId, m.version);
    this.ctx.waitUntil(pokeReplicas(this.env));
    return this.cell(cellId)!;
  }

  /**
   * Probes every cell's primary on a timer, all at once (one after another, a few slow cells
   * would delay detection everywhere), so a loss is handled even without traffic. A failed
   * probe starts the cell's watch (core/replication/detector.ts), which decides and fails over.
   */
  override async alarm(): Promise<void> {
    const config = healthConfig(this.env);
    const replicaOf = this.meta.region();
    if (replicaOf !== undefined) {
      // A replica pulls; only while the primary is unreachable does it watch the cells itself.
      const reached = await pullFromPrimary(this.env, replicaOf, this.replicaSide());
      await this.ctx.storage.setAlarm(Date.now() + (reached ? syncIntervalMs(this.env) : config.probeIntervalMs));
      // Observations from an earlier outage must not shorten the next detection.
      if (reached) return this.health.clear();
    } else {
      if (this.cells().length > 0) await this.ctx.storage.setAlarm(Date.now() + config.probeIntervalMs);
      if (this.incidents.pending() > 0) this.ctx.waitUntil(this.incidents.drain(Date.now()));
      if (!this.pokedReplicas) {
        this.pokedReplicas = true;
        this.ctx.waitUntil(pokeReplicas(this.env));
      }
    }
    await this.probeAll(config);
  }

  /** The region this object's calls leave from: its own as a replica, the control region as the primary. */
  private region(): string {
    return this.meta.region() ?? controlRegionOf(this.env);
  }

  private replicaSide() {
    return {
      meta: this.meta,
      cell: (id: string) => this.cell(id),
      putCell: (c: CellRecord) =>
        this.sql.exec(`INSERT OR REPLACE INTO cells (id, home_region, regions, voters, members_version, primary_region, epoch, tenants) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          c.id, c.homeRegion, JSON.stringify(c.regions), JSON.stringify(c.voters), c.membersVersion, c.primaryRegion, c.epoch, c.tenants),
      putTenants: (ts: TenantRecord[]) => {
        for (const t of ts) {
          this.sql.exec(`INSERT OR REPLACE INTO tenants (id, display_name, cell, status, domain, created_at) VALUES (?, ?, ?, ?, ?, ?)`, t.id, t.displayName, t.cell, t.status, t.domain, t.createdAt);
        }
      },
    };
  }

  private async probeAll(config: ReturnType<typeof healthConfig>): Promise<void> {
    const cells = this.cells();
    await Promise.all(
      cells
        .filter((cell) => !this.watching.has(cell.id))
        .map(async (cell) => {
          const deps = watchDeps(this.env, cell, config, this.region());
          const sentAt = Date.now();
          const verdict = await probeCell(deps, cell);
          this.health.set(cell.id, observe(this.health.get(cell.id) ?? HEALTHY, { sentAt, ok: verdict.kind === 'ok' }));
          if (verdict.kind === 'failed') void this.ensurePrimary(cell.id);
        }),
    );
  }

  private record(cellId: string, outcome: WatchOutcome): Confirmed | undefined {
    if (outcome.kind !== 'moved') {
      const now = this.cell(cellId);
      return now === undefined ? undefined : { cell: now, verdict: outcome.kind };
    }
    const cell = this.setPrimary(cellId, outcome.region as Region, outcome.epoch);
    const from = this.meta.region();
    if (from !== undefined) {
      // A replica tells the primary at once if it can; its next pull retries otherwise.
      const primary = controlStub(this.env, { kind: 'primary', region: controlRegionOf(this.env) });
      this.ctx.waitUntil(crossCall(from, controlRegionOf(this.env), CONTROL_SYNC_TIMEOUT_MS, () => primary.setPrimary(cellId, outcome.region as Region, outcome.epoch)).catch(() => undefined));
    }
    return cell === undefined ? undefined : { cell, verdict: 'moved' };
  }
}
