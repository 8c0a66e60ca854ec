import { describe, expect, it } from 'vitest';
import { promote } from '../../../core/replication/failover.js';
import type { Membership } from '../../../core/replication/membership.js';
import { MEMBERS_KEY, majority, planChange, planStep, remoteAcksNeeded, singleStep } from '../../../core/replication/membership.js';
import { MemoryState } from '../../../core/kv.js';
import type { Mutation } from '../../../core/kv.js';
import type { Result } from '../../../core/result.js';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const put = (key: string, value: string) => (): Result<{ mutations: Mutation[]; reply: string }, never> => ok({ mutations: [{ key, value }], reply: key });
const FOUR = ['weur', 'eeur', 'enam', 'apac'];
const VOTERS = ['weur', 'eeur', 'enam'];
const base: Membership = { version: 0, regions: FOUR, voters: VOTERS };

describe('planChange (single-step membership changes)', () => {
  it('replaces a voter by removing it first, then adding the new one: each step one voter away', () => {
    const r = planChange(base, 'weur', { add: 'apac', remove: 'enam', voter: true });
    expect(r).toEqual({
      ok: true,
      value: [
        { version: 1, regions: ['weur', 'eeur', 'apac'], voters: ['weur', 'eeur'] },
        { version: 2, regions: ['weur', 'eeur', 'apac'], voters: ['weur', 'eeur', 'apac'] },
      ],
    });
    const steps = r.ok ? r.value : [];
    expect(singleStep(base.voters, steps[0]!.voters) && singleStep(steps[0]!.voters, steps[1]!.voters)).toBe(true);
  });

  it('adds a learner, promotes it, demotes a voter, and changes nothing when nothing differs', () => {
    expect(planChange({ ...base, regions: VOTERS }, 'weur', { add: 'apac' })).toMatchObject({ ok: true, value: [{ regions: FOUR, voters: VOTERS }] });
    expect(planChange(base, 'weur', { add: 'apac', voter: true })).toMatchObject({ ok: true, value: [{ voters: FOUR }] });
    expect(planChange(base, 'weur', { add: 'enam', voter: false })).toMatchObject({ ok: true, value: [{ regions: FOUR, voters: ['weur', 'eeur'] }] });
    expect(planChange(base, 'weur', { add: 'enam', voter: true })).toEqual({ ok: true, value: [] });
    // A learner leaves and a new voter joins: one voter apart, so one step.
    expect(planChange(base, 'weur', { remove: 'apac', add: 'oc', voter: true })).toMatchObject({ ok: true, value: [{ version: 1, regions: ['weur', 'eeur', 'enam', 'oc'], voters: ['weur', 'eeur', 'enam', 'oc'] }] });
  });

  it('refuses to remove or demote the primary, unknown regions, and empty changes', () => {
    expect(planChange(base, 'weur', { remove: 'weur' })).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    expect(planChange(base, 'weur', { add: 'weur', voter: false })).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    expect(planChange(base, 'weur', { remove: 'oc' })).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    expect(planChange(base, 'weur', {})).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    expect(planChange(base, 'weur', { add: 'apac', remove: 'apac' })).toMatchObject({ ok: false, error: { kind: 'invalid' } });
  });

  it('a step is refused while another change is staged or committed past the one it starts from', () => {
    const state = new MemoryState();
    const to: Membership = { version: 1, regions: FOUR, voters: FOUR };
    expect(planStep(state, base, to).ok).toBe(true);
    state.apply([{ key: MEMBERS_KEY, value: { version: 1, regions: FOUR, voters: FOUR } }]);
    expect(planStep(state, base, to)).toEqual({ ok: false, error: { kind: 'in_flight' } });
  });

  it('counts majorities of the voting set, the primary included', () => {
    expect([1, 2, 3, 4, 5].map(majority)).toEqual([1, 2, 2, 3, 3]);
    expect(remoteAcksNeeded({ region: 'weur', regions: FOUR, voters: VOTERS })).toBe(1);
    expect(remoteAcksNeeded({ region: 'weur', regions: FOUR, voters: undefined })).toBe(2);
  });
});

describe('membership change through the log', () => {
  it('replaces a lost voter with a learner; the lost region no longer blocks writes or failover', async () => {
    const c = new TestCluster(FOUR, 'weur', undefined, VOTERS);
    expect((await c.get('weur').write(put('a', '1'))).ok).toBe(true);
    c.down.add('enam'); // lost for good
    const changed = await c.get('weur').receive({ kind: 'members', change: { add: 'apac', remove: 'enam', voter: true } });
    expect(changed).toEqual({ kind: 'members_changed', members: { version: 2, regions: ['weur', 'eeur', 'apac'], voters: ['weur', 'eeur', 'apac'] } });
    expect((await c.get('weur').write(put('b', '2'))).ok).toBe(true);
    await c.get('weur').pushAll();
    expect(c.get('apac').meta).toMatchObject({ voters: ['weur', 'eeur', 'apac'], membersVersion: 2 });
    // The primary is lost too: the new voting set still has a majority (eeur, apac); the
    // coordinator's record is stale (it still names enam) and the replicas tell it better.
    c.down.add('weur');
    const res = await promote(c.coordinator(), { regions: FOUR, voters: VOTERS, failedRegion: 'weur', knownEpoch: 1 });
    expect(res).toMatchObject({ ok: true });
    const p = res.ok ? res.value.primaryRegion : '';
    expect(['eeur', 'apac']).toContain(p);
    expect((await c.get(p).write(put('c', '3'))).ok).toBe(true);
    expect(c.get(p).state.get('b')).toBe('2');
  });

  it('only the primary changes membership; a secondary names it', async () => {
    const c = new TestCluster(FOUR, 'weur', undefined, VOTERS);
    expect(await c.get('eeur').receive({ kind: 'members', change: { add: 'apac', voter: true } })).toMatchObject({ kind: 'members_refused', reason: 'not_primary', primaryRegion: 'weur' });
  });

  it('a change that cannot reach a majority fails, and the membership stays as it was', async () => {
    const c = new TestCluster(FOUR, 'weur', undefined, VOTERS);
    c.down.add('eeur');
    c.down.add('enam');
    expect(await c.get('weur').receive({ kind: 'members', change: { add: 'apac', voter: true } })).toMatchObject({ kind: 'members_refused', reason: 'not_durable' });
    expect(c.get('weur').meta.voters).toEqual(VOTERS);
  });

  it('a learner promoted by a change catches up and then counts toward the majority', async () => {
    const c = new TestCluster(FOUR, 'weur', undefined, VOTERS);
    for (let i = 0; i < 20; i++) await c.get('weur').write(put(`k${i}`, `${i}`)); // apac far behind, past compaction
    expect(await c.get('weur').receive({ kind: 'members', change: { add: 'apac', voter: true } })).toMatchObject({ kind: 'members_changed' });
    c.down.add('eeur');
    c.down.add('enam');
    const r = await c.get('weur').write(put('z', 'z'));
    expect(!r.ok && r.error.kind).toBe('not_durable'); // four voters: three needed
    c.down.delete('eeur');
    expect((await c.get('weur').write(put('z', 'z'))).ok).toBe(true);
    expect(c.get('apac').state.get('k19')).toBe('19');
  });
});
