import { describe, expect, it } from 'vitest';
import type { WatchDeps } from '../../../core/replication/detector.js';
import { judgeProbe, watchCell } from '../../../core/replication/detector.js';
import { promote } from '../../../core/replication/failover.js';
import { DEFAULT_HEALTH, HEALTHY } from '../../../core/replication/health.js';
import type { Mutation } from '../../../core/kv.js';
import type { Result } from '../../../core/result.js';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const put = (key: string, value: string) => (): Result<{ mutations: Mutation[]; reply: string }, never> => ok({ mutations: [{ key, value }], reply: key });
const REGIONS = ['wnam', 'apac', 'weur', 'eeur'];
const VOTERS = ['wnam', 'apac', 'weur'];

/**
 * Simulator seed 7326 (on the h22 branch): the primary commits the removal of voter weur with
 * weur's own acknowledgement and dies before weur hears it committed. The control plane's record
 * is older than the change, so the failover counts the old voters, and weur, the only one holding
 * the committed removal, is rightly promoted. Committing its adopted log, weur applies its own
 * removal and stays primary outside the membership; the detector fails it (`not_a_voter`), but
 * the record had followed the membership without weur, and every failover answered `invalid`.
 */
describe('failover of a primary that its own membership removed', () => {
  it('replaces a primary outside the recorded membership by a voter, and fences it', async () => {
    const c = new TestCluster(REGIONS, 'wnam', undefined, VOTERS);
    expect((await c.get('wnam').write(put('a', '1'))).ok).toBe(true);
    c.cut.add('wnam|apac');
    expect(await c.get('wnam').receive({ kind: 'members', change: { remove: 'weur' } })).toMatchObject({ kind: 'members_changed', members: { version: 1, voters: ['wnam', 'apac'] } });
    c.down.add('wnam'); // before weur hears that the change committed
    c.cut.delete('wnam|apac');
    // weur holds the removal, committed, not applied; apac does not hold it.
    const weur = c.get('weur').meta;
    expect([weur.membersVersion, weur.lastPos, weur.appliedPos]).toEqual([undefined, c.get('wnam').meta.lastPos, weur.lastPos - 1]);
    expect(c.get('apac').meta.lastPos).toBeLessThan(weur.lastPos);

    // The record predates the change: weur still votes there, and holds the longest log.
    const first = await promote(c.coordinator(), { regions: REGIONS, voters: VOTERS, membersVersion: 0, failedRegion: 'wnam', knownEpoch: 1 });
    expect(first).toEqual({ ok: true, value: { primaryRegion: 'weur', epoch: 2 } });
    // Its first write commits the adopted log (with apac), applying the removal: then it needs
    // both remaining voters, and wnam is still down.
    const blocked = await c.get('weur').write(put('b', '2'));
    expect(!blocked.ok && blocked.error.kind).toBe('not_durable');
    expect(c.get('weur').meta).toMatchObject({ role: 'primary', epoch: 2, membersVersion: 1, voters: ['wnam', 'apac'] });

    // wnam is back; weur, still primary, writes and adds eeur as a voter, and the record follows (version 2, no weur).
    c.down.delete('wnam');
    expect((await c.get('weur').write(put('b', '2'))).ok).toBe(true);
    const changed = await c.get('weur').receive({ kind: 'members', change: { add: 'eeur', voter: true } });
    expect(changed).toMatchObject({ kind: 'members_changed', members: { version: 2, regions: ['wnam', 'apac', 'eeur'], voters: ['wnam', 'apac', 'eeur'] } });
    const record = { regions: ['wnam', 'apac', 'eeur'], voters: ['wnam', 'apac', 'eeur'], membersVersion: 2, primaryRegion: 'weur', epoch: 2 };
    const probed = await c.coordinator().send('weur', { kind: 'probe' });
    expect(judgeProbe(probed, record)).toEqual({ kind: 'failed', why: 'not_a_voter' });

    const clock = { now: 0 };
    const transport = c.coordinator();
    const deps: WatchDeps = {
      transport,
      probe: (region) => transport.send(region, { kind: 'probe' }).catch(() => undefined),
      now: () => clock.now,
      sleep: async (ms) => void (clock.now += ms),
      config: DEFAULT_HEALTH,
    };
    const outcome = await watchCell(deps, record, { ...HEALTHY, lastSuccessAt: 0 });
    expect(outcome).toMatchObject({ kind: 'moved', epoch: 3, promoted: true });
    const next = outcome.kind === 'moved' ? outcome.region : '';
    expect(record.voters).toContain(next);
    expect(c.get('weur').meta).toMatchObject({ role: 'fenced', epoch: 3 });
    expect((await c.get(next).write(put('c', '3'))).ok).toBe(true);
    expect(c.get(next).state.get('b')).toBe('2');
  });
});
