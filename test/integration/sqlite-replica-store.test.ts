/** durable-objects/sqlite-replica-store.ts: the log's in-memory copy never disagrees with SQLite. */
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { SqliteReplicaStore } from '../../durable-objects/sqlite-replica-store.js';
import type { Entry } from '../../core/replication/types.js';
import { MemoryReplicaStore } from '../../core/replication/store.js';
import { netMutations } from '../../core/replication/secondary.js';
import type { Mutation } from '../../core/kv.js';

const entry = (pos: number, gen = 0): Entry => ({ epoch: 1, gen, pos, muts: [{ key: `k${pos}`, value: pos }] });

/** A fresh Durable Object's storage, with a store over it (a new store has an empty cache). */
async function withStore(fn: (store: SqliteReplicaStore, fresh: () => SqliteReplicaStore) => void): Promise<void> {
  const stub = env.REPLICA.get(env.REPLICA.idFromName(`store-test-${crypto.randomUUID()}`));
  await runInDurableObject(stub, (_i, state) => {
    const fresh = () => new SqliteReplicaStore(state.storage);
    fn(fresh(), fresh);
  });
}

describe('SqliteReplicaStore log cache', () => {
  it('forgets entries appended in a transaction that rolled back', async () => {
    await withStore((store, fresh) => {
      store.appendEntries([entry(1)]);
      expect(() =>
        store.transaction(() => {
          store.appendEntries([entry(2), entry(3)]);
          throw new Error('storage failed');
        }),
      ).toThrow('storage failed');
      expect(store.entries(1, 3, 10).map((e) => e.pos)).toEqual([1]);
      expect(fresh().entries(1, 3, 10).map((e) => e.pos)).toEqual([1]);
    });
  });

  it('follows truncation, replacement and compaction like SQLite does', async () => {
    await withStore((store, fresh) => {
      store.appendEntries([entry(1), entry(2), entry(3), entry(4)]);
      store.truncateFrom(3);
      store.appendEntries([entry(3, 1)]);
      store.compactBefore(2);
      const cached = store.entries(1, 10, 10);
      expect(cached.map((e) => [e.pos, e.gen])).toEqual([]);
      expect(store.entries(2, 10, 10).map((e) => [e.pos, e.gen])).toEqual([
        [2, 0],
        [3, 1],
      ]);
      expect(fresh().entries(2, 10, 10)).toEqual(store.entries(2, 10, 10));
    });
  });

  it('past its bound keeps the newest entries, and still answers older ones from SQLite', async () => {
    await withStore((store) => {
      let sql = 0;
      const exec = store['storage'].sql.exec.bind(store['storage'].sql);
      for (let p = 1; p <= 1100; p += 100) store.appendEntries(Array.from({ length: 100 }, (_, i) => entry(p + i)));
      store['storage'].sql.exec = ((...args: Parameters<typeof exec>) => {
        sql++;
        return exec(...args);
      }) as typeof exec;
      // The newest 1,024 come from memory, with no query...
      expect(store.entries(77, 1100, 2000).map((e) => e.pos)).toEqual(Array.from({ length: 1024 }, (_, i) => 77 + i));
      expect(sql).toBe(0);
      // ...the evicted oldest from SQLite, dense from the first.
      expect(store.entries(1, 1100, 2000).map((e) => e.pos)).toEqual(Array.from({ length: 1100 }, (_, i) => 1 + i));
      expect(sql).toBe(1);
    });
  });

  it('hands out entries that callers cannot change', async () => {
    await withStore((store) => {
      store.appendEntries([entry(1)]);
      const [e] = store.entries(1, 1, 1);
      expect(Object.isFrozen(e) && Object.isFrozen(e!.muts) && Object.isFrozen(e!.muts[0])).toBe(true);
    });
  });
});

describe('SqliteReplicaStore.applyMutations', () => {
  it('ends in the same state as applying each mutation in order, over runs longer than one statement binds', async () => {
    // Deterministic pseudo-random runs: puts and deletes of few keys, so keys repeat inside a run.
    let x = 12345;
    const next = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
    const batches: Mutation[][] = [];
    for (let b = 0; b < 20; b++) {
      const muts: Mutation[] = [];
      const length = 1 + next(250);
      for (let i = 0; i < length; i++) {
        const key = `k${next(60)}`;
        muts.push(next(3) === 0 ? { key, value: null } : { key, value: { b, i }, ...(next(2) === 0 ? { expiresAt: 1000 + i } : {}) });
      }
      batches.push(muts);
    }
    const memory = new MemoryReplicaStore();
    for (const muts of batches) memory.applyMutations(muts);
    await withStore((store) => {
      for (const muts of batches) store.applyMutations(muts);
      expect(store.exportRows()).toEqual(memory.exportRows());
    });
  });
});

describe('SqliteReplicaStore.applyMutations of distinct keys', () => {
  it("puts a round's alternating deletes and puts in two statements, ending in the same state", async () => {
    // A round of PATCHes netted: each deleted its old index row and added its new one, so the
    // net mutations alternate: delete x/0, puts, delete x/1, puts, …
    const muts = netMutations(
      Array.from({ length: 9 }, (_, i): Entry => ({
        epoch: 1, gen: 0, pos: i + 1,
        muts: [{ key: `x/${i}`, value: null }, { key: `x/${i + 1}`, value: true }, { key: `idem/${i}`, value: { i }, expiresAt: 5_000 + i }],
      })),
    );
    expect(muts.filter((m) => m.value === null)).toHaveLength(9);
    const memory = new MemoryReplicaStore();
    memory.applyMutations([{ key: 'x/0', value: true }, { key: 'x/5', value: true }]);
    memory.applyMutations(muts);
    await withStore((store) => {
      store.applyMutations([{ key: 'x/0', value: true }, { key: 'x/5', value: true }]);
      let statements = 0;
      const exec = store['storage'].sql.exec.bind(store['storage'].sql);
      store['storage'].sql.exec = ((...args: Parameters<typeof exec>) => {
        statements++;
        return exec(...args);
      }) as typeof exec;
      store.applyMutations(muts);
      expect(statements).toBe(2);
      store['storage'].sql.exec = exec;
      expect(store.exportRows()).toEqual(memory.exportRows());
    });
  });
});

describe('SqliteReplicaStore.getMany', () => {
  it('answers what get answers for each key, absent keys left out, past one query\'s parameter limit', async () => {
    await withStore((store) => {
      store.applyMutations(Array.from({ length: 150 }, (_, i): Mutation => ({ key: `o/${String(i).padStart(3, '0')}`, value: { n: i } })));
      const keys = [...Array.from({ length: 150 }, (_, i) => `o/${String(149 - i).padStart(3, '0')}`), 'o/missing'];
      const got = store.getMany(keys);
      expect(got.size).toBe(150);
      for (const k of keys) expect(got.get(k)).toEqual(store.get(k));
      expect(store.getMany([]).size).toBe(0);
    });
  });
});

describe('SqliteReplicaStore.getText', () => {
  it('agrees with get: undefined for an absent key, else text that parses to what get answers', async () => {
    await withStore((store) => {
      store.applyMutations([{ key: 'o/1', value: { n: 1, s: 'é"\\' } }, { key: 'p', value: 7 }, { key: 'q', value: 'text' }]);
      for (const k of ['o/1', 'p', 'q']) expect(JSON.parse(store.getText(k)!)).toEqual(store.get(k));
      expect(store.getText('o/missing')).toBeUndefined();
      expect(store.get('o/missing')).toBeUndefined();
    });
  });
});

describe('SqliteReplicaStore.lastKey', () => {
  it('answers what MemoryState answers: the greatest key under the prefix, from the primary key index', async () => {
    const keys = ['a', 'a/', 'a/1', 'a/2', 'a/2/x', 'a0', 'b', 't/x/fd/000000000009', 't/x/fd/000000000010', 't/x/fdx/u/000000000010', 't/x/fdseq'];
    const memory = new MemoryReplicaStore();
    memory.applyMutations(keys.map((key) => ({ key, value: 1 })));
    await withStore((store) => {
      store.applyMutations(keys.map((key) => ({ key, value: 1 })));
      for (const prefix of ['a/', 'a/2', 'a', 'a/3', 'c', '', 't/x/fd/', 't/x/fdx/']) expect([prefix, store.lastKey(prefix)]).toEqual([prefix, memory.lastKey(prefix)]);
      expect(store.lastKey('t/x/fd/')).toBe('t/x/fd/000000000010');
      const plan = store['storage'].sql.exec<{ detail: string }>(`EXPLAIN QUERY PLAN SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key DESC LIMIT 1`, 'a/', 'a/\uffff').toArray();
      expect(plan.map((r) => r.detail).join(' ')).toMatch(/SEARCH kv USING PRIMARY KEY/);
    });
  });
});
