import { describe, expect, it } from 'vitest';
import type { Json, Mutation } from '../../../core/kv.js';
import { Replica } from '../../../core/replication/replica.js';
import { MemoryReplicaStore } from '../../../core/replication/store.js';
import type { Entry, ReplicaMeta, Snapshot, Transport } from '../../../core/replication/types.js';
import { ok } from '../../../core/result.js';

/**
 * A store whose writes fail (disk full, storage reset) while `failing` is set, before changing
 * anything; with `onlyMeta`, only the metadata write fails (the last step of a transaction).
 */
class FailingStore extends MemoryReplicaStore {
  failing = false;
  onlyMeta = false;
  private check(meta = false): void {
    if (this.failing && (meta || !this.onlyMeta)) throw new Error('SQLITE_FULL');
  }
  override saveMeta(meta: ReplicaMeta): void {
    this.check(true);
    super.saveMeta(meta);
  }
  override appendEntries(entries: readonly Entry[]): void {
    this.check();
    super.appendEntries(entries);
  }
  override truncateFrom(pos: number): void {
    this.check();
    super.truncateFrom(pos);
  }
  override applyMutations(muts: readonly Mutation[]): void {
    this.check();
    super.applyMutations(muts);
  }
  override replaceRows(rows: Snapshot['rows']): void {
    this.check();
    super.replaceRows(rows);
  }
}

const peerAcks: Transport = { send: async (_to, msg) => (msg.kind === 'append' ? { kind: 'ack', lastPos: msg.entries.at(-1)?.pos ?? 0, appliedPos: msg.commitPos, epoch: msg.epoch } : { kind: 'stale_gen', epoch: 0, gen: 0 }) };
const replicaOn = (store: FailingStore, region: string) =>
  new Replica(store, { cell: 'c1', region }, { cell: 'c1', regions: ['weur', 'enam'], primaryRegion: 'weur', epoch: 1 }, peerAcks);
const entry = (pos: number, epoch = 1): Entry => ({ epoch, gen: 0, pos, muts: [{ key: `k${pos}`, value: 'v' as Json }] });

/** Issue 10, bug 6: metadata changed in memory inside a storage transaction that then failed. */
describe('Replica (storage transaction fails)', () => {
  it('a secondary keeps its metadata as stored when accepting an append fails', async () => {
    const store = new FailingStore();
    const r = replicaOn(store, 'enam');
    store.failing = true;
    await expect(r.receive({ kind: 'append', epoch: 2, gen: 3, primaryRegion: 'enam', entries: [entry(1, 2)], commitPos: 1 })).rejects.toThrow('SQLITE_FULL');
    expect(r.meta).toEqual(store.loadMeta());
    expect(r.meta).toMatchObject({ epoch: 1, gen: 0, role: 'secondary', primaryRegion: 'weur', lastPos: 0 });
  });

  it('a replica whose promotion could not be stored does not act as primary', async () => {
    const store = new FailingStore();
    const r = replicaOn(store, 'enam');
    await r.receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' });
    store.failing = true;
    await expect(r.receive({ kind: 'promote', epoch: 2 })).rejects.toThrow('SQLITE_FULL');
    expect(r.meta).toEqual(store.loadMeta());
    expect(r.meta.role).toBe('secondary');
    store.failing = false;
    const w = await r.write(() => ok({ mutations: [{ key: 'a', value: '1' }], reply: null }));
    expect(w.ok ? 'ok' : (w.error as { kind: string }).kind).toBe('not_primary');
  });

  it('a primary whose append could not be stored keeps its log position', async () => {
    const store = new FailingStore();
    const r = replicaOn(store, 'weur');
    expect((await r.write(() => ok({ mutations: [{ key: 'a', value: '1' }], reply: null }))).ok).toBe(true);
    store.failing = true;
    store.onlyMeta = true;
    await expect(r.write(() => ok({ mutations: [{ key: 'b', value: '2' }], reply: null }))).rejects.toThrow('SQLITE_FULL');
    expect(r.meta).toEqual(store.loadMeta());
    store.failing = false;
    const again = await r.write(() => ok({ mutations: [{ key: 'b', value: '2' }], reply: null }));
    expect(again.ok && again.value.pos).toBe(2);
  });
});
