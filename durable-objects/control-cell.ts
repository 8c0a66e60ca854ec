import { CONTROL_CELL, controlCellPlacement } from '../core/control/control-cell.js';
import { controlPlan, type ControlOp, type ControlReply } from '../core/control/plans.js';
import { changesAfter, type ControlChanges } from '../core/control/state.js';
import { controlRegion } from '../core/control/lookup.js';
import { parseRegionList, type Region } from '../core/regions.js';
import type { Replica } from '../core/replication/replica.js';
import { DEFAULT_VOTERS, remoteAcksNeeded, votersOf } from '../core/replication/membership.js';
import type { CellRecord } from './control-records.js';
import { NOT_DURABLE } from './replica-protocol.js';

/**
 * Glue of the control cell (core/control/control-cell.ts) to the CellReplica objects that hold it:
 * control writes at its primary, and the pulls of the control copies (ControlPlane objects).
 */

/** Voters of a new cell: `CELL_VOTERS` (3 by default, 5 configurable), never more than its regions. */
export function cellVoters(env: Env): number {
  const n = Number(env.CELL_VOTERS ?? DEFAULT_VOTERS);
  return Number.isInteger(n) && n >= 1 ? n : DEFAULT_VOTERS;
}

/**
 * The control cell as configuration founds it: primary in the control region at epoch 1. Every
 * control copy seeds its record with this (a later failover only moves it forward: `mergeCell`).
 */
export function controlCellRecord(env: Env): CellRecord {
  const regions = parseRegionList(env.REGIONS);
  const home = controlRegion(env.CONTROL_REGION, regions) as Region;
  const p = controlCellPlacement(home, regions, cellVoters(env));
  return { ...p, membersVersion: 0, primaryRegion: home, epoch: 1, tenants: 0 };
}

export type ControlOutcome =
  | { kind: 'reply'; reply: ControlReply; pos: number }
  | { kind: 'not_primary'; primaryRegion: string; epoch: number }
  | { kind: 'unavailable'; reason: string };

/** `confirmed`: asked for, the heartbeat round the replica ran before reading (whether a miss read from it is final: `missIsFinal`). */
export type ControlChangesOutcome = ({ kind: 'changes'; confirmed?: { primary: boolean; reached: number; needed: number } } & ControlChanges) | { kind: 'behind'; appliedPos: number };

/**
 * One control write at this replica (the primary's write mutex and group commit, as every write).
 * An answer that writes nothing is drawn from committed state (or waits for the round it read from).
 */
export async function runControlOp(replica: Replica, op: ControlOp): Promise<ControlOutcome> {
  if (replica.meta.cell !== CONTROL_CELL) return { kind: 'unavailable', reason: 'not the control cell' };
  const result = await replica.write(controlPlan(op));
  if (result.ok) return { kind: 'reply', reply: result.value.reply, pos: result.value.pos };
  const e = result.error;
  if (e.kind === 'not_primary' || e.kind === 'fenced') return { kind: 'not_primary', primaryRegion: e.primaryRegion, epoch: e.epoch };
  if (e.kind === 'not_durable') return { kind: 'unavailable', reason: NOT_DURABLE };
  return { kind: 'reply', reply: e, pos: replica.meta.appliedPos };
}

/** A page of tenant changes for a control copy, once this replica has applied `minPos` (it catches up from the primary first). */
export async function readControlChanges(replica: Replica, after: number, limit: number, minPos = 0, confirm = false): Promise<ControlChangesOutcome> {
  if (replica.meta.appliedPos < minPos && !(await replica.catchUp(minPos))) return { kind: 'behind', appliedPos: replica.meta.appliedPos };
  // A read barrier for a final miss: a primary heartbeats its voters first (a deposed one is refused, and steps down).
  const probed = confirm && replica.meta.role === 'primary' ? await replica.receive({ kind: 'probe' }) : undefined;
  const confirmed = probed?.kind === 'probed' ? { primary: probed.meta.role === 'primary', reached: probed.reaches.filter((r) => votersOf(probed.meta).includes(r)).length, needed: remoteAcksNeeded(probed.meta) } : undefined;
  return { kind: 'changes', ...changesAfter(replica.state, after, limit), ...(confirmed === undefined ? {} : { confirmed }) };
}
