import { describe, expect, it } from 'vitest';
import { ARCHIVE_BATCH, archiveObjectKey, archivedMarkKey, archivedUpTo, markWrite, nextArchiveChunk } from '../../../core/feed/archive.js';
import { decodeRecord, encodeRecord } from '../../../core/feed/encoding.js';
import { feedKey, feedSeqKey, type FeedRecord } from '../../../core/feed/record.js';
import { MemoryState, type Mutation, type StateReader } from '../../../core/kv.js';

const TID = '11111111-1111-4111-8111-111111111111';
const record = (seq: number): FeedRecord => ({ seq, at: seq, actor: { kind: 'system' }, correlationId: 'c', changes: [{ type: 'user', id: 'u', op: 'update', displayName: null, userPrincipalName: null, props: [{ name: 'jobTitle', oldValue: null, newValue: `t${seq}` }], links: [] }] });

function feedOf(seqs: readonly number[], last: number): MemoryState {
  const s = new MemoryState();
  const rows: Mutation[] = seqs.map((seq) => ({ key: feedKey(TID, seq), value: seq % 2 === 0 ? encodeRecord(record(seq)) : (record(seq) as never) }));
  s.apply([...rows, { key: feedSeqKey(TID), value: last }]);
  return s;
}

describe('feed archive chunks (core/feed/archive.ts nextArchiveChunk)', () => {
  it('takes the records after the mark in one range read, as stored (either form), and they decode to the records', () => {
    const s = feedOf([1, 2, 3, 4], 4);
    s.apply([{ key: archivedMarkKey(TID), value: 1 }]);
    const gets: string[] = [];
    const reader: StateReader = { get: (k) => (gets.push(k), s.get(k)), list: (p, o) => s.list(p, o), count: (p) => s.count(p), lastKey: (p) => s.lastKey(p) };
    const chunk = nextArchiveChunk(reader, TID);
    expect(chunk?.key).toBe(archiveObjectKey(TID, 2, 4));
    expect(chunk?.records).toEqual([encodeRecord(record(2)), record(3), encodeRecord(record(4))]);
    expect(chunk?.records.map(decodeRecord)).toEqual([record(2), record(3), record(4)]);
    expect(chunk?.upTo).toBe(4);
    expect(gets.filter((k) => k.includes('/fd/'))).toEqual([]);
  });

  it('stops a chunk at the first missing position, and at ARCHIVE_BATCH records', () => {
    expect(nextArchiveChunk(feedOf([1, 2, 4], 4), TID)?.records.map((r) => decodeRecord(r)?.seq)).toEqual([1, 2]);
    const many = Array.from({ length: ARCHIVE_BATCH + 3 }, (_, i) => i + 1);
    const chunk = nextArchiveChunk(feedOf(many, many.length), TID);
    expect(chunk?.records).toHaveLength(ARCHIVE_BATCH);
    expect(chunk?.upTo).toBe(ARCHIVE_BATCH);
  });

  it('ends a chunk at a row that is no record of its position', () => {
    const s = feedOf([1, 2, 3], 3);
    s.apply([{ key: feedKey(TID, 2), value: encodeRecord(record(5)) }]);
    expect(nextArchiveChunk(s, TID)?.upTo).toBe(1);
  });

  it('skips positions already gone up to the next row, and never the records after them', () => {
    const s = feedOf([3, 4], 4);
    const gone = nextArchiveChunk(s, TID);
    expect(gone).toEqual({ key: '', records: [], upTo: 2 });
    s.apply(markWrite(s, TID, gone!.upTo));
    expect(nextArchiveChunk(s, TID)?.records.map((r) => decodeRecord(r)?.seq)).toEqual([3, 4]);
  });

  it('skips a row that is no record of its position alone, and is done when the archive is current', () => {
    const s = feedOf([1, 2, 3], 3);
    s.apply([{ key: feedKey(TID, 1), value: [2, 1, 'not a time'] }]);
    const bad = nextArchiveChunk(s, TID);
    expect(bad?.upTo).toBe(1);
    s.apply(markWrite(s, TID, bad!.upTo));
    expect(nextArchiveChunk(s, TID)?.upTo).toBe(3);
    s.apply([{ key: archivedMarkKey(TID), value: 3 }]);
    expect(nextArchiveChunk(s, TID)).toBeUndefined();
  });

  it('moves the mark to the last position when no row is left after it', () => {
    const s = feedOf([1], 4);
    s.apply([{ key: archivedMarkKey(TID), value: 1 }]);
    expect(nextArchiveChunk(s, TID)?.upTo).toBe(4);
  });

  it('writes the mark forward only: a chunk planned before another run moved the mark further leaves it there', () => {
    const s = feedOf([1, 2, 3, 4], 4);
    const stale = nextArchiveChunk(s, TID);
    expect(stale?.upTo).toBe(4);
    s.apply([{ key: archivedMarkKey(TID), value: 4 }]); // the other run (a failover's new primary) archived on
    expect(markWrite(s, TID, 2)).toEqual([]);
    expect(markWrite(s, TID, 4)).toEqual([]);
    expect(markWrite(s, TID, 5)).toEqual([{ key: archivedMarkKey(TID), value: 5 }]);
    s.apply(markWrite(s, TID, 2));
    expect(archivedUpTo(s, TID)).toBe(4);
  });
});
