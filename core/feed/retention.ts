/**
 * The feed's retention, by range: records leave the cell oldest first, once archived (so the
 * archive never misses one, whatever R2 did meanwhile) and past the retention. Positions only
 * grow and commit times follow them, so the oldest record decides when the next purge is due.
 * Its positions leave the rows of the replicated target index of before (index-rows-of-before.ts). A purge
 * that takes the newest record writes the position floor (`fdseq`) with it: the next position
 * comes from the newest row, and must never go back to one already used.
 *
 * Why not a per-row expiry: the expiry index costs every replica an index entry for each record
 * on every write; the range needs none.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { archivedUpTo } from './archive.js';
import { asRecord } from './cursor.js';
import { feedPrefix, feedSeqKey, lastSeq, type FeedRecord } from './record.js';
import { unindexRecords } from './index-rows-of-before.js';

export interface FeedPurge {
  /** Deletes of the records due (and their index rows), oldest first. */
  readonly mutations: Mutation[];
  /** When the oldest record left becomes due (epoch ms); undefined when none is left. */
  readonly nextDueAt: number | undefined;
}

/** At most `limit` records of tenant `tid` that are archived and older than `retentionMs` at `now`. */
export function planFeedPurge(reader: StateReader, tid: string, now: number, retentionMs: number, limit: number): FeedPurge {
  const { mutations: deletes, nextDueAt, lastRow, records } = duePurge(reader, tid, now, retentionMs, limit);
  const mutations = [...deletes, ...unindexRecords(reader, tid, records)];
  if (lastRow === undefined || lastRow !== reader.lastKey(feedPrefix(tid))) return { mutations, nextDueAt };
  return { mutations: [...mutations, { key: feedSeqKey(tid), value: lastSeq(reader, tid) }], nextDueAt };
}

/** The deletes due, oldest first, the last record row among them, and the records they delete. */
function duePurge(reader: StateReader, tid: string, now: number, retentionMs: number, limit: number): FeedPurge & { lastRow?: string; records: FeedRecord[] } {
  const archived = archivedUpTo(reader, tid);
  const mutations: Mutation[] = [];
  const records: FeedRecord[] = [];
  let lastRow: string | undefined;
  let taken = 0;
  for (const [key, value] of oldestFirst(reader, feedPrefix(tid), limit + 1)) {
    if (taken === limit) return { mutations, nextDueAt: now, lastRow, records };
    const record = asRecord(value);
    if (record !== undefined) {
      const dueAt = record.at + retentionMs;
      if (dueAt > now) return { mutations, nextDueAt: dueAt, lastRow, records };
      // Due but not archived: the archive's own retry (and the purge after it) owns the next alarm.
      if (record.seq > archived) return { mutations, nextDueAt: undefined, lastRow, records };
    }
    mutations.push({ key, value: null });
    if (record !== undefined) records.push(record);
    lastRow = key;
    taken++;
  }
  return { mutations, nextDueAt: undefined, lastRow, records };
}

/**
 * The prefix's rows oldest first, at most `max`, read in pages that start at one row: the alarm
 * asks every tenant each time, and usually the oldest record alone says nothing is due yet.
 */
function* oldestFirst(reader: StateReader, prefix: string, max: number): Generator<[string, Json]> {
  let after: string | undefined;
  for (let read = 0, page = 1; read < max; page = Math.min(page * 8, 64)) {
    const rows = reader.list(prefix, { ...(after !== undefined ? { after } : {}), limit: Math.min(page, max - read) });
    for (const row of rows) yield row;
    if (rows.length === 0) return;
    read += rows.length;
    after = rows[rows.length - 1]![0];
  }
}
