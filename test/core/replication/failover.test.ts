import { describe, expect, it } from 'vitest';
import { compareLogs, mostUpToDate, promote } from '../../../core/replication/failover.js';
import type { Mutation } from '../../../core/kv.js';
import type { Result } from '../../../core/result.js';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const put = (key: string, value: string) => (): Result<{ mutations: Mutation[]; reply: string }, never> => ok({ mutations: [{ key, value }], reply: key });
const REGIONS = ['weur', 'enam', 'apac'];

describe('promote (unplanned failover)', () => {
  it('picks the replica holding the acknowledged write even when it is not the nearest', async () => {
    const c = new TestCluster(REGIONS);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    c.down.add('enam');
    expect((await c.get('weur').write(put('b', '2'))).ok).toBe(true); // durable on apac only
    c.down.delete('enam');
    c.down.add('weur');
    const res = await promote(c.coordinator(), { regions: REGIONS, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toEqual({ ok: true, value: { primaryRegion: 'apac', epoch: 2 } });
    expect((await c.get('apac').write(put('c', '3'))).ok).toBe(true);
    expect(c.get('apac').state.get('b')).toBe('2');
    await c.get('apac').pushAll();
    expect(c.get('enam').state.get('b')).toBe('2');
  });

  it('refuses, retryably, while an out-of-region replica is unreachable, and promotes nobody', async () => {
    const c = new TestCluster(REGIONS);
    await c.get('weur').write(put('a', '1'));
    c.down.add('weur');
    const res = await promote(c.coordinator(new Set(['apac'])), { regions: REGIONS, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toEqual({ ok: false, error: { kind: 'unreachable', regions: ['apac'], retryable: true } });
    expect(c.get('enam').meta.role).not.toBe('primary');
    expect(c.get('apac').meta.role).not.toBe('primary');
  });

  it('a fenced old primary that is still running can never acknowledge again', async () => {
    const c = new TestCluster(REGIONS);
    await c.get('weur').write(put('a', '1'));
    // The coordinator cannot reach weur, but weur still reaches its peers.
    const res = await promote(c.coordinator(new Set(['weur'])), { regions: REGIONS, failedRegion: 'weur', knownEpoch: 1 });
    expect(res.ok).toBe(true);
    const stale = await c.get('weur').write(put('b', '2'));
    expect(stale.ok).toBe(false);
    expect(!stale.ok && stale.error.kind).toBe('fenced');
    expect(c.get('weur').meta.role).toBe('fenced');
    const primary = res.ok ? res.value.primaryRegion : '';
    expect((await c.get(primary).write(put('c', '3'))).ok).toBe(true);
    expect(c.get(primary).state.get('b')).toBeUndefined();
  });

  it('two coordinators racing for one epoch cannot both install a primary', async () => {
    const c = new TestCluster(REGIONS);
    await c.get('weur').write(put('a', '1'));
    expect(await c.get('apac').receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' })).toMatchObject({ kind: 'fenced', epoch: 2 });
    expect(await c.get('apac').receive({ kind: 'fence', epoch: 2, candidateRegion: 'enam' })).toMatchObject({ kind: 'fenced' }); // a retry is fine
    expect(await c.get('apac').receive({ kind: 'fence', epoch: 2, candidateRegion: 'apac' })).toMatchObject({ kind: 'stale_epoch' });
    expect(await c.get('apac').receive({ kind: 'promote', epoch: 2 })).toMatchObject({ kind: 'stale_epoch' });
    // Entries of epoch 2 from anyone but the promised candidate are refused.
    const entries = c.stores.get('weur')!.entries(1, 1, 10);
    expect(await c.get('apac').receive({ kind: 'append', epoch: 2, gen: 0, primaryRegion: 'weur', entries, commitPos: 1 })).toMatchObject({ kind: 'stale_epoch' });
  });

  it('a concurrent higher fence supersedes the attempt', async () => {
    const c = new TestCluster(REGIONS);
    await c.get('enam').receive({ kind: 'fence', epoch: 5, candidateRegion: 'enam' });
    c.down.add('weur');
    // knownEpoch 1 and status says 5: the attempt fences at 6, above the concurrent one.
    const res = await promote(c.coordinator(), { regions: REGIONS, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toMatchObject({ ok: true, value: { epoch: 6 } });
  });

  it('waits for the suspect when the others are too few for a majority (a two-voter cell)', async () => {
    const regions = ['weur', 'eeur'];
    const c = new TestCluster(regions);
    await c.get('weur').write(put('a', '1'));
    // The suspect is alive but answers after the other voter: it was never a lost primary's
    // silence, and without its vote no majority of two exists. Seed 2616 stalled here forever.
    const direct = c.coordinator();
    const slowSuspect = {
      send: async (to: string, msg: Parameters<typeof direct.send>[1]) => {
        if (to === 'weur') await new Promise((r) => setTimeout(r, 5));
        return direct.send(to, msg);
      },
    };
    const res = await promote(slowSuspect, { regions, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toMatchObject({ ok: true, value: { epoch: 2 } });
    const primary = res.ok ? res.value.primaryRegion : '';
    expect((await c.get(primary).write(put('b', '2'))).ok).toBe(true);
  });

  it('orders logs by epoch, generation, position, then region order', () => {
    const regions = ['a', 'b', 'c'];
    const logs = [
      { region: 'c', lastEpoch: 1, lastGen: 2, lastPos: 5 },
      { region: 'b', lastEpoch: 1, lastGen: 2, lastPos: 5 },
      { region: 'a', lastEpoch: 1, lastGen: 1, lastPos: 9 },
    ];
    expect(mostUpToDate(logs, regions)).toBe('b');
    expect(compareLogs(logs[2]!, logs[0]!, regions)).toBeGreaterThan(0);
    expect(mostUpToDate([...logs, { region: 'c', lastEpoch: 2, lastGen: 0, lastPos: 1 }], regions)).toBe('c');
  });
});

describe('promotion commits the adopted log before serving it', () => {
  it('does not apply an adopted tail until an out-of-region replica holds it', async () => {
    const c = new TestCluster(REGIONS);
    await c.get('weur').write(put('a', '1'));
    // An uncommitted entry (its primary's outcome was ambiguous) reached enam only.
    const entries = [...c.stores.get('weur')!.entries(1, 1, 1), { epoch: 1, gen: 0, pos: 2, muts: [{ key: 'x', value: 'maybe' }] }];
    expect(await c.get('enam').receive({ kind: 'append', epoch: 1, gen: 0, primaryRegion: 'weur', entries, commitPos: 1 })).toMatchObject({ kind: 'ack', lastPos: 2 });
    c.down.add('weur');
    const res = await promote(c.coordinator(), { regions: REGIONS, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toMatchObject({ ok: true, value: { primaryRegion: 'enam' } });
    expect(c.get('enam').state.get('x')).toBeUndefined(); // adopted, not yet committed
    expect(c.get('enam').meta.lastEpoch).toBe(2); // the new epoch's opening entry
    c.down.add('apac');
    expect((await c.get('enam').write(put('b', '2'))).ok).toBe(false); // cannot commit it: nothing planned on top
    expect(c.get('enam').state.get('x')).toBeUndefined();
    c.down.delete('apac');
    expect((await c.get('enam').write(put('b', '2'))).ok).toBe(true);
    expect(c.get('enam').state.get('x')).toBe('maybe');
    expect(c.get('apac').meta.lastEpoch).toBe(2);
  });
});

describe('handoff (planned failover)', () => {
  it('moves the primary without losing an acknowledged write', async () => {
    const c = new TestCluster(REGIONS);
    c.down.add('apac');
    for (let i = 0; i < 12; i++) expect((await c.get('weur').write(put(`k${i}`, `v${i}`))).ok).toBe(true);
    c.down.delete('apac'); // far behind, past compaction
    const reply = await c.get('weur').receive({ kind: 'handoff', targetRegion: 'apac' });
    expect(reply).toEqual({ kind: 'handed_off', primaryRegion: 'apac', epoch: 2 });
    expect(c.get('weur').meta).toMatchObject({ role: 'fenced', epoch: 2, primaryRegion: 'apac' });
    expect(c.get('apac').meta).toMatchObject({ role: 'primary', epoch: 2 });
    const old = await c.get('weur').write(put('late', 'x'));
    expect(!old.ok && old.error.kind).toBe('not_primary');
    expect((await c.get('apac').write(put('next', 'y'))).ok).toBe(true);
    for (let i = 0; i < 12; i++) expect(c.get('apac').state.get(`k${i}`)).toBe(`v${i}`);
  });

  it('promises the new epoch to its target on a majority first, so a failover racing it for that epoch is never also promoted (seed 3124)', async () => {
    const five = ['weur', 'enam', 'apac', 'eeur', 'wnam'];
    const c = new TestCluster(five);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    // A coordinator that suspected weur fenced a majority without weur and enam at epoch 2 for apac, and promoted it.
    for (const r of ['apac', 'eeur', 'wnam']) expect(await c.get(r).receive({ kind: 'fence', epoch: 2, candidateRegion: 'apac' })).toMatchObject({ kind: 'fenced', epoch: 2 });
    expect(await c.get('apac').receive({ kind: 'promote', epoch: 2 })).toMatchObject({ kind: 'ack', epoch: 2 });
    // The handoff to enam, which the coordinator never fenced, must not make a second primary of epoch 2.
    expect(await c.get('weur').receive({ kind: 'handoff', targetRegion: 'enam' })).toMatchObject({ kind: 'handoff_failed' });
    expect(c.get('enam').meta.role).not.toBe('primary');
    expect(c.get('weur').meta.role).not.toBe('primary');
  });

  it('refuses when the target is unreachable, and stays primary', async () => {
    const c = new TestCluster(REGIONS);
    await c.get('weur').write(put('a', '1'));
    c.down.add('apac');
    expect(await c.get('weur').receive({ kind: 'handoff', targetRegion: 'apac' })).toMatchObject({ kind: 'handoff_failed', reason: 'unreachable' });
    expect(c.get('weur').meta.role).toBe('primary');
    expect((await c.get('weur').write(put('b', '2'))).ok).toBe(true);
  });
});
