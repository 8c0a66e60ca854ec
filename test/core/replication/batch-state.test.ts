import { describe, expect, it } from 'vitest';
import { MemoryState, type Json, type StateReader } from '../../../core/kv.js';
import { feedKey, lastSeq } from '../../../core/feed/record.js';
import { BatchState } from '../../../core/replication/batch-state.js';

/** A reader that counts what it is asked. */
function counting(base: StateReader): { reader: StateReader; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const count = (what: string) => calls.set(what, (calls.get(what) ?? 0) + 1);
  const reader: StateReader = {
    get: (key) => (count(`get ${key}`), base.get(key)),
    list: (prefix, options) => (count(`list ${prefix}`), base.list(prefix, options)),
    count: (prefix) => (count(`count ${prefix}`), base.count(prefix)),
    lastKey: (prefix) => (count(`lastKey ${prefix}`), base.lastKey(prefix)),
  };
  return { reader, calls };
}

describe('BatchState (core/replication/batch-state.ts)', () => {
  it("reads the committed state's last keys and primitive values once per round, and sees each plan's staged writes", () => {
    const committed = new MemoryState();
    committed.apply([{ key: feedKey('t1', 7), value: [2] }, { key: 'flag', value: 'on' }]);
    const { reader, calls } = counting(committed);
    const round = new BatchState(reader);
    for (let plan = 0; plan < 5; plan++) {
      const seq = lastSeq(round, 't1') + 1;
      expect(seq).toBe(8 + plan);
      expect(round.get('flag')).toBe('on');
      round.stage([{ key: feedKey('t1', seq), value: [2] }]);
    }
    expect(calls.get('lastKey t/t1/fd/')).toBe(1);
    expect(calls.get('get t/t1/fdseq')).toBe(1);
    expect(calls.get('get flag')).toBe(1);
  });

  it('reads objects afresh each time: a plan that builds on what it read changes no other plan\'s copy', () => {
    const committed = new MemoryState();
    committed.apply([{ key: 'o', value: { n: 1 } }]);
    // As the SQLite store does, each read parses a fresh copy.
    const { reader } = counting({ get: (k) => structuredClone(committed.get(k)), list: (p, o) => committed.list(p, o), count: (p) => committed.count(p), lastKey: (p) => committed.lastKey(p) });
    const round = new BatchState(reader);
    const first = round.get('o') as { [k: string]: Json };
    first['n'] = 2;
    expect(round.get('o')).toEqual({ n: 1 });
  });

  it('queries an object once per round where the store keeps text, and still hands each read a copy of its own', () => {
    const committed = new MemoryState();
    committed.apply([{ key: 'o', value: { n: 1 } }]);
    const { reader, calls } = counting(committed);
    const text = (k: string) => {
      calls.set(`getText ${k}`, (calls.get(`getText ${k}`) ?? 0) + 1);
      const v = committed.get(k);
      return v === undefined ? undefined : JSON.stringify(v);
    };
    const round = new BatchState({ ...reader, getText: text });
    const first = round.get('o') as { [k: string]: Json };
    first['n'] = 2;
    expect(round.get('o')).toEqual({ n: 1 });
    expect(round.get('missing')).toBeUndefined();
    expect(round.get('missing')).toBeUndefined();
    expect(calls.get('getText o')).toBe(1);
    expect(calls.get('getText missing')).toBe(1);
    expect(calls.get('get o')).toBeUndefined();
  });

  it('getMany answers staged keys as staged (a staged delete hides the row) and reads the rest in one getMany', () => {
    const committed = new MemoryState();
    committed.apply([{ key: 'a', value: 1 }, { key: 'b', value: 2 }, { key: 'c', value: 3 }]);
    const asked: string[][] = [];
    const round = new BatchState({
      get: (k) => committed.get(k),
      list: (p, o) => committed.list(p, o),
      count: (p) => committed.count(p),
      lastKey: (p) => committed.lastKey(p),
      getMany: (keys) => (asked.push([...keys]), new Map(keys.flatMap((k) => (committed.get(k) === undefined ? [] : [[k, committed.get(k)!] as const])))),
    });
    round.stage([{ key: 'a', value: null }, { key: 'd', value: 4 }]);
    expect(Object.fromEntries(round.getMany(['a', 'b', 'c', 'd', 'e']))).toEqual({ b: 2, c: 3, d: 4 });
    expect(asked).toEqual([['b', 'c', 'e']]);
  });
});
