import { describe, expect, it } from 'vitest';
import { unindexRecords } from '../../../core/feed/index-rows-of-before.js';
import type { FeedRecord } from '../../../core/feed/record.js';
import { MemoryState } from '../../../core/kv.js';

const TID = 'tenant-1';
const row = (id: string, seq: number) => `t/${TID}/fdx/${id}/${String(seq).padStart(12, '0')}`;
const record = (seq: number, ...ids: string[]): FeedRecord => ({
  seq,
  at: seq,
  actor: { kind: 'system' },
  correlationId: 'c',
  changes: ids.map((id) => ({ type: 'user', id, op: 'update' as const, displayName: null, props: [], links: [] })),
});

describe('rows of the replicated target index of before (core/feed/index-rows-of-before.ts)', () => {
  it('takes purged positions out of block rows and drops per-record rows, a row left empty going too', () => {
    const s = new MemoryState();
    s.apply([
      { key: row('a', 1), value: [1, 2, 5] },
      { key: row('a', 513), value: [513, 600] },
      { key: row('b', 7), value: 1 },
      { key: row('b', 1), value: [3] },
    ]);
    const edits = unindexRecords(s, TID, [record(1, 'A'), record(3, 'b'), record(7, 'b'), record(513, 'a')]);
    s.apply(edits);
    expect(s.list(`t/${TID}/fdx/`)).toEqual([
      [row('a', 1), [2, 5]],
      [row('a', 513), [600]],
    ]);
  });

  it('writes nothing where no row of before is left', () => {
    expect(unindexRecords(new MemoryState(), TID, [record(1, 'a'), record(2, 'b')])).toEqual([]);
  });
});

describe('the marks of that index of before (core/feed/index-rows-of-before.ts)', () => {
  it('are dropped by a purge once no row of before is left, and then nothing is read per record', () => {
    const s = new MemoryState();
    s.apply([
      { key: `t/${TID}/fdxm`, value: 40 },
      { key: `t/${TID}/fdxold`, value: 12 },
      { key: row('a', 1), value: [3] },
    ]);
    expect(unindexRecords(s, TID, [record(2, 'b')])).toEqual([]);
    s.apply(unindexRecords(s, TID, [record(3, 'a')]));
    const edits = unindexRecords(s, TID, [record(4, 'a')]);
    expect(edits).toEqual([
      { key: `t/${TID}/fdxm`, value: null },
      { key: `t/${TID}/fdxold`, value: null },
    ]);
    s.apply(edits);
    const reads: string[] = [];
    const spy = { ...s, get: (k: string) => (reads.push(k), s.get(k)), list: s.list.bind(s), getMany: undefined } as unknown as MemoryState;
    expect(unindexRecords(spy, TID, [record(5, 'a'), record(6, 'b'), record(7, 'c')])).toEqual([]);
    expect(reads).toEqual([`t/${TID}/fdxm`, `t/${TID}/fdxold`]);
  });
});
