import type { Region } from './regions.js';

export interface CellLoad {
  readonly id: string;
  readonly homeRegion: Region;
  readonly tenants: number;
}

export interface PlacementPolicy {
  /** Largest share of all tenants one cell may hold once the install is large (Entra: 2%). */
  readonly maxShare: number;
  /** Tenants a cell may always hold, so small installs start with few cells and grow. */
  readonly minCellCapacity: number;
}

export const DEFAULT_PLACEMENT: PlacementPolicy = { maxShare: 0.02, minCellCapacity: 10 };

export type Placement = { kind: 'existing'; cellId: string } | { kind: 'new'; homeRegion: Region };

/** How many tenants any one cell may hold when the install has `totalTenants`. */
export function cellCapacity(policy: PlacementPolicy, totalTenants: number): number {
  return Math.max(policy.minCellCapacity, Math.floor(policy.maxShare * totalTenants));
}

/**
 * Places a new tenant in the least-loaded cell of its home region that stays within capacity
 * after the placement, or asks for a new cell. Existing tenants never move.
 */
export function placeTenant(cells: readonly CellLoad[], homeRegion: Region, policy: PlacementPolicy = DEFAULT_PLACEMENT): Placement {
  const total = cells.reduce((n, c) => n + c.tenants, 0) + 1;
  const capacity = cellCapacity(policy, total);
  const fits = cells
    .filter((c) => c.homeRegion === homeRegion && c.tenants + 1 <= capacity)
    .sort((a, b) => a.tenants - b.tenants || (a.id < b.id ? -1 : 1));
  const chosen = fits[0];
  return chosen === undefined ? { kind: 'new', homeRegion } : { kind: 'existing', cellId: chosen.id };
}
