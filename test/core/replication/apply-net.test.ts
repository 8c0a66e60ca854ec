import { describe, expect, it } from 'vitest';
import type { Mutation } from '../../../core/kv.js';
import { MemoryReplicaStore } from '../../../core/replication/store.js';
import { acceptAppend, applyCommitted, netMutations } from '../../../core/replication/secondary.js';
import { MEMBERS_KEY } from '../../../core/replication/membership.js';
import type { Entry, ReplicaMeta } from '../../../core/replication/types.js';

const entry = (pos: number, muts: Mutation[]): Entry => ({ epoch: 1, gen: 0, pos, muts });

/** A store that records every mutation list it is asked to apply. */
class CountingStore extends MemoryReplicaStore {
  readonly applied: Mutation[][] = [];
  override applyMutations(muts: readonly Mutation[]): void {
    this.applied.push([...muts]);
    super.applyMutations(muts);
  }
}

const meta = (): ReplicaMeta => ({ cell: 'c', region: 'weur', regions: ['weur', 'enam', 'apac'], role: 'secondary', epoch: 1, gen: 0, primaryRegion: 'enam', lastPos: 0, lastEpoch: 0, lastGen: 0, appliedPos: 0, logStart: 1 });

describe('netMutations', () => {
  it('keeps only the last mutation of each key, deletes included, in the order of those last mutations', () => {
    const net = netMutations([
      entry(1, [{ key: 'user', value: 'a' }, { key: 'idx/a', value: 1 }]),
      entry(2, [{ key: 'user', value: 'b' }, { key: 'idx/a', value: null }, { key: 'idx/b', value: 1 }]),
      entry(3, [{ key: 'rec/3', value: 'x', expiresAt: 9 }, { key: 'user', value: 'c' }]),
    ]);
    expect(net).toEqual([
      { key: 'idx/a', value: null },
      { key: 'idx/b', value: 1 },
      { key: 'rec/3', value: 'x', expiresAt: 9 },
      { key: 'user', value: 'c' },
    ]);
  });
});

describe('applyCommitted', () => {
  it('applies a run of entries as one net mutation list, with the state and expiries of applying them one by one', () => {
    const entries = [
      entry(1, [{ key: 'user', value: 'a', expiresAt: 5 }, { key: 'idx/a', value: 1 }]),
      entry(2, [{ key: 'user', value: 'b' }, { key: 'idx/a', value: null }, { key: 'idx/b', value: 1 }]),
      entry(3, [{ key: 'gone', value: 1, expiresAt: 7 }, { key: 'gone', value: null }, { key: 'keep', value: 2, expiresAt: 8 }]),
    ];
    const batched = new CountingStore();
    const m = meta();
    batched.transaction(() => {
      batched.appendEntries(entries);
      applyCommitted(batched, m, 3);
    });
    const oneByOne = new MemoryReplicaStore();
    for (const e of entries) oneByOne.applyMutations(e.muts);
    expect(m.appliedPos).toBe(3);
    expect(batched.applied).toHaveLength(1);
    expect(batched.applied[0]).toHaveLength(5); // 8 mutations, 5 keys
    expect(batched.exportRows()).toEqual(oneByOne.exportRows());
    expect(batched.expiredKeys(100, 10)).toEqual(oneByOne.expiredKeys(100, 10));
  });

  it('still adopts a membership carried by any entry of the run', () => {
    const store = new CountingStore();
    const m = meta();
    const members = { version: 2, regions: ['weur', 'enam', 'apac'], voters: ['weur', 'enam'] };
    store.transaction(() => {
      store.appendEntries([entry(1, [{ key: MEMBERS_KEY, value: members }]), entry(2, [{ key: 'k', value: 1 }])]);
      applyCommitted(store, m, 2);
    });
    expect(m.voters).toEqual(['weur', 'enam']);
  });
});

describe('acceptAppend', () => {
  it('reads nothing back from the log for a batch of entries past its last position', () => {
    const store = new MemoryReplicaStore();
    let reads = 0;
    const entries = store.entries.bind(store);
    store.entries = (from, to, limit) => {
      reads++;
      return entries(from, to, limit);
    };
    const m = meta();
    const msg = (es: Entry[], commitPos: number) => ({ epoch: 1, gen: 0, primaryRegion: 'enam', entries: es, commitPos, prev: { epoch: 1, gen: 0 } });
    expect(acceptAppend(store, m, msg([entry(1, [{ key: 'a', value: 1 }])], 0))).toMatchObject({ kind: 'ack', lastPos: 1, appliedPos: 0 });
    expect(reads).toBe(0);
    // A resend of what it holds is still compared (and kept), and the commit position applies it.
    expect(acceptAppend(store, m, msg([entry(1, [{ key: 'a', value: 1 }])], 1))).toMatchObject({ kind: 'ack', lastPos: 1, appliedPos: 1 });
    expect(reads).toBeGreaterThan(0);
    expect(store.get('a')).toBe(1);
  });
});
