import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../core/feed/encoding.js';
import { MemoryTargetIndex } from '../../../core/feed/memory-target-index.js';
import { feedKey, feedSeqKey, recorded, type FeedRecord } from '../../../core/feed/record.js';
import { catchUp, DROP_LIMIT, readFeedForTarget } from '../../../core/feed/target-index.js';
import { planWrite } from '../../../core/directory/index.js';
import { MemoryState } from '../../../core/kv.js';
import { Harness, idOf } from '../directory/harness.js';

const TID = 'tenant-1';

/** A record at `seq` that updated each of `ids`. */
function record(seq: number, ...ids: string[]): FeedRecord {
  const changes = ids.map((id) => ({ type: 'user', id, op: 'update' as const, displayName: null, props: [{ name: 'jobTitle', oldValue: null, newValue: `j${seq}` }], links: [] }));
  return { seq, at: seq, actor: { kind: 'system' }, correlationId: 'c', changes };
}

function stateWith(records: readonly FeedRecord[]): MemoryState {
  const s = new MemoryState();
  s.apply(records.map((r) => ({ key: feedKey(TID, r.seq), value: encodeRecord(r) })));
  return s;
}

const seqs = (page: { records: readonly FeedRecord[] }) => page.records.map((r) => r.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Every position found for `id`, newest first, following `next` page by page, each page a request that first catches up by `budget`. */
function allFor(s: MemoryState, index: MemoryTargetIndex | undefined, id: string, limit: number, budget?: number): number[] {
  const out: number[] = [];
  let before: number | null = null;
  for (let calls = 0; calls < 1_000; calls++) {
    if (index !== undefined) catchUp(s, index, TID, budget);
    const page = readFeedForTarget(s, index, TID, id, before, limit);
    out.push(...seqs(page));
    if (page.next === null) return out;
    before = page.next;
  }
  throw new Error('no end');
}

describe('a replica\'s target index, caught up from its records (core/feed/target-index.ts)', () => {
  it('indexes each record under every target it names, moves the mark, and adds nothing when current', () => {
    const s = stateWith([record(1, 'A'), record(2, 'b', 'c'), record(3, 'a')]);
    const index = new MemoryTargetIndex();
    catchUp(s, index, TID);
    expect(index.mark(TID).upTo).toBe(3);
    expect(index.positions(TID, 'a', Infinity, 10)).toEqual([3, 1]);
    expect(index.positions(TID, 'c', Infinity, 10)).toEqual([2]);
    const added = index.added;
    catchUp(s, index, TID);
    expect(index.added).toBe(added);
  });

  it('indexes at most `budget` records per call, and the next call goes on from the mark', () => {
    const s = stateWith(range(1, 10).map((n) => record(n, 'a')));
    const index = new MemoryTargetIndex();
    catchUp(s, index, TID, 4);
    expect(index.mark(TID).upTo).toBe(4);
    catchUp(s, index, TID, 4);
    expect(index.mark(TID).upTo).toBe(8);
    expect(index.positions(TID, 'a', Infinity, 100)).toEqual(range(1, 8).reverse());
  });

  it('moves its mark past positions purged before they were indexed', () => {
    const s = new MemoryState();
    s.apply([{ key: feedSeqKey(TID), value: 40 }]);
    const index = new MemoryTargetIndex();
    catchUp(s, index, TID);
    expect(index.mark(TID).upTo).toBe(40);
  });

  it('indexes nothing for a budget below one (its mark does not move past records it never read)', () => {
    const s = stateWith([record(1, 'a'), record(2, 'a')]);
    const index = new MemoryTargetIndex();
    catchUp(s, index, TID, 0);
    expect(index.mark(TID).upTo).toBe(0);
  });

  it('forgets positions whose records left the cell once more than a thousand did', () => {
    const s = stateWith(range(1, 1_500).map((n) => record(n, 'a')));
    const index = new MemoryTargetIndex();
    catchUp(s, index, TID);
    s.apply(range(1, 999).map((n) => ({ key: feedKey(TID, n), value: null })));
    catchUp(s, index, TID);
    expect(index.mark(TID).floor).toBe(0);
    s.apply([{ key: feedKey(TID, 1_000), value: null }, { key: feedKey(TID, 1_001), value: null }]);
    catchUp(s, index, TID);
    expect(index.mark(TID).floor).toBe(1_002);
    expect(index.positions(TID, 'a', 1_010, 100)).toEqual(range(1_002, 1_009).reverse());
  });

  it('forgets at most DROP_LIMIT positions per call, lowest first, and moves its floor once none is left below', () => {
    const n = DROP_LIMIT + 2_000;
    const s = stateWith(range(1, n + 10).map((seq) => record(seq, 'a')));
    const index = new MemoryTargetIndex();
    catchUp(s, index, TID, n + 10);
    s.apply(range(1, n).map((seq) => ({ key: feedKey(TID, seq), value: null })));
    catchUp(s, index, TID);
    expect(index.mark(TID).floor).toBe(0);
    expect(index.positions(TID, 'a', n + 1, 1)).toEqual([n]);
    expect(index.positions(TID, 'a', DROP_LIMIT + 1, 1)).toEqual([]);
    catchUp(s, index, TID);
    expect(index.mark(TID).floor).toBe(n + 1);
    expect(index.positions(TID, 'a', n + 1, 1)).toEqual([]);
  });

  it('starts over when it is ahead of the records (the tenant was purged and its feed began again)', () => {
    const s = stateWith(range(1, 20).map((n) => record(n, 'old')));
    const index = new MemoryTargetIndex();
    catchUp(s, index, TID);
    s.apply(range(1, 20).map((n) => ({ key: feedKey(TID, n), value: null })));
    s.apply([{ key: feedKey(TID, 1), value: encodeRecord(record(1, 'new')) }]);
    catchUp(s, index, TID);
    expect(seqs(readFeedForTarget(s, index, TID, 'old', null, 10))).toEqual([]);
    expect(index.positions(TID, 'old', Infinity, 10)).toEqual([]);
    expect(seqs(readFeedForTarget(s, index, TID, 'new', null, 10))).toEqual([1]);
  });
});

describe('reading a target\'s records (core/feed/target-index.ts)', () => {
  const records = range(1, 60).map((n) => (n % 3 === 0 ? record(n, 'a', 'b') : record(n, n % 3 === 1 ? 'a' : 'b')));
  const forA = records.filter((r) => r.changes.some((c) => c.id === 'a')).map((r) => r.seq).reverse();

  it('pages newest first through every position of a target, through the index, `limit` at a time', () => {
    for (const limit of [1, 7, 150]) expect(allFor(stateWith(records), new MemoryTargetIndex(), 'A', limit)).toEqual(forA);
  });

  it('finds the same records by scan when the index is behind or absent, and says where to go on', () => {
    expect(allFor(stateWith(records), new MemoryTargetIndex(), 'a', 5, 2)).toEqual(forA);
    expect(allFor(stateWith(records), undefined, 'a', 5)).toEqual(forA);
    const first = readFeedForTarget(stateWith(records), undefined, TID, 'a', null, 10);
    expect(first).toMatchObject({ examined: 10, next: 51 });
  });

  it('reads on past positions whose records are gone to fill the page', () => {
    const s = stateWith(records);
    const index = new MemoryTargetIndex();
    catchUp(s, index, TID);
    s.apply(range(40, 58).map((n) => ({ key: feedKey(TID, n), value: null })));
    const page = readFeedForTarget(s, index, TID, 'a', null, 3);
    expect(seqs(page)).toEqual([60, 39, 37]);
    expect(page.next).toBe(37);
  });

  it('reads from the newest position when asked to start past it', () => {
    const s = stateWith(records);
    const index = new MemoryTargetIndex();
    catchUp(s, index, TID);
    expect(seqs(readFeedForTarget(s, index, TID, 'a', 1e9, 2))).toEqual([60, 58]);
    expect(seqs(readFeedForTarget(s, undefined, TID, 'a', 1e9, 2))).toEqual([60]);
  });

  it('answers nothing for an id that is not an object id', () => {
    expect(readFeedForTarget(stateWith(records), new MemoryTargetIndex(), TID, "a' or 1", null, 5)).toEqual({ records: [], examined: 0, next: null });
  });

  it('indexes a membership change under the group and the member', () => {
    const h = new Harness(TID);
    const write = (method: string, path: string, body?: unknown) => {
      const r = recorded((st) => planWrite(st, h.req(method, path, body), h.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: h.now })(h.state);
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      h.state.apply(r.value.mutations);
      return (r.value.reply.body ?? {}) as Record<string, unknown>;
    };
    const u = write('POST', '/users', { displayName: 'Ann', userPrincipalName: 'ann@contoso.com' });
    const g = write('POST', '/groups', { displayName: 'g', mailEnabled: false, mailNickname: 'g', securityEnabled: true });
    write('POST', `/groups/${idOf(g as never)}/members/$ref`, { '@odata.id': `https://x/v1.0/directoryObjects/${idOf(u as never)}` });
    catchUp(h.state, h.targets, TID);
    expect(h.targets.positions(TID, idOf(u as never).toLowerCase(), Infinity, 10)).toEqual([3, 1]);
    expect(h.targets.positions(TID, idOf(g as never).toLowerCase(), Infinity, 10)).toEqual([3, 2]);
  });
});
