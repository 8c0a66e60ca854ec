import { describe, expect, it } from 'vitest';
import { NOT_DURABLE, routeToPrimary, UNREACHABLE, type PrimaryRoutingDeps, type PrimaryView, type RoutableOutcome } from '../../../core/replication/primary-routing.js';

type Answer = RoutableOutcome | 'timeout';

/** A scripted edge: each call answers the next scripted answer for its region; time moves only by sleeps and calls. */
function edge(script: Record<string, Answer[]>, opts: { control?: () => PrimaryView | undefined; callMs?: number } = {}) {
  let now = 0;
  let record: PrimaryView = { primaryRegion: 'weur', epoch: 1 };
  const calls: string[] = [];
  const sleeps: number[] = [];
  const noted: PrimaryView[] = [];
  const lookups: boolean[] = [];
  const deps: PrimaryRoutingDeps<PrimaryView, RoutableOutcome> = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    lookup: async (fresh) => {
      lookups.push(fresh);
      return record;
    },
    call: async (v) => {
      calls.push(v.primaryRegion);
      now += opts.callMs ?? 10;
      const a = script[v.primaryRegion]?.shift() ?? 'timeout';
      if (a === 'timeout') throw new Error('timeout');
      return a;
    },
    ensurePrimary: async () => {
      const c = opts.control?.();
      if (c === undefined) throw new Error('control plane unreachable');
      record = c;
      return c;
    },
    notePrimary: (_v, newer) => {
      noted.push(newer);
      if (newer.epoch > record.epoch) record = newer;
    },
  };
  return { deps, calls, sleeps, noted, lookups };
}

describe('routeToPrimary (core/replication/primary-routing.ts)', () => {
  it('answers at once with what the primary said', async () => {
    const e = edge({ weur: [{ kind: 'reply' }] });
    const r = await routeToPrimary(e.deps, 12_000);
    expect(r).toEqual({ outcome: { kind: 'reply' }, region: 'weur', attempts: 1, uncertain: false });
  });

  it('follows a primary that moved to a newer epoch, and notes it', async () => {
    const e = edge({ weur: [{ kind: 'not_primary', primaryRegion: 'eeur', epoch: 2 }], eeur: [{ kind: 'reply' }] });
    const r = await routeToPrimary(e.deps, 12_000);
    expect(e.calls).toEqual(['weur', 'eeur']);
    expect(e.noted).toEqual([{ primaryRegion: 'eeur', epoch: 2 }]);
    expect(r).toMatchObject({ outcome: { kind: 'reply' }, region: 'eeur', attempts: 2, uncertain: false });
  });

  it('has the control plane confirm an unreachable primary, retries at the new one, and says the first call is of unknown fate', async () => {
    const e = edge({ weur: ['timeout'], eeur: [{ kind: 'reply' }] }, { control: () => ({ primaryRegion: 'eeur', epoch: 2 }) });
    const r = await routeToPrimary(e.deps, 12_000);
    expect(e.calls).toEqual(['weur', 'eeur']);
    expect(r).toMatchObject({ outcome: { kind: 'reply' }, region: 'eeur', uncertain: true });
  });

  it('answers not_durable at once when the control plane keeps that primary (retrying it is futile)', async () => {
    const e = edge({ weur: [{ kind: 'unavailable', reason: NOT_DURABLE }] }, { control: () => ({ primaryRegion: 'weur', epoch: 1 }) });
    const r = await routeToPrimary(e.deps, 12_000);
    expect(r).toMatchObject({ outcome: { kind: 'unavailable', reason: NOT_DURABLE }, attempts: 1 });
  });

  it('backs off (100 ms doubling to 1 s) while neither primary nor control plane answers, and stops after the budget', async () => {
    const e = edge({}, { callMs: 800 });
    const r = await routeToPrimary(e.deps, 12_000);
    expect(r.outcome).toEqual({ kind: 'unavailable', reason: UNREACHABLE });
    expect(e.sleeps).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000]);
    expect(r.attempts).toBe(9);
    expect(r.uncertain).toBe(true);
  });

  it('re-reads the cell afresh when a replica names no newer primary than the edge knows, and retries', async () => {
    const e = edge({ weur: [{ kind: 'not_primary', primaryRegion: 'eeur', epoch: 1 }, { kind: 'reply' }] });
    const r = await routeToPrimary(e.deps, 12_000);
    expect(e.noted).toEqual([]);
    expect(e.lookups).toEqual([false, true]);
    expect(r).toMatchObject({ outcome: { kind: 'reply' }, region: 'weur', attempts: 2, uncertain: false });
  });
});
