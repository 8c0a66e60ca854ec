import type { Region } from '../core/regions.js';

/** The control plane's records: a cell (placement, membership, primary) and a tenant's placement. */
export interface CellRecord {
  id: string;
  homeRegion: Region;
  regions: Region[];
  /** The voting subset of `regions` (core/replication/membership.ts); the others are learners. */
  voters: Region[];
  /** Version of the membership last recorded (replicas may have applied a newer one). */
  membersVersion: number;
  primaryRegion: Region;
  epoch: number;
  tenants: number;
}

/**
 * A control copy's answer to "this cell's primary did not answer": the cell as it now stands and
 * what the watch concluded — `failed`: the primary looks lost from here but no failover could be
 * made from here (another copy, elsewhere, may manage).
 */
export interface Confirmed {
  cell: CellRecord;
  verdict: 'healthy' | 'moved' | 'failed';
}

export interface TenantRecord {
  id: string;
  displayName: string;
  cell: string;
  /** `deleted`: hidden for good (`DELETE /admin/tenants/{id}`); the row stays as a tombstone so the id is never placed again. */
  status: 'provisioning' | 'active' | 'deleted';
  domain: string | null;
  createdAt: number;
}
