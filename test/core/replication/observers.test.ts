import { describe, expect, it } from 'vitest';
import type { WatchDeps, WatchedCell } from '../../../core/replication/detector.js';
import { probeCell, watchCell } from '../../../core/replication/detector.js';
import { DEFAULT_HEALTH } from '../../../core/replication/health.js';
import type { ObserverVote, Observers } from '../../../core/replication/observers.js';
import { confirmLoss, decideLoss, observerRegions } from '../../../core/replication/observers.js';
import type { Transport } from '../../../core/replication/types.js';
import { ok } from '../../../core/result.js';
import { TestCluster } from './cluster.js';

const REGIONS = ['enam', 'weur', 'apac'];
/** Primary in enam; the watcher (control region) is weur. */
const cell: WatchedCell = { regions: REGIONS, voters: REGIONS, primaryRegion: 'enam', epoch: 1 };
const put = (key: string, value: string) => () => ok({ mutations: [{ key, value }], reply: key });
const votes = (o: Record<string, ObserverVote>) => new Map(Object.entries(o));

/** A transport leaving from `region`: refused into regions cut from it (and down ones). */
function from(c: TestCluster, region: string): Transport {
  const cut = new Set(REGIONS.filter((r) => c.down.has(region) || c.cut.has(`${region}|${r}`) || c.cut.has(`${r}|${region}`)));
  return c.coordinator(cut);
}

/** The observers as the glue builds them: each asked from the watcher's region, probing from its own. */
function observers(c: TestCluster, self: string, asked: string[] = []): Observers {
  return {
    self,
    ask: async (region, watched) => {
      asked.push(region);
      // The watcher's call to the observer crosses the network too.
      if (c.down.has(region) || c.down.has(self) || c.cut.has(`${self}|${region}`) || c.cut.has(`${region}|${self}`)) return 'no_answer';
      const t = from(c, region);
      const verdict = await probeCell({ probe: (r) => t.send(r, { kind: 'probe' }).catch(() => undefined) }, watched);
      return verdict.kind === 'ok' ? 'reachable' : 'lost';
    },
  };
}

function deps(c: TestCluster, watcher: string, obs?: Observers): WatchDeps {
  const clock = { now: 0 };
  const t = from(c, watcher);
  return {
    transport: t,
    probe: (region) => t.send(region, { kind: 'probe' }).catch(() => undefined),
    now: () => clock.now,
    sleep: async (ms) => void (clock.now += ms),
    config: DEFAULT_HEALTH,
    observers: obs,
  };
}

describe('decideLoss (a majority of all observers, silent ones never count for a failover)', () => {
  const three = ['enam', 'weur', 'apac'];
  it('confirms once a majority reports the primary lost', () => {
    expect(decideLoss(three, votes({ weur: 'lost', apac: 'lost' }))).toBe('confirmed');
    expect(decideLoss(['a', 'b', 'c', 'd', 'e'], votes({ a: 'lost', b: 'lost', c: 'lost', d: 'reachable' }))).toBe('confirmed');
  });

  it('refutes when a majority reaches the primary, or when silent observers leave no majority possible', () => {
    expect(decideLoss(three, votes({ weur: 'lost', enam: 'reachable', apac: 'reachable' }))).toBe('refuted');
    expect(decideLoss(three, votes({ weur: 'lost', enam: 'no_answer', apac: 'no_answer' }))).toBe('refuted');
    expect(decideLoss(['a', 'b', 'c', 'd', 'e'], votes({ a: 'lost', b: 'lost', c: 'no_answer', d: 'reachable', e: 'no_answer' }))).toBe('refuted');
    expect(decideLoss(['a', 'b', 'c', 'd', 'e'], votes({ a: 'lost', b: 'lost', c: 'no_answer', d: 'reachable' }))).toBe('pending');
  });

  it('stays pending while the unanswered observers could still make a majority', () => {
    expect(decideLoss(three, votes({ weur: 'lost' }))).toBe('pending');
    expect(decideLoss(three, votes({ weur: 'lost', enam: 'no_answer' }))).toBe('pending');
  });

  it('one observer alone is never a majority of three', () => {
    expect(decideLoss(three, votes({ weur: 'lost', enam: 'no_answer', apac: 'reachable' }))).toBe('refuted');
  });

  it('the observers are the voter regions (every region for a record from before voters)', () => {
    expect(observerRegions({ regions: ['a', 'b', 'c', 'd'], voters: ['a', 'b', 'c'] })).toEqual(['a', 'b', 'c']);
    expect(observerRegions({ regions: ['a', 'b'] })).toEqual(['a', 'b']);
  });
});

describe('confirmLoss', () => {
  it("counts the watcher's own verdict for its region and asks only the other observers", async () => {
    const asked: string[] = [];
    const tally = await confirmLoss({ self: 'weur', ask: async (r) => (asked.push(r), 'lost') }, cell, 'lost');
    expect(tally.decision).toBe('confirmed');
    expect(asked).not.toContain('weur');
    expect(tally.votes.weur).toBe('lost');
  });

  it('a watcher outside the voter regions only starts the round: a majority of the voters must confirm', async () => {
    const tally = await confirmLoss({ self: 'eeur', ask: async (r) => (r === 'apac' ? 'lost' : 'reachable') }, cell, 'lost');
    expect(tally).toEqual({ decision: 'refuted', votes: { enam: 'reachable', weur: 'reachable', apac: 'lost' } });
  });

  it('answers once the rule decides, without waiting for an observer that never answers', async () => {
    const never = new Promise<ObserverVote>(() => undefined);
    const tally = await confirmLoss({ self: 'weur', ask: (r) => (r === 'enam' ? never : Promise.resolve('lost')) }, cell, 'lost');
    expect(tally.decision).toBe('confirmed');
  });

  it('an observer whose call throws counts as not confirming', async () => {
    const tally = await confirmLoss({ self: 'weur', ask: () => Promise.reject(new Error('unreachable')) }, cell, 'lost');
    expect(tally).toEqual({ decision: 'refuted', votes: { weur: 'lost', enam: 'no_answer', apac: 'no_answer' } });
  });
});

describe('watchCell with observers', () => {
  it('does not fail over a healthy primary when only the watcher is cut off from it (the other observers reach it)', async () => {
    const c = new TestCluster(REGIONS);
    expect((await c.get('enam').write(put('a', '1'))).ok).toBe(true);
    c.cut.add('weur|enam');
    const outcome = await watchCell(deps(c, 'weur', observers(c, 'weur')), cell);
    // The primary's own observer cannot be asked from weur either: not confirmed, nothing happens.
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'not_confirmed', votes: { weur: 'lost', enam: 'no_answer', apac: 'reachable' } });
    expect(c.get('enam').meta).toMatchObject({ role: 'primary', epoch: 1 });
    expect(c.get('apac').meta.epoch).toBe(1); // nobody was fenced
    expect((await c.get('enam').write(put('b', '2'))).ok).toBe(true);
  });

  it('a watcher outside the voter regions, cut off from the primary alone, is overruled: the primary is healthy', async () => {
    const c = new TestCluster(REGIONS);
    c.cut.add('eeur|enam');
    const outcome = await watchCell(deps(c, 'eeur', observers(c, 'eeur')), cell);
    expect(outcome).toEqual({ kind: 'healthy', epoch: 1, overruled: { decision: 'refuted', votes: { enam: 'no_answer', weur: 'reachable', apac: 'reachable' } } });
    expect(c.get('enam').meta).toMatchObject({ role: 'primary', epoch: 1 });
  });

  it('without observers the same watcher fails the healthy primary over (what the rule prevents)', async () => {
    const c = new TestCluster(REGIONS);
    expect((await c.get('enam').write(put('a', '1'))).ok).toBe(true);
    c.cut.add('weur|enam');
    expect(await watchCell(deps(c, 'weur'), cell)).toMatchObject({ kind: 'moved', promoted: true });
  });

  it("still fails over when the primary's region is down: its observer is silent, the others make the majority", async () => {
    const c = new TestCluster(REGIONS);
    expect((await c.get('enam').write(put('a', '1'))).ok).toBe(true);
    c.down.add('enam');
    const outcome = await watchCell(deps(c, 'weur', observers(c, 'weur')), cell);
    expect(outcome).toMatchObject({ kind: 'moved', promoted: true, epoch: 2 });
    if (outcome.kind !== 'moved') throw new Error(outcome.kind);
    expect(['weur', 'apac']).toContain(outcome.region);
    expect((await c.get(outcome.region).write(put('b', '2'))).ok).toBe(true);
  });

  it('a watcher cut off from every region gets no confirmation and fences nobody', async () => {
    const c = new TestCluster(REGIONS);
    c.cut.add('weur|enam');
    c.cut.add('weur|apac');
    const asked: string[] = [];
    const outcome = await watchCell(deps(c, 'weur', observers(c, 'weur', asked)), cell);
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'not_confirmed', votes: { weur: 'lost', enam: 'no_answer', apac: 'no_answer' } });
    expect(asked.sort()).toEqual(['apac', 'enam']);
    expect(c.get('apac').meta.epoch).toBe(1);
    expect(c.get('enam').meta).toMatchObject({ role: 'primary', epoch: 1 });
  });

  it('a primary cut off from every peer is lost for its own region too: all three observers confirm', async () => {
    const c = new TestCluster(REGIONS);
    expect((await c.get('enam').write(put('a', '1'))).ok).toBe(true);
    c.cut.add('enam|weur');
    c.cut.add('enam|apac');
    // The watcher in apac cannot ask the observer in enam (cut); weur's and its own verdicts make the majority.
    const outcome = await watchCell(deps(c, 'apac', observers(c, 'apac')), cell);
    expect(outcome).toMatchObject({ kind: 'moved', promoted: true });
  });

  it("takes the observers from the newest membership the replicas report, not a record older than a voter's replacement", async () => {
    // Founding voters enam, weur, apac; apac (lost) was replaced by eeur, but the record still names apac.
    const four = ['enam', 'weur', 'apac', 'eeur'];
    const c = new TestCluster(four, 'enam', undefined, ['enam', 'weur', 'apac']);
    const changed = await c.get('enam').receive({ kind: 'members', change: { add: 'eeur', remove: 'apac', voter: true } });
    expect(changed).toMatchObject({ kind: 'members_changed', members: { voters: ['enam', 'weur', 'eeur'] } });
    // Two writes carry the change's commit to the secondaries, which then apply it.
    expect((await c.get('enam').write(put('a', '1'))).ok).toBe(true);
    expect((await c.get('enam').write(put('b', '2'))).ok).toBe(true);
    expect(c.get('weur').meta).toMatchObject({ voters: ['enam', 'weur', 'eeur'] });
    c.down.add('apac');
    c.down.add('enam');
    const stale: WatchedCell = { regions: four, voters: ['enam', 'weur', 'apac'], primaryRegion: 'enam', epoch: 1 };
    const asked: string[] = [];
    const obs: Observers = { self: 'weur', ask: async (r) => (asked.push(r), c.down.has(r) ? 'no_answer' : 'lost') };
    const outcome = await watchCell(deps(c, 'weur', obs), stale);
    // With the record's observers (enam and apac both down) no majority could ever form.
    expect(asked.sort()).toEqual(['eeur', 'enam']);
    expect(outcome).toMatchObject({ kind: 'moved', promoted: true });
  });
});
