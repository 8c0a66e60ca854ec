/**
 * Archiving the feed to object storage. The primary copies each tenant's records, in order and
 * as the cell stores them (core/feed/encoding.ts; readers decode either form), in chunks of at
 * most ARCHIVE_BATCH, to `feed/{tid}/{first}-{last}.json`, then records the last
 * archived position in replicated state (`fdarch`), so a new primary after a failover carries
 * on where the old one stopped. A chunk written twice (a crash between the copy and the mark)
 * holds the same records under the same name: harmless. Records stay in the cells for the
 * retention; readers past it (or past a cell's copy) fall back to the archive.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { storedSeq } from './encoding.js';
import { feedKey, feedPrefix, lastSeq, seqOfKey } from './record.js';

export const ARCHIVE_BATCH = 500;
const DIGITS = 12;
const pad = (n: number) => String(n).padStart(DIGITS, '0');

export const archivedMarkKey = (tid: string) => `t/${tid}/fdarch`;
export const archivePrefix = (tid: string) => `feed/${tid}/`;
export const archiveObjectKey = (tid: string, first: number, last: number) => `${archivePrefix(tid)}${pad(first)}-${pad(last)}.json`;

export function archivedUpTo(reader: StateReader, tid: string): number {
  const v = reader.get(archivedMarkKey(tid));
  return typeof v === 'number' ? v : 0;
}

/**
 * The mark's write for a chunk archived through `upTo`, planned against the state it commits on:
 * it never lowers a mark that moved further meanwhile (an alarm that awaited the object store
 * across a failover and a failback, while the other primary archived on).
 */
export function markWrite(state: StateReader, tid: string, upTo: number): Mutation[] {
  return archivedUpTo(state, tid) >= upTo ? [] : [{ key: archivedMarkKey(tid), value: upTo }];
}

/**
 * The next chunk to archive (records after the mark, as stored, and the position the mark moves
 * to: `markWrite`), or undefined when the archive is current. Not decoded: the stored form is
 * half the object form's bytes through JSON, the object store's digest and its disk.
 */
export function nextArchiveChunk(reader: StateReader, tid: string): { key: string; records: Json[]; upTo: number } | undefined {
  const from = archivedUpTo(reader, tid);
  if (from >= lastSeq(reader, tid)) return undefined;
  // One range read for the chunk (a get per record was a query each in a cell); the run of
  // positions from the mark on, up to the first one missing.
  const rows = reader.list(feedPrefix(tid), { after: feedKey(tid, from), limit: ARCHIVE_BATCH });
  const records: Json[] = [];
  for (const [k, v] of rows) {
    const seq = from + 1 + records.length;
    if (seqOfKey(k) !== seq || storedSeq(v) !== seq) break;
    records.push(v);
  }
  if (records.length === 0) {
    // Positions already gone from the cell (expired before an archive ran) are skipped up to the
    // next row, a row that is no record of its position alone: never the records after them.
    const next = rows[0] === undefined ? undefined : seqOfKey(rows[0][0]);
    const skipTo = next === undefined ? lastSeq(reader, tid) : next > from + 1 ? next - 1 : from + 1;
    return { key: '', records, upTo: skipTo };
  }
  const last = from + records.length;
  return { key: archiveObjectKey(tid, from + 1, last), records, upTo: last };
}

/** From a listing of chunk names, the one holding `seq` (names sort by position). */
export function chunkFor(keys: readonly string[], seq: number): string | undefined {
  for (const k of keys) {
    const m = /(\d{12})-(\d{12})\.json$/.exec(k);
    if (m !== null && Number(m[1]) <= seq && seq <= Number(m[2])) return k;
  }
  return undefined;
}
