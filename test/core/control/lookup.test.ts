import { describe, expect, it } from 'vitest';
import type { ControlSource } from '../../../core/control/lookup.js';
import type { CopyAnswer } from '../../../core/control/lookup.js';
import { askInOrder, confirmationSettles, controlRegion, controlSources, decideLookup, lookupSettles, mergeCell, missIsFinal } from '../../../core/control/lookup.js';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);
/** Timers that fire at once: the order of events, not their duration, is under test. */
const instant = () => Promise.resolve();
const found = (value: string): CopyAnswer<string> => ({ kind: 'found', value });
const miss = (final: boolean): CopyAnswer<string> => ({ kind: 'unknown', final });

describe('controlSources', () => {
  it('asks the primary first, then a replica per region in the given order', () => {
    expect(controlSources('weur', ['weur', 'eeur', 'enam'])).toEqual([
      { kind: 'primary', region: 'weur' },
      { kind: 'replica', region: 'weur' },
      { kind: 'replica', region: 'eeur' },
      { kind: 'replica', region: 'enam' },
    ]);
  });

  it('puts copies that failed lately last, keeping their order', () => {
    const order = controlSources('weur', ['weur', 'eeur'], new Set(['primary:weur', 'replica:weur']));
    expect(order.map((s) => `${s.kind}:${s.region}`)).toEqual(['replica:eeur', 'primary:weur', 'replica:weur']);
  });

  it('places the control plane in the configured region, else the first deployed one', () => {
    expect(controlRegion('apac', ['weur', 'apac'])).toBe('apac');
    expect(controlRegion('oc', ['weur', 'apac'])).toBe('weur');
    expect(controlRegion(undefined, ['enam', 'weur'])).toBe('enam');
  });
});

describe('askInOrder', () => {
  const sources = controlSources('weur', ['eeur', 'enam']);

  it('moves past a copy that never answers (a hung control plane costs one timeout, not the request)', async () => {
    const { asked, failed } = await askInOrder<CopyAnswer<string>>(sources, 1_500, {
      ask: (s: ControlSource) => (s.kind === 'primary' ? never() : Promise.resolve(found(`from ${s.region}`))),
      after: instant,
      settles: lookupSettles,
    });
    expect(asked).toEqual({ kind: 'answer', value: found('from eeur'), source: { kind: 'replica', region: 'eeur' } });
    expect(failed).toEqual([{ kind: 'primary', region: 'weur' }]);
  });

  it('moves past a copy that throws', async () => {
    const { asked } = await askInOrder<CopyAnswer<string>>(sources, 1_500, {
      ask: (s) => (s.region === 'enam' ? Promise.resolve(found('enam')) : Promise.reject(new Error('down'))),
      after: never,
      settles: lookupSettles,
    });
    expect(asked.kind === 'answer' && asked.source.region).toBe('enam');
  });

  it("asks on after a miss that is not final, even from the primary `global` (its control-cell replica may be behind)", async () => {
    const asked: string[] = [];
    const r = await askInOrder<CopyAnswer<string>>(sources, 1_500, {
      ask: (s) => (asked.push(s.region), Promise.resolve(s.region === 'enam' ? found('t') : miss(false))),
      after: never,
      settles: lookupSettles,
    });
    expect(asked).toEqual(['weur', 'eeur', 'enam']);
    expect(r.asked).toEqual({ kind: 'answer', value: found('t'), source: { kind: 'replica', region: 'enam' } });
  });

  it('stops at a final miss or a tombstone from any copy, the primary or a replica', async () => {
    for (const [answer, at] of [[miss(true), 'eeur'], [{ kind: 'deleted' } as CopyAnswer<string>, 'eeur'], [miss(true), 'weur']] as const) {
      const asked: string[] = [];
      const r = await askInOrder<CopyAnswer<string>>(sources, 1_500, { ask: (s) => (asked.push(s.region), Promise.resolve(s.region === at ? answer : miss(false))), after: never, settles: lookupSettles });
      expect(r.asked).toMatchObject({ kind: 'answer', value: answer, source: { region: at } });
      expect(asked[asked.length - 1]).toBe(at);
    }
  });

  it('reports none when no copy answers', async () => {
    const { asked, failed } = await askInOrder<string>(sources, 10, { ask: () => never(), after: instant, settles: () => true });
    expect(asked.kind).toBe('none');
    expect(failed).toHaveLength(3);
  });
});

describe('decideLookup', () => {
  it("uses a copy's answer over the last known one", () => {
    expect(decideLookup({ kind: 'answer', value: found('new'), source: { kind: 'replica', region: 'x' } }, 'old')).toEqual({ kind: 'found', value: 'new', stale: false });
    expect(decideLookup({ kind: 'answer', value: miss(true), source: { kind: 'primary', region: 'x' } }, 'old')).toEqual({ kind: 'absent' });
  });

  it('answers a tombstone from a replica as absent, over a last known placement', () => {
    expect(decideLookup({ kind: 'answer', value: { kind: 'deleted' }, source: { kind: 'replica', region: 'x' } }, 'old')).toEqual({ kind: 'absent' });
  });

  it('falls back to the last known answer when no copy answers, else unavailable (never a guess)', () => {
    expect(decideLookup({ kind: 'none', failed: [] }, 'old')).toEqual({ kind: 'found', value: 'old', stale: true });
    expect(decideLookup<string>({ kind: 'none', failed: [] }, undefined)).toEqual({ kind: 'unavailable' });
  });
});

describe('missIsFinal', () => {
  it("takes a miss as final only from the control cell's primary once a commit's majority of voters acknowledged its heartbeat", () => {
    expect(missIsFinal({ primary: true, reached: 1, needed: 1 })).toBe(true);
    expect(missIsFinal({ primary: true, reached: 0, needed: 0 })).toBe(true);
    // A deposed primary that has not heard of its successor: the fenced voters refuse its heartbeat.
    expect(missIsFinal({ primary: true, reached: 0, needed: 1 })).toBe(false);
    // A secondary, however caught up: it may not have applied the latest activation.
    expect(missIsFinal({ primary: false, reached: 2, needed: 1 })).toBe(false);
    // No confirmation asked (a pull joined another one) or the pull failed.
    expect(missIsFinal(undefined)).toBe(false);
  });
});

describe('mergeCell', () => {
  const base = { id: 'c', primaryRegion: 'weur', epoch: 1, regions: ['weur', 'eeur', 'enam'], voters: ['weur', 'eeur', 'enam'], membersVersion: 0 };

  it('keeps the primary of the higher epoch and the membership of the higher version, whatever the order', () => {
    const failedOver = { ...base, primaryRegion: 'eeur', epoch: 2 };
    const changed = { ...base, voters: ['weur', 'eeur', 'apac'], regions: ['weur', 'eeur', 'enam', 'apac'], membersVersion: 3 };
    const ab = mergeCell(failedOver, changed);
    const ba = mergeCell(changed, failedOver);
    expect(ab).toEqual(ba);
    expect(ab).toMatchObject({ primaryRegion: 'eeur', epoch: 2, membersVersion: 3, voters: ['weur', 'eeur', 'apac'] });
    expect(mergeCell(ab, ab)).toEqual(ab);
    expect(mergeCell(undefined, base)).toBe(base);
  });
});

describe('decideLookup with a merge', () => {
  it("keeps a primary the caller learnt of a newer epoch than a copy's answer (a copy that missed the failover)", () => {
    const known = { id: 'c', primaryRegion: 'eeur', epoch: 2, regions: ['weur', 'eeur'], voters: ['weur', 'eeur'], membersVersion: 0 };
    const stale = { ...known, primaryRegion: 'weur', epoch: 1 };
    const d = decideLookup({ kind: 'answer', value: { kind: 'found', value: stale }, source: { kind: 'primary', region: 'weur' } }, known, mergeCell);
    expect(d).toEqual({ kind: 'found', value: known, stale: false });
  });
});

describe('confirmationSettles', () => {
  it('settles on a failover or a healthy primary, but asks another copy after "lost, no failover from here"', () => {
    expect(confirmationSettles({ cell: { epoch: 3 }, verdict: 'moved' }, 2)).toBe(true);
    expect(confirmationSettles({ cell: { epoch: 2 }, verdict: 'healthy' }, 2)).toBe(true);
    // A copy cut off with the primary (or a newer primary it found) — only the epoch tells.
    expect(confirmationSettles({ cell: { epoch: 2 }, verdict: 'failed' }, 2)).toBe(false);
    expect(confirmationSettles({ cell: { epoch: 3 }, verdict: 'failed' }, 2)).toBe(true);
    expect(confirmationSettles(undefined, 2)).toBe(false);
  });
});
