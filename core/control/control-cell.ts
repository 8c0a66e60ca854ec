import type { Region } from '../regions.js';
import { regionsFrom } from '../regions.js';
import { foundingVoters } from '../replication/membership.js';

/**
 * The control cell (issue 11): the replicated cell holding the hard control state (tenants,
 * creation-request records, each cell's placement; core/control/state.ts). It is made of the
 * same CellReplica objects and core/replication rules as every cell. Its topology is derived
 * from configuration alone (REGIONS, CONTROL_REGION, CELL_VOTERS), so every edge and control
 * copy can name it without a lookup: home = the control region, voters = the control region
 * and the next ones by distance (the same voter choice as any cell), learners everywhere else.
 */
export const CONTROL_CELL = 'ctl';

export interface ControlCellPlacement {
  readonly id: string;
  readonly homeRegion: Region;
  readonly regions: Region[];
  readonly voters: Region[];
}

export function controlCellPlacement(controlRegion: Region, regions: readonly Region[], voters: number): ControlCellPlacement {
  const ordered = regionsFrom(controlRegion, regions);
  return { id: CONTROL_CELL, homeRegion: controlRegion, regions: ordered, voters: foundingVoters(ordered, voters) as Region[] };
}
