/**
 * Archiving the feed to object storage. The primary copies each tenant's records, in order, in
 * chunks of at most ARCHIVE_BATCH, to `feed/{tid}/{first}-{last}.json`, then records the last
 * archived position in replicated state (`fdarch`), so a new primary after a failover carries
 * on where the old one stopped. A chunk written twice (a crash between the copy and the mark)
 * is the same bytes under the same name: harmless. Records stay in the cells for the
 * retention; readers past it (or past a cell's copy) fall back to the archive.
 */
import type { Mutation, StateReader } from '../kv.js';
import { asRecord } from './cursor.js';
import { feedKey, feedPrefix, lastSeq, type FeedRecord } from './record.js';

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

/** The next chunk to archive (records after the mark), or undefined when the archive is current. */
export function nextArchiveChunk(reader: StateReader, tid: string): { key: string; records: FeedRecord[]; mark: Mutation } | undefined {
  const from = archivedUpTo(reader, tid);
  if (from >= lastSeq(reader, tid)) return undefined;
  const records: FeedRecord[] = [];
  // One range read for the chunk (a get per record was a query each in a cell); the run of
  // positions from the mark on, up to the first one missing.
  for (const [, v] of reader.list(feedPrefix(tid), { after: feedKey(tid, from), limit: ARCHIVE_BATCH })) {
    const r = asRecord(v);
    if (r === undefined || r.seq !== from + 1 + records.length) break;
    records.push(r);
  }
  // Records already gone from the cell (expired before an archive ran) are skipped, not waited for.
  if (records.length === 0) return { key: '', records, mark: { key: archivedMarkKey(tid), value: lastSeq(reader, tid) } };
  const last = records[records.length - 1]!.seq;
  return { key: archiveObjectKey(tid, from + 1, last), records, mark: { key: archivedMarkKey(tid), value: last } };
}

/** From a listing of chunk names, the one holding `seq` (names sort by position). */
export function chunkFor(keys: readonly string[], seq: number): string | undefined {
  for (const k of keys) {
    const m = /(\d{12})-(\d{12})\.json$/.exec(k);
    if (m !== null && Number(m[1]) <= seq && seq <= Number(m[2])) return k;
  }
  return undefined;
}
