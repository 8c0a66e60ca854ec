import { describe, expect, it } from 'vitest';
import { nearestRegion, parseRegionList, regionsByDistance, regionsFrom } from '../../core/regions.js';

describe('regionsByDistance', () => {
  const all = parseRegionList(undefined);

  it('orders regions nearest first from request.cf coordinates', () => {
    expect(regionsByDistance({ latitude: '48.85', longitude: '2.35' }, all)[0]).toBe('weur');
    expect(regionsByDistance({ latitude: '35.68', longitude: '139.69' }, all)[0]).toBe('apac');
    expect(regionsByDistance({ latitude: '-33.9', longitude: '151.2' }, all)[0]).toBe('oc');
  });

  it('falls back to the continent when coordinates are missing', () => {
    expect(regionsByDistance({ continent: 'SA' }, all)[0]).toBe('sam');
  });

  it('moves unhealthy regions to the end instead of dropping them', () => {
    const order = regionsByDistance({ latitude: '48.85', longitude: '2.35' }, all, new Set(['weur']));
    expect(order[0]).toBe('eeur');
    expect(order[order.length - 1]).toBe('weur');
    expect(order).toHaveLength(all.length);
  });
});

describe('regionsFrom / parseRegionList', () => {
  it('orders a cell’s replicas from its home region (sync-partner preference)', () => {
    expect(regionsFrom('weur', ['apac', 'eeur', 'weur', 'enam'])).toEqual(['weur', 'eeur', 'enam', 'apac']);
  });

  it('rejects an unknown region in configuration as a deployment bug', () => {
    expect(() => parseRegionList('weur,mars')).toThrow(/unknown region/);
  });
});

describe('nearestRegion', () => {
  it('agrees with the head of the distance ordering', () => {
    const all = parseRegionList(undefined);
    for (const at of [{ latitude: '48.85', longitude: '2.35' }, { latitude: '-23', longitude: '-46' }, { continent: 'AF' }, {}]) {
      expect(nearestRegion(at, all)).toBe(regionsByDistance(at, all)[0]);
    }
  });
});
