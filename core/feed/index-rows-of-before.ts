/**
 * Rows of the replicated target index of before (`t/{tid}/fdx/{objectId}/{position}`): cells
 * indexed records by target in replicated state until each replica kept its own index
 * (target-index.ts). Nothing writes them any more; the retention purge takes a deleted record's
 * positions out of them (a row left empty goes), so they drain within the feed's retention, and
 * once none is left it drops their marks (`fdxm`, `fdxold`) too.
 */
import { getAll, type Json, type Mutation, type StateReader } from '../kv.js';
import { seqOfKey, targetsOf, type FeedRecord } from './record.js';

/** Positions per block row: a row covered `[first, first + 512)`. */
const BLOCK = 512;
const SEQ_DIGITS = 12;
const rowKey = (tid: string, objectId: string, seq: number) => `t/${tid}/fdx/${objectId.toLowerCase()}/${String(seq).padStart(SEQ_DIGITS, '0')}`;
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
  const named = records.flatMap((r) =>
    [...targetsOf(r.changes)].map((id) => ({ seq: r.seq, block: rowKey(tid, id, blockFirst(r.seq)), own: rowKey(tid, id, r.seq) })),
  );
  const keys = [...new Set(named.flatMap((n) => (n.own === n.block ? [n.block] : [n.block, n.own])))];
  if (keys.length === 0) return [];
  const found = getAll(state, keys);
  const left = new Map<string, Set<number>>();
  for (const { seq, block, own } of named) {
    for (const key of own === block ? [block] : [block, own]) {
      const value = found.get(key);
      if (value === undefined) continue;
      const row = left.get(key) ?? new Set(positionsOf(key, value));
      row.delete(seq);
      left.set(key, row);
    }
  }
  const out: Mutation[] = [];
  for (const [key, row] of left) {
    const before = positionsOf(key, found.get(key));
    if (row.size === before.length) continue;
    out.push({ key, value: row.size === 0 ? null : [...row].sort((a, b) => a - b) });
  }
  return out;
}
