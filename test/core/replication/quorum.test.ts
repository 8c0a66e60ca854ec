import { describe, expect, it } from 'vitest';
import { promote } from '../../../core/replication/failover.js';
import { judgeProbe } from '../../../core/replication/detector.js';
import type { Mutation } from '../../../core/kv.js';
import type { Result } from '../../../core/result.js';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const put = (key: string, value: string) => (): Result<{ mutations: Mutation[]; reply: string }, never> => ok({ mutations: [{ key, value }], reply: key });
const FIVE = ['weur', 'eeur', 'enam', 'wnam', 'apac'];

describe('promote with a majority of voters (issue 11, finding 1)', () => {
  it('fails over while one other region is unreachable (five voters: a minority of two lost)', async () => {
    const c = new TestCluster(FIVE);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    c.down.add('weur');
    c.down.add('eeur');
    const res = await promote(c.coordinator(), { regions: FIVE, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toMatchObject({ ok: true, value: { epoch: 2 } });
    const primary = res.ok ? res.value.primaryRegion : '';
    expect((await c.get(primary).write(put('b', '2'))).ok).toBe(true);
    expect(c.get(primary).state.get('a')).toBe('1');
  });
});

describe('voters and learners', () => {
  const THREE_OF_FIVE = ['weur', 'eeur', 'enam'];

  it('fails over while a learner region is unreachable (three voters of five regions)', async () => {
    const c = new TestCluster(FIVE, 'weur', undefined, THREE_OF_FIVE);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    c.down.add('weur');
    c.down.add('apac'); // a learner: never waited for
    const res = await promote(c.coordinator(), { regions: FIVE, voters: THREE_OF_FIVE, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toMatchObject({ ok: true, value: { epoch: 2 } });
    expect(['eeur', 'enam']).toContain(res.ok ? res.value.primaryRegion : '');
  });

  it('refuses a failover while a majority of voters is lost, and promotes nobody', async () => {
    const c = new TestCluster(FIVE, 'weur', undefined, THREE_OF_FIVE);
    await c.get('weur').write(put('a', '1'));
    c.down.add('weur');
    c.down.add('eeur');
    const res = await promote(c.coordinator(), { regions: FIVE, voters: THREE_OF_FIVE, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toEqual({ ok: false, error: { kind: 'unreachable', regions: ['eeur'], retryable: true } });
    for (const r of FIVE.slice(1)) if (!c.down.has(r)) expect(c.get(r).meta.role).not.toBe('primary');
  });

  it('never promotes a learner, even one holding a longer log', async () => {
    const c = new TestCluster(FIVE, 'weur', undefined, THREE_OF_FIVE);
    await c.get('weur').write(put('a', '1'));
    await c.get('weur').pushAll();
    const entries = c.stores.get('weur')!.entries(1, 1, 1);
    const tail = [...entries, { epoch: 1, gen: 0, pos: 2, muts: [{ key: 'x', value: 'uncommitted' }] }];
    await c.get('apac').receive({ kind: 'append', epoch: 1, gen: 0, primaryRegion: 'weur', entries: tail, commitPos: 1 });
    c.down.add('weur');
    const res = await promote(c.coordinator(), { regions: FIVE, voters: THREE_OF_FIVE, failedRegion: 'weur', knownEpoch: 1 });
    expect(res.ok && ['eeur', 'enam'].includes(res.value.primaryRegion)).toBe(true);
  });

  it('acknowledges a write once a majority of voters hold it, with learners down', async () => {
    const c = new TestCluster(FIVE, 'weur', undefined, THREE_OF_FIVE);
    c.down.add('enam');
    c.down.add('wnam');
    c.down.add('apac');
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    expect(c.stores.get('eeur')!.entries(1, 1, 1)).toHaveLength(1);
    expect(c.sent.filter((m) => m.kind === 'append').map((m) => m.to)).toEqual(['eeur']); // learners are not shipped to synchronously
  });

  it('with five voters, needs two other regions: one is not enough', async () => {
    const c = new TestCluster(FIVE);
    for (const r of ['enam', 'wnam', 'apac']) c.down.add(r);
    const res = await c.get('weur').write(put('a', '1'));
    expect(!res.ok && res.error.kind).toBe('not_durable');
    c.down.delete('apac');
    expect((await c.get('weur').write(put('a', '2'))).ok).toBe(true);
  });

  it('a primary that reaches too few voters is cut off for the failure detector', async () => {
    const c = new TestCluster(FIVE);
    for (const r of ['enam', 'wnam', 'apac']) c.down.add(r);
    const cell = { regions: FIVE, primaryRegion: 'weur', epoch: 1 };
    const cutOff = await c.get('weur').receive({ kind: 'probe' });
    expect(cutOff).toMatchObject({ kind: 'probed', reaches: ['eeur'] });
    expect(judgeProbe(cutOff, cell)).toEqual({ kind: 'failed', why: 'cut_off' });
    c.down.delete('apac');
    const reply = await c.get('weur').receive({ kind: 'probe' });
    expect(reply.kind === 'probed' && [...reply.reaches].sort()).toEqual(['apac', 'eeur']);
    expect(judgeProbe(reply, cell)).toEqual({ kind: 'ok', epoch: 1 });
  });
});

describe('promotion counts a fenced failed primary that answers', () => {
  it('recovers a cell whose handoff target was lost: the old primary, fenced, is promoted again', async () => {
    const THREE = ['weur', 'eeur', 'enam'];
    const c = new TestCluster(THREE);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    // A handoff fenced weur for enam, then enam was lost before its promotion.
    expect(await c.get('weur').receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' })).toMatchObject({ kind: 'fenced' });
    c.down.add('enam');
    const res = await promote(c.coordinator(), { regions: THREE, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toMatchObject({ ok: true, value: { epoch: 3 } });
    const p = res.ok ? res.value.primaryRegion : '';
    expect((await c.get(p).write(put('b', '2'))).ok).toBe(true);
    expect(c.get(p).state.get('a')).toBe('1');
  });
});
