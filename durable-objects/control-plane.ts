import { DurableObject } from 'cloudflare:workers';
import type { Region } from '../core/regions.js';
import type { HealthState } from '../core/replication/health.js';
import { HEALTHY, observe } from '../core/replication/health.js';
import { probeCell, watchCell } from '../core/replication/detector.js';
import type { WatchOutcome } from './cell-watch.js';
import { cellTransport, healthConfig, observeFrom, topology, watchDeps } from './cell-watch.js';
import type { ObserverVote } from '../core/replication/observers.js';
import type { Membership, MembershipChange } from '../core/replication/membership.js';
import { cellFailoverIncident, incidentKey } from '../core/health/incidents.js';
import { IncidentOutbox } from './incident-outbox.js';
import type { ControlSource, CopyAnswer } from '../core/control/lookup.js';
import { CONTROL_CELL } from '../core/control/control-cell.js';
import type { ControlOp } from '../core/control/plans.js';
import type { CellPlacement } from '../core/control/state.js';
import { CONTROL_SYNC_TIMEOUT_MS, controlRegionOf, controlStub, pokeReplicas, pullFromPrimary, ReplicaMeta, syncIntervalMs } from './control-replica.js';
import { controlCellRecord, type ControlOutcome } from './control-cell.js';
import { placementRecord, TenantCache } from './control-tenants.js';
import { replicaStub } from './replica-protocol.js';
import { routeToPrimary } from '../core/replication/primary-routing.js';
import { crossCall } from '../workers/platform/faults.js';
import type { CellRecord, Confirmed, TenantRecord } from './control-records.js';

export type MembersError = 'not_found' | 'invalid' | 'in_flight' | 'unavailable';

/** A change is two log commits at most (a replacement); each is bounded by the peer timeout. */
const MEMBERS_TIMEOUT_MS = 10_000;

/** A lookup miss pulls once under this (the edge gives up on a copy after 1.5 s). */
const LOOKUP_PULL_TIMEOUT_MS = 800;

export type { CellRecord, Confirmed, TenantRecord } from './control-records.js';

/**
 * A control copy: the tenant → cell map and each cell's current primary, cached by every edge
 * isolate; it is not on the path of directory reads or writes once cached. Tenants and cell
 * placements are a cache of the control cell (control-tenants.ts), which holds them replicated;
 * primaries, epochs and membership are soft state kept here. The object named `global` (in the
 * control region) is the primary of that soft state and the watcher of every cell, the control
 * cell included; `replica:{region}` objects are its read copies and stand-in failure detectors
 * (control-replica.ts).
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
    // A copy's planned handoffs, so that `global`, told at the copy's next pull, alerts them as planned.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS cp_planned (cell TEXT PRIMARY KEY, epoch INTEGER NOT NULL)`);
    this.meta = new ReplicaMeta(this.sql);
    const sql = this.sql;
    this.tenants = new TenantCache({
      sql,
      env,
      meta: this.meta,
      region: () => this.region(),
      cell: (id) => this.cell(id),
      learnCell: (p) => this.learnCell(p),
      transact: (fn) => ctx.storage.transactionSync(fn),
    });
    this.incidents = new IncidentOutbox(this.sql, env, (cell, after, limit) => this.tenants.activeIn(cell, after, limit));
    // Every copy knows the control cell from configuration, so it is watched and failed over like any cell.
    const ctl = controlCellRecord(env);
    this.sql.exec(`INSERT OR IGNORE INTO cells (id, home_region, regions, voters, members_version, primary_region, epoch, tenants) VALUES (?, ?, ?, ?, 0, ?, 1, 0)`,
      ctl.id, ctl.homeRegion, JSON.stringify(ctl.regions), JSON.stringify(ctl.voters), ctl.primaryRegion);
  }

  /** Tenants and cell placements: a cache of the control cell (control-tenants.ts). */
  private readonly tenants: TenantCache;
  /** When `global`'s alarm last pulled the control cell. */
  private pulledAt = 0;

  /**
   * An edge changed the control cell (a tenant created or deleted at `pos`): pull up to there now.
   * `as`: which copy this object is (a replica learns its region here if it was never told).
   */
  async syncControl(as: ControlSource, pos: number): Promise<boolean> {
    if (as.kind === 'replica') this.meta.becomeReplica(as.region);
    const at = await this.ctx.storage.getAlarm();
    if (at === null) await this.ctx.storage.setAlarm(Date.now() + healthConfig(this.env).probeIntervalMs);
    return (await this.tenants.pull(pos)).ok;
  }

  /** `global`: writes its tables from before the control cell into it (the edge asks when a reservation finds them missing). */
  importIntoControl(): Promise<boolean> {
    return this.tenants.importLegacy((op) => this.controlWrite(op));
  }

  /** A control write from this object, at the control cell's primary as this copy knows it (following a moved primary). */
  private async controlWrite(op: ControlOp): Promise<ControlOutcome | undefined> {
    const from = this.region();
    const routed = await routeToPrimary<CellRecord, ControlOutcome>(
      {
        now: () => Date.now(),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        lookup: async () => this.cell(CONTROL_CELL)!,
        call: (cell) =>
          crossCall(from, cell.primaryRegion, 10_000, () =>
            replicaStub(this.env, CONTROL_CELL, cell.primaryRegion).control(topology(cell, cell.primaryRegion), op),
          ),
        ensurePrimary: async () => undefined,
        notePrimary: (_, newer) => void this.setPrimary(CONTROL_CELL, newer.primaryRegion as Region, newer.epoch),
      },
      5_000,
    );
    return routed.outcome.kind === 'reply' ? routed.outcome : undefined;
  }

  /** Records a cell placement pulled from the control cell: a new cell with its founding primary, or a new tenant count. */
  private learnCell(p: CellPlacement): void {
    const r = placementRecord(p);
    this.sql.exec(`INSERT OR IGNORE INTO cells (id, home_region, regions, voters, members_version, primary_region, epoch, tenants) VALUES (?, ?, ?, ?, 0, ?, 1, ?)`,
      r.id, r.homeRegion, JSON.stringify(r.regions), JSON.stringify(r.voters), r.primaryRegion, r.tenants);
    this.sql.exec(`UPDATE cells SET tenants = ? WHERE id = ?`, r.tenants, r.id);
  }

  /** For `GET /admin/control`: this copy's role and how far it is (a replica has every tenant up to `rev`). */
  summary(): { role: 'primary' | 'replica'; tenants: number; cells: number; rev: number } {
    const cells = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM cells`).toArray()[0]!.n;
    return { role: this.meta.region() !== undefined ? 'replica' : 'primary', cells, ...this.tenants.summary() };
  }

  /** Makes this object the read copy of `region` (idempotent) and has it pull now. */
  async replicate(region: string): Promise<void> {
    this.meta.becomeReplica(region);
    const at = await this.ctx.storage.getAlarm();
    if (at === null || at > Date.now() + 50) await this.ctx.storage.setAlarm(Date.now());
  }

  /**
   * An active tenant by id or verified domain, with its cell, or its tombstone (final: ids are never
   * reused); a tenant this copy has no row for is pulled once first, and "unknown" is final only if
   * that pull read a control-cell replica holding everything committed (core/control/lookup.ts).
   */
  async lookup(idOrDomain: string): Promise<CopyAnswer<{ tenant: TenantRecord; cell: CellRecord }>> {
    let tenant = this.tenants.find(idOrDomain);
    let final = false;
    if (tenant === undefined) {
      const pulled = await this.tenants.pull(0, LOOKUP_PULL_TIMEOUT_MS, true);
      final = pulled.final;
      if (pulled.ok) tenant = this.tenants.find(idOrDomain);
    }
    if (tenant?.status === 'deleted') return { kind: 'deleted' };
    const cell = tenant?.status === 'active' ? this.cell(tenant.cell) : undefined;
    if (tenant !== undefined && cell !== undefined) return { kind: 'found', value: { tenant, cell } };
    return { kind: 'unknown', final: tenant === undefined && final };
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
      const incident = primary ? cellFailoverIncident(cellId, before, { primaryRegion, epoch }, planned, Date.now()) : undefined;
      if (incident === undefined) return false;
      this.incidents.record(incidentKey(incident), incident);
      return true;
    });
    if (moved) this.ctx.waitUntil(this.incidents.drain(Date.now()));
    return this.cell(cellId);
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

  /**
   * Planned failover: the cell's primary hands the cell to `region` after syncing it (no write
   * lost). Run by `global`, or by a copy while it is unreachable (which tells `global` on its next pull).
   */
  async movePrimary(cellId: string, region: Region): Promise<{ cell: CellRecord } | { error: string }> {
    const cell = this.cell(cellId);
    if (cell === undefined) return { error: 'no such cell' };
    if (!cell.voters.includes(region)) return { error: 'region holds no voting replica of this cell' };
    if (cell.primaryRegion === region) return { cell };
    const reply = await cellTransport(this.env, cell, undefined, this.region()).send(cell.primaryRegion, { kind: 'handoff', targetRegion: region }).catch(() => undefined);
    if (reply?.kind !== 'handed_off') return { error: reply?.kind === 'handoff_failed' ? `handoff failed: ${reply.reason}` : 'primary unreachable' };
    if (this.meta.region() !== undefined) this.sql.exec(`INSERT OR REPLACE INTO cp_planned (cell, epoch) VALUES (?, ?)`, cellId, reply.epoch);
    return { cell: this.setPrimary(cellId, reply.primaryRegion as Region, reply.epoch, true)! };
  }

  /**
   * `POST /admin/cells/{cell}/members` (run by `global`, or by a copy while `global` is
   * unreachable: the work is at the cell's primary): the primary changes the membership through the log, one
   * single-step change at a time (core/replication/membership.ts). One change per cell at a time
   * from here too: a second request while one runs is refused (`in_flight`), never queued.
   */
  async changeMembers(cellId: string, change: MembershipChange): Promise<{ cell: CellRecord } | { error: MembersError; detail: string }> {
    const cell = this.cell(cellId);
    if (cell === undefined) return { error: 'not_found', detail: 'No such cell.' };
    if (this.changing.has(cellId)) return { error: 'in_flight', detail: 'A membership change of this cell is already in flight.' };
    this.changing.add(cellId);
    try {
      const send = (region: string) => cellTransport(this.env, cell, MEMBERS_TIMEOUT_MS, this.region()).send(region, { kind: 'members', change }).catch(() => undefined);
      let reply = await send(cell.primaryRegion);
      // This record may be behind a failover a control copy ran while this object was unreachable
      // (it hears of it at the copy's next pull): follow the primary the refusal names, once.
      if (reply?.kind === 'members_refused' && reply.reason === 'not_primary' && reply.primaryRegion !== cell.primaryRegion) reply = await send(reply.primaryRegion);
      if (reply?.kind === 'members_changed') return { cell: this.recordMembers(cellId, reply.members)! };
      if (reply?.kind !== 'members_refused') return { error: 'unavailable', detail: 'The primary did not answer; the change may or may not have happened: repeat it.' };
      this.recordMembers(cellId, reply.members);
      if (reply.reason === 'invalid') return { error: 'invalid', detail: reply.detail ?? 'Invalid change.' };
      if (reply.reason === 'in_flight') return { error: 'in_flight', detail: 'Another membership change is in flight.' };
      return { error: 'unavailable', detail: `The change did not commit (${reply.reason}); repeat it.` };
    } finally {
      this.changing.delete(cellId);
    }
  }

  /**
   * Records a membership a cell's primary reported (here, or at a copy that ran the change while
   * this object was unreachable: its pull pushes it back); an older version never overwrites a newer one.
   */
  recordMembers(cellId: string, m: Membership): CellRecord | undefined {
    this.sql.exec(`UPDATE cells SET regions = ?, voters = ?, members_version = ? WHERE id = ? AND members_version < ?`, JSON.stringify(m.regions), JSON.stringify(m.voters), m.version, cellId, m.version);
    if (this.meta.region() === undefined) this.ctx.waitUntil(pokeReplicas(this.env));
    return this.cell(cellId);
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
      // Tenants come from the control cell's replica here, in the background: a slow one must not delay detection.
      this.ctx.waitUntil(this.tenants.pull());
      await this.ctx.storage.setAlarm(Date.now() + (reached ? syncIntervalMs(this.env) : config.probeIntervalMs));
      // Observations from an earlier outage must not shorten the next detection.
      if (reached) return this.health.clear();
    } else {
      await this.ctx.storage.setAlarm(Date.now() + config.probeIntervalMs);
      // The probe interval is short; the tenant pull (edges poke it after each change) runs at the sync interval, in the background.
      if (Date.now() - this.pulledAt >= syncIntervalMs(this.env)) {
        this.pulledAt = Date.now();
        this.ctx.waitUntil(this.tenants.pull().then(() => this.importIntoControl()).catch(() => undefined));
      }
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

  /** Whether this copy ran, or found, a planned handoff of the cell to `epoch`. */
  private plannedHere(cellId: string, epoch: number): boolean {
    return this.sql.exec(`SELECT 1 FROM cp_planned WHERE cell = ? AND epoch = ?`, cellId, epoch).toArray().length > 0;
  }

  private replicaSide() {
    return {
      meta: this.meta,
      cell: (id: string) => this.cell(id),
      planned: (id: string, epoch: number) => this.plannedHere(id, epoch),
      putCell: (c: CellRecord) =>
        this.sql.exec(`INSERT OR REPLACE INTO cells (id, home_region, regions, voters, members_version, primary_region, epoch, tenants) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          c.id, c.homeRegion, JSON.stringify(c.regions), JSON.stringify(c.voters), c.membersVersion, c.primaryRegion, c.epoch, c.tenants),
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
    // A watch that ends because this copy's record moved on (its own handoff) does not say how: cp_planned does.
    const planned = outcome.planned === true || this.plannedHere(cellId, outcome.epoch);
    const cell = this.setPrimary(cellId, outcome.region as Region, outcome.epoch, planned);
    const from = this.meta.region();
    if (from !== undefined) {
      if (planned) this.sql.exec(`INSERT OR REPLACE INTO cp_planned (cell, epoch) VALUES (?, ?)`, cellId, outcome.epoch);
      // A replica tells the primary at once if it can; its next pull retries otherwise.
      const primary = controlStub(this.env, { kind: 'primary', region: controlRegionOf(this.env) });
      this.ctx.waitUntil(crossCall(from, controlRegionOf(this.env), CONTROL_SYNC_TIMEOUT_MS, () => primary.setPrimary(cellId, outcome.region as Region, outcome.epoch, planned)).catch(() => undefined));
    }
    return cell === undefined ? undefined : { cell, verdict: 'moved' };
  }
}
