import { describe, expect, it } from 'vitest';
import { ok } from '../../../core/result.js';
import type { ReplicaMessage } from '../../../core/replication/types.js';
import { TestCluster } from './cluster.js';

const put = (key: string, value: string) => () => ok({ mutations: [{ key, value }], reply: key });

/**
 * Issue 10 (simulator seed 7477): a primary's round ships to one voter after another, across
 * awaits. When the primary was fenced meanwhile (its epoch raised to the fence's, for another
 * candidate), the next voter got an append labelled with that new epoch and the old primary's
 * region: a replica behind took it as the new epoch's primary, spliced the old tail after what
 * the real primary committed, and refused the real primary. A later failover then preferred a log
 * missing a committed write, and the write's client retry ran it a second time.
 */
describe('Shipper (a primary fenced while its round is in flight)', () => {
  async function fencedMidRound() {
    const c = new TestCluster(['weur', 'enam', 'apac']);
    const weur = c.get('weur');
    expect((await weur.write(put('a', '1'))).ok).toBe(true);
    // The round's first voter (enam) is slow and then fails; meanwhile weur is fenced at epoch 2
    // for enam, a fence that apac has not received yet.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const appendsToApac: Array<Extract<ReplicaMessage, { kind: 'append' }>> = [];
    c.gate = async (from, to, msg) => {
      if (from === 'weur' && to === 'apac' && msg.kind === 'append') appendsToApac.push(msg);
      if (from === 'weur' && to === 'enam') {
        await held;
        c.cut.add('weur|enam');
      }
    };
    const round = weur.write(put('k', 'zombie'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await weur.receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' })).toMatchObject({ kind: 'fenced', epoch: 2 });
    release();
    const res = await round;
    c.gate = undefined;
    c.cut.clear();
    return { c, res, appendsToApac };
  }

  it('sends nothing labelled with an epoch it does not lead, and the round fails as fenced', async () => {
    const { c, res, appendsToApac } = await fencedMidRound();
    expect(res).toMatchObject({ ok: false, error: { kind: 'fenced', epoch: 2, primaryRegion: 'enam' } });
    expect(appendsToApac.filter((m) => m.epoch !== 1)).toEqual([]);
    const apac = c.get('apac');
    expect(apac.meta).toMatchObject({ epoch: 1, primaryRegion: 'weur' });
    // The old primary's uncommitted tail never reached it.
    expect(c.stores.get('apac')!.entries(1, 99, 99).flatMap((e) => e.muts.map((m) => m.value))).not.toContain('zombie');
  });

  it('leaves the rest of the cell free to complete the failover to the fence\'s candidate', async () => {
    const { c } = await fencedMidRound();
    // The coordinator's fence now reaches apac: it must accept enam as epoch 2's candidate.
    for (const r of ['enam', 'apac']) expect(await c.get(r).receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' })).toMatchObject({ kind: 'fenced', epoch: 2 });
    expect(await c.get('enam').receive({ kind: 'promote', epoch: 2 })).toMatchObject({ kind: 'ack', epoch: 2 });
    c.down.add('weur');
    const enam = c.get('enam');
    expect((await enam.write(put('b', '2'))).ok).toBe(true);
    const apac = c.get('apac');
    expect(apac.meta).toMatchObject({ epoch: 2, primaryRegion: 'enam', lastPos: enam.meta.lastPos });
    expect(apac.state.get('k')).toBeUndefined();
    expect(enam.state.get('k')).toBeUndefined();
  });
});
