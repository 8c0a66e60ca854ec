import { describe, expect, it } from 'vitest';
import { judgeCall, NO_FAULTS, parseFaultPlan } from '../../core/faults.js';

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
  ])('rejects %j', (input, message) => {
    expect(parseFaultPlan(input, regions)).toBe(message);
  });
});
