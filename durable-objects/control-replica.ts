import type { ControlSource } from '../core/control/lookup.js';
import { controlRegion, mergeCell } from '../core/control/lookup.js';
import { parseRegionList } from '../core/regions.js';
import { crossCall } from '../workers/platform/faults.js';
import type { CellRecord, ControlPlane, TenantRecord } from './control-plane.js';

/**
 * The control plane's read copies (issue 11): one ControlPlane object per region, named
 * `replica:{region}`, holding the active tenants and every cell as the primary (`global`, in the
 * control region) last told them, in the same tables. A copy pulls the primary's changes on its
 * alarm (the primary pokes it after each change); edges read a copy when the primary does not
 * answer; and while a copy cannot reach the primary it probes the cells' primaries itself and
 * fails a lost one over with the same fenced promotion (core/replication/detector.ts), then
 * tells the primary the new primary once it can (a higher epoch always wins: `mergeCell`).
 */

/** Where a replica's pull resumes: active and deleted tenants are shipped in (rev, id) order. */
export interface ControlCursor {
  rev: number;
  id: string;
}

export interface ControlChanges {
  /** Every cell (few, small): a copy merges each into its own record. */
  cells: CellRecord[];
  tenants: TenantRecord[];
  next: ControlCursor;
  more: boolean;
}

export const CURSOR_START: ControlCursor = { rev: -1, id: '' };
/** One pull or push between a copy and the primary. */
export const CONTROL_SYNC_TIMEOUT_MS = 2_000;
export const TENANT_PAGE = 500;
const DEFAULT_SYNC_MS = 2_000;

export function controlRegionOf(env: Env): string {
  return controlRegion(env.CONTROL_REGION, parseRegionList(env.REGIONS));
}

export function controlStub(env: Env, source: ControlSource): DurableObjectStub<ControlPlane> {
  return env.CONTROL.get(env.CONTROL.idFromName(source.kind === 'primary' ? 'global' : `replica:${source.region}`));
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

  private get(k: string): string | undefined {
    return this.sql.exec<{ v: string }>(`SELECT v FROM control_meta WHERE k = ?`, k).toArray()[0]?.v;
  }

  private set(k: string, v: string): void {
    this.sql.exec(`INSERT OR REPLACE INTO control_meta (k, v) VALUES (?, ?)`, k, v);
  }

  /** The region of this replica; undefined for the primary (which never has one). */
  region(): string | undefined {
    return this.get('region');
  }

  becomeReplica(region: string): void {
    if (this.region() === undefined) this.set('region', region);
  }

  cursor(): ControlCursor {
    const c = this.get('cursor');
    return c === undefined ? CURSOR_START : (JSON.parse(c) as ControlCursor);
  }

  setCursor(c: ControlCursor): void {
    this.set('cursor', JSON.stringify(c));
  }
}

/** What a pull needs from the replica object it runs in. */
export interface ReplicaSide {
  readonly meta: ReplicaMeta;
  cell(id: string): CellRecord | undefined;
  /** Stores a merged cell record. */
  putCell(cell: CellRecord): void;
  putTenants(tenants: TenantRecord[]): void;
}

/**
 * Pulls the primary's changes into a replica, page by page, and pushes back every cell of which
 * the replica knows a newer primary (a failover it ran while the primary was unreachable).
 * Returns false when the primary could not be reached (the replica then observes the cells).
 */
export async function pullFromPrimary(env: Env, region: string, side: ReplicaSide): Promise<boolean> {
  const primary = controlStub(env, { kind: 'primary', region: controlRegionOf(env) });
  const control = controlRegionOf(env);
  try {
    for (let page = 0; page < 100; page++) {
      const changes = await crossCall(region, control, CONTROL_SYNC_TIMEOUT_MS, () => primary.changesSince(side.meta.cursor(), TENANT_PAGE));
      for (const incoming of changes.cells) {
        const local = side.cell(incoming.id);
        if (local !== undefined && local.epoch > incoming.epoch) {
          await crossCall(region, control, CONTROL_SYNC_TIMEOUT_MS, () => primary.setPrimary(local.id, local.primaryRegion, local.epoch));
        }
        side.putCell(mergeCell(local, incoming));
      }
      side.putTenants(changes.tenants);
      side.meta.setCursor(changes.next);
      if (!changes.more) return true;
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
