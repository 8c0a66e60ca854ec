/**
 * The feed's index by target object (the audit log's `targetResources/any(t: t/id eq '…')`),
 * kept per block of positions and built after the write, not in it. A write stores only its
 * record: an index row per record and target was a second row on every replica of the cell
 * for each write (a tenth of a PATCH's work). The primary's alarm indexes the records after
 * the mark (`fdxm`) in batches, one row per target and block of `INDEX_BLOCK` positions
 * holding the positions in it that touched the target, so a target changed again and again
 * costs a row per block. Readers scan the few records after the mark (bounded per call) and
 * read the rest through the index. Rows written before this rule (one per record, value 1,
 * the same key shape) read as the position in their key.
 *
 * Each step is planned inside the replicated write it makes, against the state it applies
 * to: run twice (a write whose fate was unknown, a new primary after a failover) it finds the
 * mark moved and the positions already there, and writes nothing new.
 */
import { getAll, type Json, type Mutation, type StateReader } from '../kv.js';
import { decodeRecord } from './encoding.js';
import { feedKey, feedPrefix, feedTargetKey, feedTargetPrefix, lastSeq, seqOfKey, targetsOf, type FeedRecord } from './record.js';

/** Positions per index block: a row covers `[first, first + INDEX_BLOCK)`. */
export const INDEX_BLOCK = 512;
/** Records indexed per replicated write. */
export const INDEX_BATCH = 500;

export const indexMarkKey = (tid: string) => `t/${tid}/fdxm`;
/** The last position that may still have a per-record index row of before (while indexing reaches it). */
export const legacyHorizonKey = (tid: string) => `t/${tid}/fdxold`;
const blockFirst = (seq: number) => Math.floor((seq - 1) / INDEX_BLOCK) * INDEX_BLOCK + 1;
const blockKey = (tid: string, objectId: string, seq: number) => feedTargetKey(tid, objectId, blockFirst(seq));

/** A record's targets, each with its block row and its per-record row of before (the same key at a block's first position). */
const targetRows = (tid: string, seq: number, changes: FeedRecord['changes']) =>
  [...targetsOf(changes)].map((id) => ({ block: blockKey(tid, id, seq), own: feedTargetKey(tid, id, seq) }));

/** The last position whose targets are in the index (0 before any). */
export function indexedUpTo(reader: StateReader, tid: string): number {
  const v = reader.get(indexMarkKey(tid));
  return typeof v === 'number' ? v : 0;
}

/** Whether records wait to be indexed (what `planTargetIndex` would plan is not []), by two reads. */
export const indexBehind = (reader: StateReader, tid: string): boolean => indexedUpTo(reader, tid) < lastSeq(reader, tid);

/** The positions an index row holds: its list, or (a row of before, value 1) the position in its key. */
function positionsOf(key: string, value: Json | undefined): number[] {
  if (Array.isArray(value)) return value.filter((s): s is number => typeof s === 'number');
  return value === undefined ? [] : [seqOfKey(key)];
}

/** Index rows changed by adding (`add`) or removing positions, read from `state` once per key. */
class RowEdits {
  private readonly rows = new Map<string, { before: number[]; after: Set<number> }>();
  constructor(private readonly state: StateReader) {}

  /** Reads the rows of `keys` not read yet in one query where the reader offers it (a step edits hundreds). */
  prefetch(keys: Iterable<string>): void {
    const missing = [...new Set(keys)].filter((k) => !this.rows.has(k));
    const found = getAll(this.state, missing);
    for (const key of missing) this.load(key, found.get(key));
  }

  edit(key: string, seq: number, add: boolean): void {
    const row = this.rows.get(key) ?? this.load(key, this.state.get(key));
    if (add) row.after.add(seq);
    else row.after.delete(seq);
  }

  private load(key: string, value: Json | undefined): { before: number[]; after: Set<number> } {
    const before = positionsOf(key, value);
    const row = { before, after: new Set(before) };
    this.rows.set(key, row);
    return row;
  }

  mutations(): Mutation[] {
    const out: Mutation[] = [];
    for (const [key, { before: unsorted, after: set }] of this.rows) {
      const before = [...unsorted].sort((a, b) => a - b);
      const after = [...set].sort((a, b) => a - b);
      if (after.length === before.length && after.every((s, i) => s === before[i])) continue;
      out.push({ key, value: after.length === 0 ? null : after });
    }
    return out;
  }
}

/**
 * The next indexing step for the tenant: rows for up to `limit` records after the mark, and the
 * mark; [] when current. A tenant's first step (no mark yet: tenants provisioned since this rule
 * get the mark at 0 with their organization, and probe nothing) notes the newest position as the
 * horizon of rows of before (`fdxold`): up to it, a record's per-record row, if any, is folded
 * into its block row (deleted), so no position is listed twice; past it none can exist.
 */
export function planTargetIndex(state: StateReader, tid: string, limit: number = INDEX_BATCH): Mutation[] {
  const markRow = state.get(indexMarkKey(tid));
  const mark = typeof markRow === 'number' ? markRow : 0;
  const last = lastSeq(state, tid);
  if (mark >= last) return [];
  const oldRow = state.get(legacyHorizonKey(tid));
  const horizon = markRow === undefined ? last : typeof oldRow === 'number' ? oldRow : 0;
  const edits = new RowEdits(state);
  const folded: Mutation[] = [];
  let upTo = mark;
  const listed = state.list(feedPrefix(tid), { after: feedKey(tid, mark), limit }).map(([key, value]) => {
    const seq = seqOfKey(key);
    const record = decodeRecord(value);
    return { seq, targets: record === undefined ? [] : targetRows(tid, seq, record.changes) };
  });
  edits.prefetch(listed.flatMap((r) => r.targets.map((t) => t.block)));
  for (const { seq, targets } of listed) {
    for (const { block, own } of targets) {
      edits.edit(block, seq, true);
      if (seq <= horizon && own !== block && state.get(own) !== undefined) folded.push({ key: own, value: null });
    }
    upTo = seq;
  }
  // Nothing left after the mark (purged before it was indexed): the mark catches up.
  if (upTo === mark) upTo = last;
  const horizonRow: Mutation[] = upTo >= horizon ? (oldRow === undefined ? [] : [{ key: legacyHorizonKey(tid), value: null }]) : [{ key: legacyHorizonKey(tid), value: horizon }];
  return [...edits.mutations(), ...folded, ...horizonRow, { key: indexMarkKey(tid), value: upTo }];
}

/** Index edits for records the retention purge deletes: their positions leave their rows (a row left empty goes). */
export function unindexRecords(state: StateReader, tid: string, records: readonly FeedRecord[]): Mutation[] {
  const edits = new RowEdits(state);
  const legacy: Mutation[] = [];
  const listed = records.map((r) => ({ seq: r.seq, targets: targetRows(tid, r.seq, r.changes) }));
  edits.prefetch(listed.flatMap((r) => r.targets.map((t) => t.block)));
  for (const { seq, targets } of listed) {
    for (const { block, own } of targets) {
      edits.edit(block, seq, false);
      if (own !== block && state.get(own) !== undefined) legacy.push({ key: own, value: null });
    }
  }
  return [...edits.mutations(), ...legacy];
}

export interface TargetPage {
  /** Records that changed the object, newest first. */
  readonly records: readonly FeedRecord[];
  /** Records read to find them (the caller's scan budget). */
  readonly examined: number;
  /** Where to continue (positions before it); null when no older record can match. */
  readonly next: number | null;
}

/**
 * Records that changed `objectId`, newest first, before `before` (exclusive; null = from the
 * newest), at most `limit`: the records after the index mark by a scan of at most `limit`
 * positions, then the index.
 */
export function readFeedForTarget(reader: StateReader, tid: string, objectId: string, before: number | null, limit: number): TargetPage {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(objectId)) return { records: [], examined: 0, next: null };
  const want = objectId.toLowerCase();
  const mark = indexedUpTo(reader, tid);
  // Never past the newest position: a $skiptoken beyond it would scan empty positions.
  const end = Math.min(before ?? Infinity, lastSeq(reader, tid) + 1);
  if (end - 1 > mark) {
    const from = Math.max(mark, end - 1 - limit);
    const rows = reader.list(feedPrefix(tid), { after: feedKey(tid, from), limit: end - 1 - from });
    const records = rows
      .map(([, v]) => decodeRecord(v))
      .filter((r): r is FeedRecord => r !== undefined && r.seq < end && [...targetsOf(r.changes)].some((id) => id.toLowerCase() === want))
      .reverse();
    // Positions covered, not rows found: a gap (records purged before they were indexed) costs budget too.
    return { records, examined: end - 1 - from, next: from === 0 ? null : from + 1 };
  }
  const { seqs, lowest } = indexedPositions(reader, tid, objectId, end, limit);
  const records: FeedRecord[] = [];
  let next: number | null = null;
  // The records in bulk reads (`getMany`: a query per 100 in a cell); a position whose record is gone reads on.
  for (let i = 0; records.length < limit && i < seqs.length; ) {
    const batch = seqs.slice(i, i + limit - records.length);
    i += batch.length;
    const found = getAll(reader, batch.map((seq) => feedKey(tid, seq)));
    for (const seq of batch) {
      const r = decodeRecord(found.get(feedKey(tid, seq)));
      if (r !== undefined) records.push(r);
      next = seq;
    }
  }
  // Fewer than `limit`: the positions ran out, here or (a walk) at the lowest block read.
  return { records, examined: records.length, next: records.length < limit ? (lowest > 1 ? lowest : null) : next };
}

/** A target with more index rows than this is read newest block first, not listed whole. */
const LISTED_ROWS = 64;
/** Block rows a walk reads before it lists the rest whole (its rows are too sparse for walking). */
const WALK_BLOCKS = 200;
/** Block rows probed per read of a walk: 4, 16, 64, then 100 (SQLite binds at most 100 values). */
const FIRST_READ = 4;
const MAX_READ = 100;

/** Positions of `rows` below `end`, each once, newest first (a row of before and its block row may share one until indexing folds it). */
const newestFirst = (rows: ReadonlyArray<[string, Json]>, end: number) =>
  [...new Set(rows.flatMap(([k, v]) => positionsOf(k, v)))].filter((s) => s < end).sort((a, b) => b - a);

/**
 * The target's indexed positions before `end` (all indexed), newest first: at least `count` of
 * them where there are, and `lowest`, the first position of the lowest block read (1: all read).
 * A target with few rows is listed whole. A target changed again and again (a full page in the
 * newest few blocks) is read from the newest block down, by block keys, in reads of 4, 16, 64 and
 * then 100 blocks, until `count` positions are found: listing all its rows read every position
 * it ever had for each page. A walk that finds too few in `WALK_BLOCKS` blocks (many rows, but
 * spread thin) lists the rest whole. Rows of before (not at a block's first position) are only
 * listed: while they may hold positions (the horizon row is there) the target is listed whole;
 * after it, any left hold positions whose records are gone.
 */
function indexedPositions(reader: StateReader, tid: string, objectId: string, end: number, count: number): { seqs: number[]; lowest: number } {
  const prefix = feedTargetPrefix(tid, objectId);
  const first = reader.list(prefix, { limit: LISTED_ROWS + 1 });
  if (first.length <= LISTED_ROWS) return { seqs: newestFirst(first, end), lowest: 1 };
  if (reader.get(legacyHorizonKey(tid)) !== undefined) return { seqs: newestFirst(reader.list(prefix), end), lowest: 1 };
  const seqs: number[] = [];
  let block = blockFirst(end - 1);
  for (let size = FIRST_READ, read = 0; block >= 1 && seqs.length < count; size = Math.min(size * 4, MAX_READ)) {
    if (read >= WALK_BLOCKS) return { seqs: [...seqs, ...newestFirst(reader.list(prefix), block + INDEX_BLOCK)], lowest: 1 };
    const keys: string[] = [];
    for (let b = block; b >= 1 && keys.length < size; b -= INDEX_BLOCK) keys.push(feedTargetKey(tid, objectId, b));
    const rows = getAll(reader, keys);
    for (const key of keys) seqs.push(...positionsOf(key, rows.get(key)).filter((s) => s < end).sort((a, b) => b - a));
    block -= keys.length * INDEX_BLOCK;
    read += keys.length;
  }
  return { seqs, lowest: Math.max(1, block + INDEX_BLOCK) };
}
