/**
 * Rows of the replicated target index of before (`t/{tid}/fdx/{objectId}/{position}`): cells
 * indexed records by target in replicated state until each replica kept its own index
 * (target-index.ts). Nothing writes them any more; the retention purge takes a deleted record's
 * positions out of them (a row left empty goes), so they drain within the feed's retention, and
 * once none is left it drops their marks (`fdxm`, `fdxold`) too.
 */
import { getAll, type Json, type Mutation, type StateReader } from '../kv.js';
import { seqOfKey, seqText, targetsOf, type FeedRecord } from './record.js';

/** Positions per block row: a row covered `[first, first + 512)`. */
const BLOCK = 512;
const rowKey = (tid: string, objectId: string, seq: number) => `t/${tid}/fdx/${objectId.toLowerCase()}/${seqText(seq)}`;
const blockFirst = (seq: number) => Math.floor((seq - 1) / BLOCK) * BLOCK + 1;

/** The positions a row holds: its list, or (a per-record row, value 1) the position in its key. */
function positionsOf(key: string, value: Json | undefined): number[] {
  if (Array.isArray(value)) return value.filter((s): s is number => typeof s === 'number');
  return value === undefined ? [] : [seqOfKey(key)];
}

const MARKS = (tid: string) => [`t/${tid}/fdxm`, `t/${tid}/fdxold`];

/** Edits of rows of before for records the retention purge deletes, the rows read in one query. */
export function unindexRecords(state: StateReader, tid: string, records: readonly FeedRecord[]): Mutation[] {
  // None left (every tenant once they drained, and every tenant since): one probe, not a read per record.
  if (state.list(`t/${tid}/fdx/`, { limit: 1 }).length === 0) {
    return MARKS(tid)
      .filter((key) => state.get(key) !== undefined)
      .map((key) => ({ key, value: null }));
  }
  // Each position's rows: its target's block row, and a per-record row where that key differs.
  const named = records.flatMap((r) =>
    [...targetsOf(r.changes)].map((id) => ({ seq: r.seq, keys: [...new Set([rowKey(tid, id, blockFirst(r.seq)), rowKey(tid, id, r.seq)])] })),
  );
  const found = getAll(state, [...new Set(named.flatMap((n) => n.keys))]);
  const rows = new Map<string, { held: number; left: Set<number> }>();
  for (const { seq, keys } of named) {
    for (const key of keys) {
      const value = found.get(key);
      if (value === undefined) continue;
      let row = rows.get(key);
      if (row === undefined) {
        const left = new Set(positionsOf(key, value));
        row = { held: left.size, left };
        rows.set(key, row);
      }
      row.left.delete(seq);
    }
  }
  const out: Mutation[] = [];
  for (const [key, { held, left }] of rows) {
    if (left.size !== held) out.push({ key, value: left.size === 0 ? null : [...left].sort((a, b) => a - b) });
  }
  return out;
}
