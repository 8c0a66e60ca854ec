import { describe, expect, it } from 'vitest';
import { MemoryState, OverlayReader, type Mutation } from '../../core/kv.js';

describe('OverlayReader', () => {
  it('reads staged mutations over the base state', () => {
    const base = new MemoryState();
    base.apply([{ key: 'a/1', value: 1 }, { key: 'a/2', value: 2 }]);
    const o = new OverlayReader(base);
    o.stage({ key: 'a/2', value: null });
    o.stage({ key: 'a/3', value: 3 });
    expect(o.list('a/')).toEqual([['a/1', 1], ['a/3', 3]]);
    expect(o.get('a/2')).toBeUndefined();
  });

  it('finds the last key under a prefix through staged puts and deletes', () => {
    const base = new MemoryState();
    base.apply([{ key: 'a/1', value: 1 }, { key: 'a/2', value: 2 }, { key: 'b/9', value: 9 }]);
    const o = new OverlayReader(base);
    expect(o.lastKey('a/')).toBe('a/2');
    o.stage({ key: 'a/2', value: null });
    expect(o.lastKey('a/')).toBe('a/1');
    o.stage({ key: 'a/3', value: 3 });
    expect(o.lastKey('a/')).toBe('a/3');
    o.stage({ key: 'a/1', value: null });
    o.stage({ key: 'a/3', value: null });
    expect(o.lastKey('a/')).toBeUndefined();
  });
});

describe('MemoryState lastKey', () => {
  it('is the greatest key under the prefix, never one past it or a shorter neighbour', () => {
    const s = new MemoryState();
    s.apply(['a', 'a/', 'a/1', 'a/2', 'a/2/x', 'a0', 'b'].map((key) => ({ key, value: 1 })));
    expect(s.lastKey('a/')).toBe('a/2/x');
    expect(s.lastKey('a/2')).toBe('a/2/x');
    expect(s.lastKey('a')).toBe('a0');
    expect(s.lastKey('a/3')).toBeUndefined();
    expect(s.lastKey('c')).toBeUndefined();
    expect(s.lastKey('')).toBe('b');
    s.apply([{ key: 'a/2/x', value: null }, { key: 'a/2', value: null }]);
    expect(s.lastKey('a/')).toBe('a/1');
  });

  it('agrees with the listing through adds and deletes between sorts (answered without re-sorting)', () => {
    const s = new MemoryState();
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let step = 0; step < 3000; step++) {
      const key = `t/${Math.floor(next() * 3)}/fd/${String(Math.floor(next() * 400)).padStart(4, '0')}`;
      s.apply([{ key, value: next() < 0.3 ? null : step }]);
      // Mostly lastKey (the feed's write path), now and then a listing (which sorts).
      for (const prefix of ['t/0/fd/', 't/1/fd/', 't/2/']) {
        if (next() < 0.05) s.list(prefix);
        const listed = [...s.rows.keys()].filter((k) => k.startsWith(prefix)).sort();
        expect(s.lastKey(prefix), `step ${step}, ${prefix}`).toBe(listed[listed.length - 1]);
      }
    }
  });
});

describe('MemoryState key order', () => {
  it('lists exactly the live keys in order after deletions in runs, scattered deletions, re-adds and re-deletes', () => {
    let seed = 12345;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    console.log('seed 12345');
    const s = new MemoryState();
    const model = new Map<string, number>();
    const key = (i: number) => `t/x/${String(i).padStart(5, '0')}`;
    for (let i = 0; i < 2_000; i++) model.set(key(i), i);
    s.apply([...model].map(([k, v]) => ({ key: k, value: v })));
    for (let round = 0; round < 300; round++) {
      const muts: Mutation[] = [];
      const kind = rand(3);
      if (kind === 0) {
        // a run of neighbouring keys (a prefix purge's batch)
        const live = s.list('t/x/', { limit: 40 });
        for (const [k] of live) muts.push({ key: k, value: null });
      } else {
        for (let j = 0; j < 1 + rand(30); j++) {
          const k = key(rand(2_500));
          muts.push(kind === 1 ? { key: k, value: null } : { key: k, value: round });
        }
      }
      s.apply(muts);
      for (const m of muts) if (m.value === null) model.delete(m.key); else model.set(m.key, m.value as number);
      if (rand(4) === 0) continue; // several batches before the next list
      expect(s.list('t/x/').map(([k]) => k)).toEqual([...model.keys()].sort());
    }
    expect(s.list('t/x/')).toEqual([...model].sort(([a], [b]) => (a < b ? -1 : 1)));
  });
});
