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
  /**
   * Forgets at most `limit` positions below `seq` (their records left the cell), the lowest
   * first, and sets the floor at `seq` once none is left below it.
   */
  dropBelow(tid: string, seq: number, limit?: number): void;
  /** Forgets the tenant: every position and the mark. */
  forget(tid: string): void;
}

/** Records indexed per request at most: a replica's first queries over a long feed index it over several requests. */
export const CATCH_UP = 5_000;
/** Positions purged from the cell before the index forgets them: dropping is a range delete, done now and then. */
const DROP_SLACK = 1_000;
/** Index rows forgotten per call at most: a replica asked again after weeks forgets them over several requests. */
export const DROP_LIMIT = 10_000;

/**
 * Brings the replica's index up to its records (at most `budget` of them per call). An index
 * ahead of the records (the tenant was purged from the cell and its feed started over) is
 * dropped and rebuilt; positions below the oldest record left are forgotten now and then.
 */
export function catchUp(reader: StateReader, index: TargetIndex, tid: string, budget: number = CATCH_UP): void {
  if (budget < 1) return;
  const last = lastSeq(reader, tid);
  let { upTo: mark, floor } = index.mark(tid);
  if (mark > last) {
    index.forget(tid);
    mark = 0;
    floor = 0;
  }
  if (mark < last) {
    const rows: Array<readonly [string, number]> = [];
    const listed = reader.list(feedPrefix(tid), { after: feedKey(tid, mark), limit: budget });
    for (const [key, value] of listed) {
      const seq = seqOfKey(key);
      const record = decodeRecord(value);
      if (record !== undefined) for (const id of targetsOf(record.changes)) rows.push([id.toLowerCase(), seq]);
    }
    // Every record after the mark was read: the mark goes to the newest position (past any purged unindexed).
    index.add(tid, rows, listed.length < budget ? last : seqOfKey(listed[listed.length - 1]![0]));
  }
  const oldest = reader.list(feedPrefix(tid), { limit: 1 })[0];
  const keep = oldest === undefined ? last + 1 : seqOfKey(oldest[0]);
  if (keep - floor > DROP_SLACK) index.dropBelow(tid, keep, DROP_LIMIT);
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
 * newest), at most `limit`: records the index does not hold yet (the caller brings it up to date
 * first: `catchUp`, once per request) by a scan of at most `limit` positions, the rest through
 * the index. Without an index (a reader that keeps none) every page is a scan.
 */
export function readFeedForTarget(
  reader: StateReader,
  index: TargetIndex | undefined,
  tid: string,
  objectId: string,
  before: number | null,
  limit: number,
): TargetPage {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(objectId)) return { records: [], examined: 0, next: null };
  const want = objectId.toLowerCase();
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
