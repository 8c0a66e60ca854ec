/**
 * Reading the feed: from a position, a bounded page, resumable. Every consumer (delta queries,
 * the audit log, and later webhooks, Shared Signals and recovery) reads through this.
 */
import type { StateReader } from '../kv.js';
import { decodeRecord } from './encoding.js';
import { feedKey, feedPrefix, lastSeq, type FeedRecord } from './record.js';

export type FeedPage =
  | { readonly kind: 'page'; readonly records: readonly FeedRecord[]; readonly next: number; readonly more: boolean }
  /** Records after `after` were already dropped (retention): the consumer must start over. */
  | { readonly kind: 'expired'; readonly oldest: number };

export const MAX_FEED_PAGE = 500;

/** A stored (or archived) value as a record, if it is one (either stored form, encoding.ts); anything else reads as absent. */
export function asRecord(v: unknown): FeedRecord | undefined {
  return decodeRecord(v);
}

/** Records with positions after `after`, oldest first, at most `limit`; `next` is the position to resume after. */
export function readFeed(reader: StateReader, tid: string, after: number, limit: number = MAX_FEED_PAGE): FeedPage {
  const last = lastSeq(reader, tid);
  if (after >= last) return { kind: 'page', records: [], next: after, more: false };
  const bounded = Math.max(1, Math.min(limit, MAX_FEED_PAGE));
  const rows = reader.list(feedPrefix(tid), { after: feedKey(tid, after), limit: bounded });
  const records = rows.map(([, v]) => asRecord(v)).filter((r): r is FeedRecord => r !== undefined);
  const first = records[0];
  if (first === undefined || first.seq !== after + 1) return { kind: 'expired', oldest: first?.seq ?? last + 1 };
  const next = records[records.length - 1]!.seq;
  return { kind: 'page', records, next, more: next < last };
}

/** Records newest first, starting before `before` (exclusive; null = from the newest), at most `limit`. */
export function readFeedBackwards(reader: StateReader, tid: string, before: number | null, limit: number): FeedRecord[] {
  const out: FeedRecord[] = [];
  for (let seq = (before ?? lastSeq(reader, tid) + 1) - 1; seq > 0 && out.length < limit; seq--) {
    const r = asRecord(reader.get(feedKey(tid, seq)));
    if (r === undefined) break;
    out.push(r);
  }
  return out;
}
