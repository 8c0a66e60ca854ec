import type { ControlSource } from '../core/control/lookup.js';
import { controlRegion, mergeCell } from '../core/control/lookup.js';
import { parseRegionList } from '../core/regions.js';
import { crossCall } from '../workers/platform/faults.js';
import type { CellRecord, ControlPlane } from './control-plane.js';
import { idByName } from './object-ids.js';

/**
 * The control plane's read copies (issue 11): one ControlPlane object per region, named
 * `replica:{region}`, holding every cell as the primary (`global`, in the control region) last
 * told them, and the tenants as the control cell's replica in its region holds them
 * (control-tenants.ts). A copy pulls on its alarm (the primary and the edge poke it after each
 * change); edges read a copy when the primary does not
 * answer; and while a copy cannot reach the primary it probes the cells' primaries itself and
 * fails a lost one over with the same fenced promotion (core/replication/detector.ts), then
 * tells the primary the new primary once it can (a higher epoch always wins: `mergeCell`).
 */

/** One pull or push between a copy and the primary. */
export const CONTROL_SYNC_TIMEOUT_MS = 2_000;
export const TENANT_PAGE = 500;
const DEFAULT_SYNC_MS = 2_000;

export function controlRegionOf(env: Env): string {
  return controlRegion(env.CONTROL_REGION, parseRegionList(env.REGIONS));
}

export function controlStub(env: Env, source: ControlSource): DurableObjectStub<ControlPlane> {
  return env.CONTROL.get(idByName(env.CONTROL, source.kind === 'primary' ? 'global' : `replica:${source.region}`));
}

export function syncIntervalMs(env: Env): number {
  const ms = Number(env.CONTROL_SYNC_MS ?? DEFAULT_SYNC_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_SYNC_MS;
}

/** A replica's own bookkeeping (table `control_meta`): its region and its pull cursor. */
export class ReplicaMeta {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS control_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
  }

  /** Other bookkeeping of the copy: `ctl_rev` (its pull cursor in the control cell), `imported` (global: its old tables are in the control cell). */
  value(k: string): string | undefined {
    return this.sql.exec<{ v: string }>(`SELECT v FROM control_meta WHERE k = ?`, k).toArray()[0]?.v;
  }

  put(k: string, v: string): void {
    this.sql.exec(`INSERT OR REPLACE INTO control_meta (k, v) VALUES (?, ?)`, k, v);
  }

  private get(k: string): string | undefined {
    return this.value(k);
  }

  private set(k: string, v: string): void {
    this.put(k, v);
  }

  /** The region of this replica; undefined for the primary (which never has one). */
  region(): string | undefined {
    return this.get('region');
  }

  becomeReplica(region: string): void {
    if (this.region() === undefined) this.set('region', region);
  }

}

/** What a pull needs from the replica object it runs in. */
export interface ReplicaSide {
  readonly meta: ReplicaMeta;
  cell(id: string): CellRecord | undefined;
  /** Whether this copy's move of the cell's primary to `epoch` was a planned handoff (not a failover). */
  planned(id: string, epoch: number): boolean;
  /** Stores a merged cell record. */
  putCell(cell: CellRecord): void;
}

/**
 * Pulls the primary's cell records (primaries, epochs, membership: soft state; tenants come from
 * the control cell, control-tenants.ts) and pushes back every cell of which the replica knows a
 * newer primary or membership (a failover, handoff or membership change it ran while the primary
 * was unreachable). Returns false when the
 * primary could not be reached (the replica then observes the cells).
 */
export async function pullFromPrimary(env: Env, region: string, side: ReplicaSide): Promise<boolean> {
  const primary = controlStub(env, { kind: 'primary', region: controlRegionOf(env) });
  const control = controlRegionOf(env);
  try {
    const cells = await crossCall(region, control, CONTROL_SYNC_TIMEOUT_MS, () => primary.cells());
    for (const incoming of cells) {
      const local = side.cell(incoming.id);
      if (local !== undefined && local.epoch > incoming.epoch) {
        const planned = side.planned(local.id, local.epoch);
        await crossCall(region, control, CONTROL_SYNC_TIMEOUT_MS, () => primary.setPrimary(local.id, local.primaryRegion, local.epoch, planned));
      }
      // A membership change this copy ran while the primary was unreachable.
      if (local !== undefined && local.membersVersion > incoming.membersVersion) {
        const members = { version: local.membersVersion, regions: local.regions, voters: local.voters };
        await crossCall(region, control, CONTROL_SYNC_TIMEOUT_MS, () => primary.recordMembers(local.id, members));
      }
      side.putCell(mergeCell(local, incoming));
    }
    return true;
  } catch {
    return false;
  }
}

/** Tells every replica to pull now (after a change at the primary); best effort, the alarm retries. */
export async function pokeReplicas(env: Env): Promise<void> {
  const control = controlRegionOf(env);
  await Promise.all(
    parseRegionList(env.REGIONS).map((region) =>
      crossCall(control, region, CONTROL_SYNC_TIMEOUT_MS, () => controlStub(env, { kind: 'replica', region }).replicate(region)).catch(() => undefined),
    ),
  );
}
