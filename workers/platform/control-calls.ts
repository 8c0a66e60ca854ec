import { mergeCell } from '../../core/control/lookup.js';
import type { ControlOp, ControlReply } from '../../core/control/plans.js';
import type { CellPlacement } from '../../core/control/state.js';
import { controlCellRecord } from '../../durable-objects/control-cell.js';
import type { CellRecord } from '../../durable-objects/control-records.js';
import { placementRecord } from '../../durable-objects/control-tenants.js';
import { onCellPrimary } from './cell-calls.js';
import { controlPrimaryCall, readCells, syncControlCopies } from './topology.js';

/**
 * Control writes from the edge (issue 11): tenant creation and deletion run as plans at the
 * control cell's primary (core/control/plans.ts), reached by the edge's routing rule like any
 * cell's primary — following a moved primary, having the control copies confirm a lost one and
 * fail it over (the control cell is watched like every cell), retrying with the same operation,
 * which is safe: each plan finds its own earlier effect.
 */

/** This isolate's view of the control cell (configuration, moved forward by what it learns). */
let known: CellRecord | undefined;

/** The control cell as this isolate knows it; `fresh`: as every control copy that answers knows it (a failover one of them ran). */
async function controlCellView(env: Env, fresh: boolean): Promise<CellRecord> {
  const base = known === undefined ? controlCellRecord(env) : known;
  return (known = fresh ? await cellAsKnown(env, base) : base);
}

/** A control write: the plan's answer, and the control cell's position after it; undefined when its primary could not be reached in the budget. */
export async function controlWrite(env: Env, op: ControlOp): Promise<{ reply: ControlReply; pos: number } | undefined> {
  const routed = await onCellPrimary(
    env,
    (fresh) => controlCellView(env, fresh),
    (stub, t) => stub.control(t, op),
    (cell, newer) => (known = mergeCell(known ?? cell, { ...cell, primaryRegion: newer.primaryRegion as CellRecord['primaryRegion'], epoch: newer.epoch })),
  );
  const o = routed.outcome;
  return o.kind === 'reply' ? { reply: o.reply, pos: o.pos } : undefined;
}

/** `global`'s import of its old tables: pages of control writes, each routed within its own budget. */
const IMPORT_TIMEOUT_MS = 15_000;

/**
 * A control write that needs `global`'s tables from before the control cell (a reservation: new
 * cell ids must not collide; a deletion: the tenant may be one of them): on `not_imported`, asks
 * `global` to import them now, then writes again. Undefined when either could not be done.
 */
export async function controlWriteImported(env: Env, op: ControlOp): Promise<{ reply: ControlReply; pos: number } | undefined> {
  const first = await controlWrite(env, op);
  if (first?.reply.kind !== 'not_imported') return first;
  const imported = await controlPrimaryCall(env, async (c) => c.importIntoControl(), IMPORT_TIMEOUT_MS).catch(() => false);
  return imported ? controlWrite(env, op) : undefined;
}

/** After a control write at `pos`: every control copy pulls it now (bounded; the copies' alarms retry). */
export function syncCopies(env: Env, pos: number): Promise<void> {
  return syncControlCopies(env, pos);
}

/**
 * A tenant cell as every control copy that answers knows it, from its placement in the control
 * cell: after a failover a copy ran, a copy knows its primary before `global` does; a cell just
 * placed is known to none yet (its founding primary, at home, epoch 1).
 */
export async function cellAsKnown(env: Env, placement: CellPlacement | CellRecord): Promise<CellRecord> {
  const base = 'epoch' in placement ? placement : placementRecord(placement);
  const copies = await readCells(env, async (c) => {
    const one = await c.cell(base.id);
    return one === undefined ? [] : [one];
  }).catch((): CellRecord[] => []);
  return copies.reduce((a, b) => mergeCell(a, b), base);
}
