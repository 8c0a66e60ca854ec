import { describe, expect, it } from 'vitest';
import { cellCapacity, placeTenant } from '../../core/placement.js';

const policy = { maxShare: 0.02, minCellCapacity: 10 };

describe('placeTenant', () => {
  it('asks for a first cell when none exists in the home region', () => {
    expect(placeTenant([], 'weur', policy)).toEqual({ kind: 'new', homeRegion: 'weur' });
    expect(placeTenant([{ id: 'c1', homeRegion: 'enam', tenants: 1 }], 'weur', policy)).toEqual({ kind: 'new', homeRegion: 'weur' });
  });

  it('fills the least-loaded cell of the home region up to the small-install capacity', () => {
    const cells = [{ id: 'c1', homeRegion: 'weur' as const, tenants: 4 }, { id: 'c2', homeRegion: 'weur' as const, tenants: 2 }];
    expect(placeTenant(cells, 'weur', policy)).toEqual({ kind: 'existing', cellId: 'c2' });
    expect(placeTenant([{ id: 'c1', homeRegion: 'weur', tenants: 10 }], 'weur', policy)).toEqual({ kind: 'new', homeRegion: 'weur' });
  });

  it('keeps every cell at or under the share once the install is large', () => {
    // Simulate 5,000 placements in one region and check the share invariant after each.
    const cells: Array<{ id: string; homeRegion: 'weur'; tenants: number }> = [];
    for (let n = 1; n <= 5000; n++) {
      const p = placeTenant(cells, 'weur', policy);
      if (p.kind === 'new') cells.push({ id: `c${cells.length + 1}`, homeRegion: 'weur', tenants: 1 });
      else cells.find((c) => c.id === p.cellId)!.tenants++;
      const cap = cellCapacity(policy, n);
      // One expect per placement, not per cell: 5,000 × hundreds of expects took 20 s under load.
      const over = cells.find((c) => c.tenants > cap);
      expect(over, `after ${n} placements cell ${over?.id} holds ${over?.tenants} > ${cap}`).toBeUndefined();
    }
    const largest = Math.max(...cells.map((c) => c.tenants));
    expect(largest / 5000).toBeLessThanOrEqual(0.02);
    expect(cells.length).toBeGreaterThanOrEqual(50);
  });
});
