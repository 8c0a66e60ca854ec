import { describe, expect, it } from 'vitest';
import { MemoryReplicaStore } from '../../../core/replication/store.js';
import { Replica } from '../../../core/replication/replica.js';
import type { Entry, ReplicaReply, Transport } from '../../../core/replication/types.js';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

/** Regression tests for flaws the simulator found in the replication rules. */
const put = (key: string, value: string) => () => ok({ mutations: [{ key, value }], reply: key });
const e = (pos: number, key: string, epoch = 1, gen = 0): Entry => ({ epoch, gen, pos, muts: [{ key, value: `${key}@${epoch}.${gen}` }] });
const silent: Transport = { send: () => Promise.reject(new Error('unreachable')) };
const secondary = () => new Replica(new MemoryReplicaStore(), { cell: 'c1', region: 'enam' }, { cell: 'c1', regions: ['weur', 'enam', 'apac'], primaryRegion: 'weur', epoch: 1 }, silent);

describe('replication rules (regressions)', () => {
  it('never applies entries past the batch on the word of a commit position', async () => {
    const r = secondary();
    // An uncommitted tail from the epoch-1 primary...
    await r.receive({ kind: 'append', epoch: 1, gen: 0, primaryRegion: 'weur', entries: [e(1, 'a'), e(2, 'stale')], commitPos: 0 });
    // ...then the epoch-2 primary, whose log differs at 2, sends an empty heartbeat with its commit position.
    const reply = await r.receive({ kind: 'append', epoch: 2, gen: 0, primaryRegion: 'apac', entries: [], commitPos: 2 });
    expect(reply).toMatchObject({ kind: 'ack', appliedPos: 0 });
    expect(r.state.get('stale')).toBeUndefined();
    // A batch through 1 commits exactly 1.
    expect(await r.receive({ kind: 'append', epoch: 2, gen: 0, primaryRegion: 'apac', entries: [e(1, 'a')], commitPos: 2 })).toMatchObject({ appliedPos: 1 });
    expect(r.state.get('stale')).toBeUndefined();
  });

  it('a delayed snapshot does not wipe a newer (possibly acknowledged) tail', async () => {
    const r = secondary();
    await r.receive({ kind: 'append', epoch: 1, gen: 0, primaryRegion: 'weur', entries: [e(1, 'a'), e(2, 'b'), e(3, 'c')], commitPos: 0 });
    const snap = { epoch: 1, gen: 0, pos: 2, rows: [['a', 'a@1.0', null], ['b', 'b@1.0', null]] as Array<[string, string, null]> };
    const reply = await r.receive({ kind: 'snapshot', epoch: 1, gen: 0, primaryRegion: 'weur', snapshot: snap });
    expect(reply).toMatchObject({ kind: 'ack', lastPos: 3, appliedPos: 2 });
    expect(r.state.get('b')).toBe('b@1.0');
  });

  it('replicates an uncommitted tail longer than one batch (it used to be stuck forever)', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']); // batchSize 4
    c.down.add('enam');
    c.down.add('apac');
    for (let i = 0; i < 6; i++) expect((await c.get('weur').write(put(`lost${i}`, 'x'))).ok).toBe(false);
    c.down.delete('enam');
    c.down.delete('apac');
    expect((await c.get('weur').write(put('k', 'v'))).ok).toBe(true);
    expect(await c.get('weur').pushAll()).toEqual([]);
    expect(c.get('apac').state.get('k')).toBe('v');
    expect(c.get('apac').state.get('lost0')).toBeUndefined();
  });

  it('a replica that missed the fence still refuses a second primary of the same epoch', async () => {
    const r = secondary();
    expect(await r.receive({ kind: 'append', epoch: 2, gen: 0, primaryRegion: 'apac', entries: [e(1, 'a', 2)], commitPos: 0 })).toMatchObject({ kind: 'ack' });
    expect(await r.receive({ kind: 'append', epoch: 2, gen: 0, primaryRegion: 'weur', entries: [e(1, 'z', 2)], commitPos: 1 })).toMatchObject({ kind: 'stale_epoch', primaryRegion: 'apac' });
    expect(await r.receive({ kind: 'promote', epoch: 2 })).toMatchObject({ kind: 'stale_epoch' });
  });

  it('labels a snapshot with the origin of its last entry, not the current epoch', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    for (let i = 0; i < 3; i++) await c.get('weur').write(put(`k${i}`, 'v'));
    await c.get('enam').receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' });
    await c.get('enam').receive({ kind: 'promote', epoch: 2 });
    const reply = (await c.get('enam').receive({ kind: 'status' })) as Extract<ReplicaReply, { kind: 'status' }>;
    const snap = c.get('enam').snapshot();
    expect(snap.pos).toBe(reply.meta.appliedPos);
    expect(snap.epoch).toBe(reply.meta.appliedPos === 0 ? 0 : 1);
  });
});
