import { describe, expect, it } from 'vitest';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const put = (key: string, value: string) => () => ok({ mutations: [{ key, value }], reply: key });

/**
 * Issue 10, bug 1: a secondary that learnt of a newer epoch from a `not_primary` reply kept the
 * generation of the old epoch, and then refused every append and snapshot of the new primary
 * (generation 0) as `stale_gen`: it stayed behind forever.
 */
describe('Replica.catchUp (new epoch learnt from not_primary)', () => {
  async function afterHandoff() {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    const weur = c.get('weur');
    // A burnt round moves the epoch-1 primary to generation 1; apac learns it.
    c.down.add('enam');
    c.down.add('apac');
    expect((await weur.write(put('lost', 'x'))).ok).toBe(false);
    c.down.delete('enam');
    c.down.delete('apac');
    expect((await weur.write(put('a', '1'))).ok).toBe(true);
    expect(await weur.pushAll()).toEqual([]);
    expect(c.get('apac').meta).toMatchObject({ epoch: 1, gen: 1 });
    // Planned handoff to enam; apac is not told (its push comes later).
    expect((await weur.handoff('enam')).ok).toBe(true);
    const enam = c.get('enam');
    expect(enam.meta).toMatchObject({ role: 'primary', epoch: 2, gen: 0 });
    expect((await enam.write(put('b', '2'))).ok).toBe(true);
    return c;
  }

  it('adopts the new epoch at generation 0, so it accepts the new primary', async () => {
    const c = await afterHandoff();
    const apac = c.get('apac');
    const target = c.get('enam').meta.appliedPos;
    // apac still points at weur, which answers not_primary (epoch 2, enam).
    expect(await apac.catchUp(target)).toBe(true);
    expect(apac.meta).toMatchObject({ epoch: 2, gen: 0, primaryRegion: 'enam' });
    expect(apac.state.get('b')).toBe('2');
  });

  it('is not wedged: the new primary\'s pushes reach it after such a catch-up', async () => {
    const c = await afterHandoff();
    const apac = c.get('apac');
    c.down.add('enam'); // the pull reaches only the old primary: apac learns the epoch, not the entries
    expect(await apac.catchUp(c.get('enam').meta.appliedPos)).toBe(false);
    expect(apac.meta).toMatchObject({ epoch: 2, primaryRegion: 'enam' });
    c.down.delete('enam');
    expect(await c.get('enam').pushAll()).toEqual([]);
    expect(apac.state.get('b')).toBe('2');
    expect(apac.meta.appliedPos).toBe(c.get('enam').meta.appliedPos);
  });

  it('after an unplanned failover, a replica that pulled from the fenced old primary still lets the new one commit', async () => {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    const weur = c.get('weur');
    c.down.add('enam');
    c.down.add('apac');
    expect((await weur.write(put('lost', 'x'))).ok).toBe(false);
    c.down.delete('apac');
    expect((await weur.write(put('a', '1'))).ok).toBe(true);
    c.down.delete('enam');
    expect(c.get('apac').meta).toMatchObject({ epoch: 1, gen: 1 });
    // The coordinator's fence reaches the old primary first; a token read at apac pulls from it
    // in between and learns epoch 2 from its not_primary answer; then apac's own fence arrives.
    await weur.receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' });
    await c.get('apac').catchUp(99);
    for (const r of ['enam', 'apac']) expect(await c.get(r).receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' })).toMatchObject({ kind: 'fenced', epoch: 2 });
    expect(await c.get('enam').receive({ kind: 'promote', epoch: 2 })).toMatchObject({ kind: 'ack', epoch: 2 });
    // The old primary's region is gone: apac is the only out-of-region peer left.
    c.down.add('weur');
    const res = await c.get('enam').write(put('b', '2'));
    expect(res.ok).toBe(true);
    expect(c.get('apac').meta).toMatchObject({ epoch: 2, lastPos: c.get('enam').meta.lastPos });
  });
});
