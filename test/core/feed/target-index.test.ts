import { describe, expect, it } from 'vitest';
import { planWrite, provisionTenant } from '../../../core/directory/index.js';
import { encodeRecord } from '../../../core/feed/encoding.js';
import { feedKey, feedTargetKey, recorded, type FeedRecord } from '../../../core/feed/record.js';
import { indexBehind, indexedUpTo, INDEX_BLOCK, indexMarkKey, legacyHorizonKey, planTargetIndex, readFeedForTarget, unindexRecords } from '../../../core/feed/target-index.js';
import { BatchState } from '../../../core/replication/batch-state.js';
import { MemoryState, type StateReader } from '../../../core/kv.js';
import { Harness, idOf, type Body } from '../directory/harness.js';

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

/** A Graph write planned with its feed record, as the primary does, and applied. */
function writeWithRecord(h: Harness, method: string, path: string, body?: unknown): Body {
  const r = recorded((st) => planWrite(st, h.req(method, path, body), h.ctx), { actor: { kind: 'operator' }, correlationId: 'c', now: h.now })(h.state);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  h.state.apply(r.value.mutations);
  return (r.value.reply.body ?? {}) as Body;
}

const seqs = (page: { records: readonly FeedRecord[] }) => page.records.map((r) => r.seq);
const rowsOf = (s: MemoryState, id: string) => s.list(`t/${TID}/fdx/${id}/`);
/** Every position found for `id`, newest first, following `next` page by page. */
function allFor(s: MemoryState, id: string, limit: number): number[] {
  const out: number[] = [];
  let before: number | null = null;
  for (let calls = 0; calls < 100; calls++) {
    const page = readFeedForTarget(s, TID, id, before, limit);
    out.push(...seqs(page));
    if (page.next === null) return out;
    before = page.next;
  }
  throw new Error('no end');
}

describe('feed target index (core/feed/target-index.ts)', () => {
  it('indexes the records after the mark into one row per target and block, and then has nothing to do', () => {
    const s = stateWith([record(1, 'a'), record(2, 'b'), record(3, 'a', 'b'), record(INDEX_BLOCK + 1, 'a')]);
    expect(indexBehind(s, TID)).toBe(true);
    s.apply(planTargetIndex(s, TID));
    expect(indexBehind(s, TID)).toBe(false);
    expect(rowsOf(s, 'a')).toEqual([
      [feedTargetKey(TID, 'a', 1), [1, 3]],
      [feedTargetKey(TID, 'a', INDEX_BLOCK + 1), [INDEX_BLOCK + 1]],
    ]);
    expect(rowsOf(s, 'b')).toEqual([[feedTargetKey(TID, 'b', 1), [2, 3]]]);
    expect(indexedUpTo(s, TID)).toBe(INDEX_BLOCK + 1);
    expect(planTargetIndex(s, TID)).toEqual([]);
  });

  it('goes in batches of `limit` records, adding to the rows already there', () => {
    const s = stateWith([record(1, 'a'), record(2, 'a'), record(3, 'a')]);
    s.apply(planTargetIndex(s, TID, 2));
    expect(indexedUpTo(s, TID)).toBe(2);
    s.apply(planTargetIndex(s, TID, 2));
    expect(rowsOf(s, 'a')).toEqual([[feedTargetKey(TID, 'a', 1), [1, 2, 3]]]);
  });

  it('plans nothing more once a step is seen, in the same round of writes (a retried step planned again)', () => {
    const s = stateWith([record(1, 'a'), record(2, 'b')]);
    const round = new BatchState(s);
    round.stage(planTargetIndex(round, TID));
    expect(planTargetIndex(round, TID)).toEqual([]);
  });

  it('folds the rows of before (one per record, no mark yet) into block rows, so each position is read once', () => {
    const s = stateWith([1, 2, 3, 4, 5].map((seq) => record(seq, 'a')));
    s.apply([1, 2, 3, 4, 5].map((seq) => ({ key: feedTargetKey(TID, 'a', seq), value: 1 })));
    expect(allFor(s, 'a', 10)).toEqual([5, 4, 3, 2, 1]);
    s.apply(planTargetIndex(s, TID, 2));
    // Half-way: the horizon of rows of before is kept, and no position is listed twice.
    expect(s.get(legacyHorizonKey(TID))).toBe(5);
    expect(allFor(s, 'a', 10)).toEqual([5, 4, 3, 2, 1]);
    for (let step = planTargetIndex(s, TID, 2); step.length > 0; step = planTargetIndex(s, TID, 2)) s.apply(step);
    expect(rowsOf(s, 'a')).toEqual([[feedTargetKey(TID, 'a', 1), [1, 2, 3, 4, 5]]]);
    expect(s.get(legacyHorizonKey(TID))).toBeUndefined();
    expect(allFor(s, 'a', 10)).toEqual([5, 4, 3, 2, 1]);
  });

  it('reads from the newest position when asked to start past it, and counts a gap of positions against the budget', () => {
    const s = stateWith([record(1, 'a')]);
    s.apply(planTargetIndex(s, TID));
    expect(seqs(readFeedForTarget(s, TID, 'a', Number.MAX_SAFE_INTEGER, 10))).toEqual([1]);
    // Positions 2..10,000 used and purged before they were indexed (the floor keeps the newest).
    s.apply([{ key: `t/${TID}/fdseq`, value: 10_000 }]);
    const page = readFeedForTarget(s, TID, 'a', null, 100);
    expect([page.records.length, page.examined, page.next]).toEqual([0, 100, 9_901]);
  });

  it('finds records after the mark by scan, and the same ones through the index once indexed', () => {
    const s = stateWith([record(1, 'a'), record(2, 'b'), record(3, 'A'), record(4, 'b')]);
    const scanned = readFeedForTarget(s, TID, 'a', null, 10);
    expect(seqs(scanned)).toEqual([3, 1]);
    expect(scanned.next).toBeNull();
    s.apply(planTargetIndex(s, TID));
    expect(seqs(readFeedForTarget(s, TID, 'a', null, 10))).toEqual([3, 1]);
    expect(seqs(readFeedForTarget(s, TID, 'a', 3, 10))).toEqual([1]);
  });

  it('scans at most `limit` records after the mark per call and says where to go on', () => {
    const s = stateWith(Array.from({ length: 30 }, (_, i) => record(i + 1, i % 10 === 0 ? 'a' : 'z')));
    s.apply(planTargetIndex(s, TID, 10)); // positions 1..10 indexed
    for (let before: number | null = null, calls = 0; before !== 1 && calls < 10; calls++) {
      const page = readFeedForTarget(s, TID, 'a', before, 8);
      expect(page.examined).toBeLessThanOrEqual(8);
      if (page.next === null) break;
      before = page.next;
    }
    const found = allFor(s, 'a', 8);
    expect(found).toEqual([21, 11, 1]);
  });

  it('pages through the index newest first, `limit` at a time', () => {
    const s = stateWith(Array.from({ length: 5 }, (_, i) => record(i + 1, 'a')));
    s.apply(planTargetIndex(s, TID));
    const first = readFeedForTarget(s, TID, 'a', null, 2);
    expect([seqs(first), first.next]).toEqual([[5, 4], 4]);
    const last = readFeedForTarget(s, TID, 'a', 2, 2);
    expect([seqs(last), last.next]).toEqual([[1], null]);
  });

  it('reads a row of before (one per record, value 1) as the position in its key, and drops it with the record', () => {
    const s = stateWith([record(7, 'a')]);
    s.apply([{ key: feedTargetKey(TID, 'a', 7), value: 1 }, { key: `t/${TID}/fdxm`, value: 7 }]);
    expect(seqs(readFeedForTarget(s, TID, 'a', null, 10))).toEqual([7]);
    expect(unindexRecords(s, TID, [record(7, 'a')])).toEqual([{ key: feedTargetKey(TID, 'a', 7), value: null }]);
  });

  it('takes purged positions out of their rows and deletes a row left empty', () => {
    const s = stateWith([record(1, 'a', 'b'), record(2, 'a')]);
    s.apply(planTargetIndex(s, TID));
    s.apply(unindexRecords(s, TID, [record(1, 'a', 'b')]));
    expect(rowsOf(s, 'a')).toEqual([[feedTargetKey(TID, 'a', 1), [2]]]);
    expect(rowsOf(s, 'b')).toEqual([]);
  });

  it('moves its mark past positions purged before they were indexed', () => {
    const s = stateWith([record(1, 'a'), record(2, 'a')]);
    s.apply([{ key: feedKey(TID, 1), value: null }, { key: feedKey(TID, 2), value: null }, { key: `t/${TID}/fdseq`, value: 2 }]);
    s.apply(planTargetIndex(s, TID));
    expect(indexedUpTo(s, TID)).toBe(2);
    expect(rowsOf(s, 'a')).toEqual([]);
  });

  it('indexes a membership change under the group and the member', () => {
    const h = new Harness();
    const write = (method: string, path: string, body?: unknown): Body => writeWithRecord(h, method, path, body);
    const u = write('POST', '/users', { displayName: 'a', userPrincipalName: 'a@contoso.com' });
    const g = write('POST', '/groups', { displayName: 'g', mailEnabled: false, securityEnabled: true, mailNickname: 'g' });
    write('POST', `/groups/${idOf(g)}/members/$ref`, { '@odata.id': `https://x/v1.0/directoryObjects/${idOf(u)}` });
    h.state.apply(planTargetIndex(h.state, h.tenantId));
    expect(seqs(readFeedForTarget(h.state, h.tenantId, idOf(u), null, 10))).toEqual([3, 1]);
    expect(seqs(readFeedForTarget(h.state, h.tenantId, idOf(g), null, 10))).toEqual([3, 2]);
  });
});

describe('reading a target changed again and again (core/feed/target-index.ts)', () => {
  /** Records of `a` at the first position of each of `blocks` blocks (others between them), indexed. */
  function spread(blocks: number): MemoryState {
    const s = stateWith(Array.from({ length: blocks }, (_, b) => record(b * INDEX_BLOCK + 1, 'a')));
    s.apply([{ key: indexMarkKey(TID), value: 0 }]);
    for (let step = planTargetIndex(s, TID); step.length > 0; step = planTargetIndex(s, TID)) s.apply(step);
    return s;
  }
  /** A reader over `s` that counts the index rows its lists return and the keys asked in bulk. */
  function counting(s: MemoryState): { reader: MemoryState; listed: () => number; asked: () => number } {
    let listed = 0;
    let asked = 0;
    const reader = Object.create(s) as MemoryState & Required<Pick<StateReader, 'getMany'>>;
    reader.list = (prefix, options) => {
      const rows = s.list(prefix, options);
      if (prefix.includes('/fdx/')) listed += rows.length;
      return rows;
    };
    reader.getMany = (keys: readonly string[]) => ((asked += keys.length), new Map(keys.flatMap((k) => (s.get(k) === undefined ? [] : [[k, s.get(k)!] as const]))));
    return { reader, listed: () => listed, asked: () => asked };
  }
  const positions = (blocks: number) => Array.from({ length: blocks }, (_, b) => (blocks - 1 - b) * INDEX_BLOCK + 1);

  it('reads a page from the newest blocks down instead of listing every row of the target', () => {
    const s = spread(300);
    const { reader, listed, asked } = counting(s);
    const page = readFeedForTarget(reader, TID, 'a', null, 10);
    expect(seqs(page)).toEqual(positions(300).slice(0, 10));
    expect(page.next).toBe(positions(300)[9]);
    // One short listing (it said: many rows), reads of 4 and 16 block keys, one of the 10 records.
    expect(listed()).toBeLessThanOrEqual(65);
    expect(asked()).toBe(4 + 16 + 10);
  });

  it('cuts a page inside a block holding several positions, and goes on from there', () => {
    const at = Array.from({ length: 70 }, (_, b) => [1, 2, 3].map((k) => b * INDEX_BLOCK + k)).flat();
    const s = stateWith(at.map((seq) => record(seq, 'a')));
    s.apply([{ key: indexMarkKey(TID), value: 0 }]);
    for (let step = planTargetIndex(s, TID); step.length > 0; step = planTargetIndex(s, TID)) s.apply(step);
    const newest = [...at].reverse();
    expect(allFor(s, 'a', 7)).toEqual(newest);
    // Before the second position of a block: its first, then the blocks below.
    expect(seqs(readFeedForTarget(s, TID, 'a', 5 * INDEX_BLOCK + 2, 4))).toEqual([5 * INDEX_BLOCK + 1, 4 * INDEX_BLOCK + 3, 4 * INDEX_BLOCK + 2, 4 * INDEX_BLOCK + 1]);
  });

  it('lists the rest whole when a walk finds too few positions (many rows, spread thin)', () => {
    // 70 rows, one every 40th block: the 284 blocks walked hold 8 of them.
    const at = Array.from({ length: 70 }, (_, b) => b * 40 * INDEX_BLOCK + 1);
    const s = stateWith(at.map((seq) => record(seq, 'a')));
    s.apply([{ key: indexMarkKey(TID), value: 0 }]);
    for (let step = planTargetIndex(s, TID); step.length > 0; step = planTargetIndex(s, TID)) s.apply(step);
    const { reader, asked } = counting(s);
    const page = readFeedForTarget(reader, TID, 'a', null, 10);
    expect(seqs(page)).toEqual([...at].reverse().slice(0, 10));
    // Reads of 4, 16, 64, 100 and 100 blocks, then the listing, then the 10 records.
    expect(asked()).toBe(284 + 10);
    expect(allFor(s, 'a', 10)).toEqual([...at].reverse());
  });

  it('says where to go on when a walk finds positions but none of their records', () => {
    const s = spread(300);
    // The newest 20 records gone (the position floor keeps the newest position), their index rows left.
    s.apply([...positions(300).slice(0, 20).map((seq) => ({ key: feedKey(TID, seq), value: null })), { key: `t/${TID}/fdseq`, value: positions(300)[0]! }]);
    const page = readFeedForTarget(s, TID, 'a', null, 10);
    expect([seqs(page), page.next]).toEqual([[], positions(300)[19]]);
    expect(allFor(s, 'a', 10)).toEqual(positions(300).slice(20));
  });

  it('pages through every position of such a target, newest first, across reads of blocks', () => {
    const s = spread(300);
    expect(allFor(s, 'a', 7)).toEqual(positions(300));
    expect(allFor(s, 'a', 150)).toEqual(positions(300));
  });

  it('reads on past positions whose records are gone to fill the page', () => {
    const s = spread(100);
    s.apply(positions(100).slice(0, 5).map((seq) => ({ key: feedKey(TID, seq), value: null })));
    const page = readFeedForTarget(s, TID, 'a', null, 10);
    expect(seqs(page)).toEqual(positions(100).slice(5, 15));
  });

  it('lists the whole target while rows of before may hold positions (the horizon row is there)', () => {
    const s = spread(100);
    // A row of before at a position that is no block's first, and the horizon saying such rows may exist.
    s.apply([record(2, 'a')].map((r) => ({ key: feedKey(TID, r.seq), value: encodeRecord(r) })));
    s.apply([{ key: feedTargetKey(TID, 'a', 2), value: 1 }, { key: legacyHorizonKey(TID), value: 2 }]);
    expect(allFor(s, 'a', 10).slice(-2)).toEqual([2, 1]);
  });

  it('reads only block rows once no horizon row says rows of before may hold positions', () => {
    const s = spread(100);
    s.apply([{ key: feedTargetKey(TID, 'a', 2), value: 1 }]);
    expect(allFor(s, 'a', 10).slice(-2)).toEqual([INDEX_BLOCK + 1, 1]);
  });
});

describe('an indexing step\'s reads (core/feed/target-index.ts)', () => {
  it('reads the block rows it edits in one getMany where the reader offers it, none one by one', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `u${i}`);
    const s = stateWith(ids.map((id, i) => record(i + 1, id)));
    // A tenant provisioned with its mark (no per-record rows of before to probe).
    s.apply([{ key: feedTargetKey(TID, 'u3', 1), value: [1] }, { key: indexMarkKey(TID), value: 0 }]);
    const asked: string[][] = [];
    let blockGets = 0;
    const reader = Object.create(s) as MemoryState & Required<Pick<StateReader, 'getMany'>>;
    reader.get = (key: string) => (key.includes('/fdx/') && blockGets++, s.get(key));
    reader.getMany = (keys: readonly string[]) => {
      asked.push([...keys]);
      return new Map(keys.flatMap((k) => (s.get(k) === undefined ? [] : [[k, s.get(k)!] as const])));
    };
    const step = planTargetIndex(reader, TID);
    expect(blockGets).toBe(0);
    expect(asked).toHaveLength(1);
    expect(new Set(asked[0])).toEqual(new Set(ids.map((id) => feedTargetKey(TID, id, 1))));
    // The row read in bulk is kept: u3's position 1 (already there) and 4 (new).
    expect(step).toContainEqual({ key: feedTargetKey(TID, 'u3', 1), value: [1, 4] });
  });

  it('reads the rows a retention purge unindexes in one getMany too', () => {
    const records = ['a', 'b', 'c'].map((id, i) => record(i + 1, id));
    const s = stateWith(records);
    s.apply([{ key: indexMarkKey(TID), value: 0 }]);
    s.apply(planTargetIndex(s, TID));
    let blockGets = 0;
    const asked: string[][] = [];
    const reader = Object.create(s) as MemoryState & Required<Pick<StateReader, 'getMany'>>;
    reader.get = (key: string) => (key.includes('/fdx/') && blockGets++, s.get(key));
    reader.getMany = (keys: readonly string[]) => (asked.push([...keys]), new Map(keys.flatMap((k) => (s.get(k) === undefined ? [] : [[k, s.get(k)!] as const]))));
    const edits = unindexRecords(reader, TID, records.slice(0, 2));
    expect(asked).toHaveLength(1);
    expect(edits).toEqual([
      { key: feedTargetKey(TID, 'a', 1), value: null },
      { key: feedTargetKey(TID, 'b', 1), value: null },
    ]);
    // A per-record row of before is still probed by its own key: b's position 2 is no block's first.
    expect(blockGets).toBe(1);
  });
});

describe('a new tenant\'s first indexing step (core/feed/target-index.ts, provisionTenant)', () => {
  /** Reads of per-record index rows of before (`fdx/{id}/{seq}` keys that are not a block's first position). */
  function probesOf(s: MemoryState): { reader: MemoryState; probes: () => number } {
    let probes = 0;
    const reader = Object.create(s) as MemoryState;
    reader.get = (key: string) => {
      const m = /\/fdx\/[^/]+\/(\d+)$/.exec(key);
      if (m !== null && (Number(m[1]) - 1) % INDEX_BLOCK !== 0) probes++;
      return s.get(key);
    };
    return { reader, probes: () => probes };
  }

  it('probes no per-record row of before: a provisioned tenant never had any', () => {
    const h = new Harness();
    h.state.apply(provisionTenant(h.ctx, { displayName: 'Contoso' }));
    for (let i = 0; i < 5; i++) writeWithRecord(h, 'POST', '/users', { displayName: `u${i}`, userPrincipalName: `u${i}@contoso.com` });
    const { reader, probes } = probesOf(h.state);
    const step = planTargetIndex(reader, h.tenantId);
    expect(probes()).toBe(0);
    expect(step.some((m) => m.key === legacyHorizonKey(h.tenantId))).toBe(false);
    h.state.apply(step);
    expect(indexBehind(h.state, h.tenantId)).toBe(false);
  });

  it('still folds rows of before for a tenant whose feed predates the index mark', () => {
    const s = stateWith([record(1, 'a'), record(2, 'a'), record(3, 'a')]);
    s.apply([{ key: feedTargetKey(TID, 'a', 2), value: 1 }]);
    const { reader, probes } = probesOf(s);
    const step = planTargetIndex(reader, TID);
    expect(probes()).toBe(2);
    expect(step).toContainEqual({ key: feedTargetKey(TID, 'a', 2), value: null });
  });
});
