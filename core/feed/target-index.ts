/**
 * The feed's index by target object (the audit log's `targetResources/any(t: t/id eq '…')`),
 * kept by each replica for itself, outside the replicated state, and built when a query asks.
 *
 * Why not replicated: indexing in replicated state cost every replica of the cell a row per
 * record and target (a second row per write when writes go to many objects: half the feed's
 * cost over 500 users), for a query few replicas ever serve. The index is derived data: any
 * replica can rebuild it from the records it holds, and positions are stable across failover,
 * so what it indexed stays true. A replica indexes the records after its mark, a bounded
 * number per query, and finds those it has not indexed yet by a bounded scan.
 */
import { getAll, type StateReader } from '../kv.js';
import { decodeRecord } from './encoding.js';
import { feedKey, feedPrefix, lastSeq, seqOfKey, targetsOf, type FeedRecord } from './record.js';

/** A replica's own index of records by target (SQLite in a cell: durable-objects/sqlite-target-index.ts). */
export interface TargetIndex {
  /** The last position indexed (0: none) and the lowest it may still hold (lower ones were dropped). */
  mark(tid: string): { readonly upTo: number; readonly floor: number };
  /** Adds `(target id, position)` pairs (ids lowercased) and moves the mark to `upTo`, in one step. */
  add(tid: string, rows: ReadonlyArray<readonly [string, number]>, upTo: number): void;
  /** The target's positions below `end`, newest first, at most `limit`. */
  positions(tid: string, target: string, end: number, limit: number): number[];
  /** Forgets positions below `seq` (their records left the cell) and sets the floor there; `Infinity`: the whole tenant, mark too. */
  dropBelow(tid: string, seq: number): void;
}

/** Records indexed per query at most: a replica's first query over a long feed indexes it over several queries. */
export const CATCH_UP = 5_000;
/** Positions purged from the cell before the index forgets them: dropping is a range delete, done now and then. */
const DROP_SLACK = 1_000;

/**
 * Brings the replica's index up to its records (at most `budget` of them per call). An index
 * ahead of the records (the tenant was purged from the cell and its feed started over) is
 * dropped and rebuilt; positions below the oldest record left are forgotten now and then.
 */
export function catchUp(reader: StateReader, index: TargetIndex, tid: string, budget: number = CATCH_UP): void {
  const last = lastSeq(reader, tid);
  let { upTo: mark, floor } = index.mark(tid);
  if (mark > last) {
    index.dropBelow(tid, Infinity);
    mark = 0;
    floor = 0;
  }
  if (mark < last) {
    const rows: Array<readonly [string, number]> = [];
    let upTo = mark;
    for (const [key, value] of reader.list(feedPrefix(tid), { after: feedKey(tid, mark), limit: budget })) {
      const seq = seqOfKey(key);
      const record = decodeRecord(value);
      if (record !== undefined) for (const id of targetsOf(record.changes)) rows.push([id.toLowerCase(), seq]);
      upTo = seq;
    }
    // Nothing left after the mark (purged before it was indexed): the mark catches up.
    index.add(tid, rows, upTo === mark ? last : upTo);
  }
  const oldest = reader.list(feedPrefix(tid), { limit: 1 })[0];
  const keep = oldest === undefined ? last + 1 : seqOfKey(oldest[0]);
  if (keep - floor > DROP_SLACK) index.dropBelow(tid, keep);
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
 * newest), at most `limit`. The index is brought up to date first (`budget` records at most); records it does not
 * hold yet are found by a scan of at most `limit` positions, the rest through the index. Without
 * an index (a reader that keeps none) every page is a scan.
 */
export function readFeedForTarget(
  reader: StateReader,
  index: TargetIndex | undefined,
  tid: string,
  objectId: string,
  before: number | null,
  limit: number,
  budget: number = CATCH_UP,
): TargetPage {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(objectId)) return { records: [], examined: 0, next: null };
  const want = objectId.toLowerCase();
  if (index !== undefined) catchUp(reader, index, tid, budget);
  const mark = index?.mark(tid).upTo ?? 0;
  // Never past the newest position: a $skiptoken beyond it would scan empty positions.
  const end = Math.min(before ?? Infinity, lastSeq(reader, tid) + 1);
  if (end - 1 > mark || index === undefined) {
    const from = Math.max(mark, end - 1 - limit);
    const rows = reader.list(feedPrefix(tid), { after: feedKey(tid, from), limit: end - 1 - from });
    const records = rows
      .map(([, v]) => decodeRecord(v))
      .filter((r): r is FeedRecord => r !== undefined && r.seq < end && [...targetsOf(r.changes)].some((id) => id.toLowerCase() === want))
      .reverse();
    // Positions covered, not rows found: a gap (records purged before they were indexed) costs budget too.
    return { records, examined: end - 1 - from, next: from === 0 ? null : from + 1 };
  }
  const records: FeedRecord[] = [];
  let next: number | null = end;
  // A position whose record is gone (purged, not forgotten yet) reads on, a query per batch.
  while (records.length < limit && next !== null) {
    const room = limit - records.length;
    const seqs = index.positions(tid, want, next, room);
    const found = getAll(reader, seqs.map((seq) => feedKey(tid, seq)));
    for (const seq of seqs) {
      const r = decodeRecord(found.get(feedKey(tid, seq)));
      if (r !== undefined) records.push(r);
    }
    next = seqs.length < room ? null : seqs[seqs.length - 1]!;
  }
  return { records, examined: records.length, next: next !== null && next > 1 ? next : null };
}
