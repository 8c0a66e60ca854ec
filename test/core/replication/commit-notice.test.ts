import { describe, expect, it } from 'vitest';
import { MemoryReplicaStore } from '../../../core/replication/store.js';
import { Replica } from '../../../core/replication/replica.js';
import type { Entry, Transport } from '../../../core/replication/types.js';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const put = (key: string, value: string) => () => ok({ mutations: [{ key, value }], reply: key });
const e = (pos: number, key: string, epoch = 1, gen = 0): Entry => ({ epoch, gen, pos, muts: [{ key, value: `${key}@${epoch}.${gen}` }] });
const silent: Transport = { send: () => Promise.reject(new Error('unreachable')) };
const secondary = () => new Replica(new MemoryReplicaStore(), { cell: 'c1', region: 'enam' }, { cell: 'c1', regions: ['weur', 'enam', 'apac'], primaryRegion: 'weur', epoch: 1 }, silent);
const label = { epoch: 1, gen: 0, primaryRegion: 'weur' };

describe('commit notices (shipping.ts, secondary.ts)', () => {
  it('sends each entry to each peer once: the push after a commit round tells a voter the commit without the entries', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    for (let i = 0; i < 3; i++) {
      expect((await c.get('weur').write(put(`k${i}`, 'v'))).ok).toBe(true);
      expect(await c.get('weur').pushAll()).toEqual([]);
    }
    for (const r of ['enam', 'apac']) {
      const entries = c.sent.filter((s) => s.from === 'weur' && s.to === r && s.kind === 'append').reduce((n, s) => n + s.entries, 0);
      expect(entries, r).toBe(3);
      expect(c.get(r).state.get('k2'), r).toBe('v');
      expect(c.get(r).meta.appliedPos, r).toBe(3);
    }
  });

  it('applies through the notice position when the log holds that entry as labelled', async () => {
    const r = secondary();
    await r.receive({ kind: 'append', ...label, entries: [e(1, 'a'), e(2, 'b')], commitPos: 0 });
    expect(r.meta.appliedPos).toBe(0);
    const reply = await r.receive({ kind: 'append', ...label, entries: [], commitPos: 5, prev: { epoch: 1, gen: 0 }, prevPos: 2 });
    expect(reply).toMatchObject({ kind: 'ack', appliedPos: 2 });
    expect(r.state.get('b')).toBe('b@1.0');
  });

  it('applies no further than the commit position', async () => {
    const r = secondary();
    await r.receive({ kind: 'append', ...label, entries: [e(1, 'a'), e(2, 'b')], commitPos: 0 });
    expect(await r.receive({ kind: 'append', ...label, entries: [], commitPos: 1, prev: { epoch: 1, gen: 0 }, prevPos: 2 })).toMatchObject({ kind: 'ack', appliedPos: 1 });
    expect(r.state.get('b')).toBeUndefined();
  });

  it("answers gap to a notice for an entry it holds under another label (another primary's tail), applying nothing", async () => {
    const r = secondary();
    await r.receive({ kind: 'append', ...label, entries: [e(1, 'a'), e(2, 'stale')], commitPos: 0 });
    const reply = await r.receive({ kind: 'append', epoch: 2, gen: 0, primaryRegion: 'apac', entries: [], commitPos: 2, prev: { epoch: 2, gen: 0 }, prevPos: 2 });
    expect(reply).toMatchObject({ kind: 'gap', appliedPos: 0 });
    expect(r.state.get('stale')).toBeUndefined();
  });

  it('answers gap to a notice past the end of its log', async () => {
    const r = secondary();
    await r.receive({ kind: 'append', ...label, entries: [e(1, 'a')], commitPos: 0 });
    expect(await r.receive({ kind: 'append', ...label, entries: [], commitPos: 3, prev: { epoch: 1, gen: 0 }, prevPos: 3 })).toMatchObject({ kind: 'gap', appliedPos: 0 });
  });

  it('acknowledges a notice at or before what it applied, changing nothing', async () => {
    const r = secondary();
    await r.receive({ kind: 'append', ...label, entries: [e(1, 'a'), e(2, 'b')], commitPos: 2 });
    expect(await r.receive({ kind: 'append', ...label, entries: [], commitPos: 2, prev: { epoch: 9, gen: 9 }, prevPos: 1 })).toMatchObject({ kind: 'ack', appliedPos: 2 });
  });

  it('recovers when a peer lost what it was known to hold: the gap brings the entries again', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    // apac loses its log (a fresh store); the primary still thinks it holds entry 1.
    c.stores.set('apac', new MemoryReplicaStore());
    c.boot('apac');
    expect((await c.get('weur').write(put('b', '2'))).ok).toBe(true);
    expect(await c.get('weur').pushAll()).toEqual([]);
    expect(c.get('apac').state.get('a')).toBe('1');
    expect(c.get('apac').state.get('b')).toBe('2');
  });
});
