import { describe, expect, it } from 'vitest';
import { edgeReaches, judgeCall, NO_FAULTS, parseFaultPlan, writeReach } from '../../core/faults.js';

const regions = ['weur', 'eeur', 'enam'];

describe('judgeCall', () => {
  it('passes every call without faults', () => {
    expect(judgeCall(NO_FAULTS, 'weur', 'enam', 0)).toEqual({ kind: 'pass', delayMs: 0 });
  });

  it('refuses calls into or out of a region that is down', () => {
    const plan = { ...NO_FAULTS, downRegions: ['eeur'] };
    expect(judgeCall(plan, 'weur', 'eeur', 0.5)).toEqual({ kind: 'fail', reason: 'region_down' });
    expect(judgeCall(plan, 'eeur', 'weur', 0.5)).toEqual({ kind: 'fail', reason: 'region_down' });
    expect(judgeCall(plan, 'weur', 'enam', 0.5).kind).toBe('pass');
  });

  it('partitions a pair in both directions only', () => {
    const plan = { ...NO_FAULTS, partitions: ['weur|enam'] };
    expect(judgeCall(plan, 'enam', 'weur', 0.5).kind).toBe('fail');
    expect(judgeCall(plan, 'weur', 'eeur', 0.5).kind).toBe('pass');
  });

  it('cuts an isolated region off from every other region but not from itself', () => {
    const plan = { ...NO_FAULTS, isolatedRegions: ['enam'] };
    expect(judgeCall(plan, 'enam', 'enam', 0.5).kind).toBe('pass');
    expect(judgeCall(plan, 'edge', 'enam', 0.5)).toEqual({ kind: 'fail', reason: 'isolated' });
  });

  it('fails the given fraction of calls and slows a region', () => {
    const plan = { ...NO_FAULTS, failureRate: 0.25, slowRegions: { enam: 300 } };
    expect(judgeCall(plan, 'weur', 'enam', 0.1).kind).toBe('fail');
    expect(judgeCall(plan, 'weur', 'enam', 0.9)).toEqual({ kind: 'pass', delayMs: 300 });
  });
});

describe('judgeCall from an edge (an edge runs in its client\'s region)', () => {
  const isolated = { ...NO_FAULTS, isolatedRegions: ['apac'] };

  it('lets an isolated region\'s edge reach its own region only', () => {
    expect(judgeCall(isolated, { edge: 'apac' }, 'apac', 0.5)).toEqual({ kind: 'pass', delayMs: 0 });
    expect(judgeCall(isolated, { edge: 'apac' }, 'weur', 0.5)).toEqual({ kind: 'fail', reason: 'isolated' });
  });

  it('cuts other regions\' edges (and an edge of unknown region) off from the isolated region', () => {
    expect(judgeCall(isolated, { edge: 'weur' }, 'apac', 0.5)).toEqual({ kind: 'fail', reason: 'isolated' });
    expect(judgeCall(isolated, { edge: null }, 'apac', 0.5)).toEqual({ kind: 'fail', reason: 'isolated' });
    expect(judgeCall(isolated, { edge: 'weur' }, 'eeur', 0.5).kind).toBe('pass');
  });

  it('is not stopped by its own region being down or partitioned (those are the objects\' faults), only by the target\'s', () => {
    const plan = { ...NO_FAULTS, downRegions: ['weur'], partitions: ['weur|eeur'] };
    expect(judgeCall(plan, { edge: 'weur' }, 'eeur', 0.5).kind).toBe('pass');
    expect(judgeCall(plan, { edge: 'eeur' }, 'weur', 0.5)).toEqual({ kind: 'fail', reason: 'region_down' });
    expect(judgeCall(plan, 'weur', 'eeur', 0.5)).toEqual({ kind: 'fail', reason: 'region_down' });
  });

  it('slows only edge calls with slowEdgeCalls', () => {
    const plan = { ...NO_FAULTS, slowRegions: { weur: 10 }, slowEdgeCalls: { weur: 100 } };
    expect(judgeCall(plan, { edge: 'eeur' }, 'weur', 0.5)).toEqual({ kind: 'pass', delayMs: 110 });
    expect(judgeCall(plan, 'eeur', 'weur', 0.5)).toEqual({ kind: 'pass', delayMs: 10 });
  });
});

describe('edgeReaches', () => {
  const isolated = { ...NO_FAULTS, isolatedRegions: ['apac'] };

  it('an isolated region\'s edge reaches its own objects (its control copy among them) and nothing else', () => {
    expect(edgeReaches(isolated, 'apac', 'apac')).toBe(true);
    expect(edgeReaches(isolated, 'apac', 'weur')).toBe(false);
  });

  it('other edges reach everything but the isolated region', () => {
    expect(edgeReaches(isolated, 'weur', 'eeur')).toBe(true);
    expect(edgeReaches(isolated, 'weur', 'apac')).toBe(false);
    expect(edgeReaches(isolated, null, 'apac')).toBe(false);
  });

  it('only isolation decides: a region down is for the routing to find out per call', () => {
    const down = { ...NO_FAULTS, downRegions: ['weur'] };
    expect(edgeReaches(down, 'eeur', 'weur')).toBe(true);
  });
});

describe('writeReach', () => {
  const cell = { primaryRegion: 'weur', voters: ['weur', 'eeur', 'enam'], regions: ['weur', 'eeur', 'enam', 'apac'] };
  const isolate = (r: string) => ({ ...NO_FAULTS, isolatedRegions: [r] });

  it('cuts off an isolated learner region\'s edge (the primary is elsewhere)', () => {
    expect(writeReach(isolate('apac'), 'apac', cell)).toBe('cut_off');
  });

  it('cuts off the primary\'s own region when isolated: one voter of three is no majority', () => {
    expect(writeReach(isolate('weur'), 'weur', cell)).toBe('cut_off');
  });

  it('leaves edges outside the isolated region to the routing, even when the primary is the one isolated (a failover can move it)', () => {
    expect(writeReach(isolate('weur'), 'eeur', cell)).toBe('reachable');
    expect(writeReach(isolate('apac'), 'weur', cell)).toBe('reachable');
    expect(writeReach(isolate('apac'), null, cell)).toBe('reachable');
    expect(writeReach(NO_FAULTS, 'apac', cell)).toBe('reachable');
  });

  it('a cell whose only voter is in the isolated region still commits there', () => {
    expect(writeReach(isolate('weur'), 'weur', { primaryRegion: 'weur', voters: ['weur'], regions: ['weur', 'eeur'] })).toBe('reachable');
  });

  it('counts every region as a voter when the cell names none', () => {
    expect(writeReach(isolate('weur'), 'weur', { primaryRegion: 'weur', regions: ['weur', 'eeur'] })).toBe('cut_off');
  });
});

describe('parseFaultPlan', () => {
  it('accepts a full plan', () => {
    expect(parseFaultPlan({ downRegions: ['weur'], partitions: [['eeur', 'enam']], slowRegions: { enam: 50 }, failureRate: 0.1, objectStoreDown: true }, regions)).toEqual({
      downRegions: ['weur'], partitions: ['eeur|enam'], slowRegions: { enam: 50 }, failureRate: 0.1, slowEdgeCalls: {}, isolatedRegions: [], objectStoreDown: true,
    });
    expect(parseFaultPlan({ objectStoreDown: 'yes' }, regions)).toBe('objectStoreDown must be a boolean');
  });

  it.each([
    [[], 'body must be a JSON object'],
    [{ downRegions: ['mars'] }, 'downRegions must list known regions'],
    [{ partitions: [['weur']] }, 'partitions must be an array of [regionA, regionB]'],
    [{ failureRate: 1 }, 'failureRate must be in [0, 1)'],
    [{ slowRegions: { weur: -1 } }, 'slowRegions must map region to milliseconds'],
    [{ surprise: true }, "unknown property 'surprise'"],
    [{ isolatedRegions: ['mars'] }, 'isolatedRegions must list known regions'],
  ])('rejects %j', (input, message) => {
    expect(parseFaultPlan(input, regions)).toBe(message);
  });
});
