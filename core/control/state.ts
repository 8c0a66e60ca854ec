import type { Json, Mutation, StateReader } from '../kv.js';
import type { Region } from '../regions.js';

/**
 * The control cell's replicated keys (all under `ctl/`). Full values only, so a write repeated
 * after an unknown fate writes the same thing again.
 *
 * - `ctl/t/{tenantId}`  a tenant's placement and status (`ControlTenant`)
 * - `ctl/d/{domain}`    the tenant holding a verified domain (uniqueness)
 * - `ctl/r/{requestId}` a creation request's record (idempotency, 24 h: `expiresAt`)
 * - `ctl/s/{requestId}` its sealed reply (holds the admin secret: kept only 10 min, `expiresAt`)
 * - `ctl/c/{cellId}`    a tenant cell's placement (`CellPlacement`); primaries and epochs are not here
 * - `ctl/rev`           the last revision given to a tenant change
 * - `ctl/v/{rev:12}`    revision index: the tenant changed at that revision (copies pull in this order)
 * - `ctl/imported`      set once the `global` object's tables from before the control cell were imported
 */
export const CONTROL_PREFIX = 'ctl/';
export const isControlKey = (key: string): boolean => key.startsWith(CONTROL_PREFIX);

export type TenantStatus = 'provisioning' | 'active' | 'deleted';

export interface ControlTenant {
  id: string;
  displayName: string;
  cell: string;
  status: TenantStatus;
  domain: string | null;
  createdAt: number;
  /** Revision of the last activation or deletion (0 while provisioning). */
  rev: number;
}

export interface CellPlacement {
  id: string;
  homeRegion: Region;
  /** Regions and voters at creation; later membership changes are soft state of the control copies. */
  regions: Region[];
  voters: Region[];
  tenants: number;
}

export interface RequestRecord {
  bodyHash: string;
  tenantId: string;
  /** Null: the sealed reply is under `ctl/s/…` (10 min); set only in records an older version wrote. */
  sealed: string | null;
  createdAt: number;
}

export const tenantKey = (id: string) => `ctl/t/${id}`;
export const domainKey = (domain: string) => `ctl/d/${domain}`;
export const requestKey = (id: string) => `ctl/r/${id}`;
export const sealedKey = (requestId: string) => `ctl/s/${requestId}`;
export const cellKey = (id: string) => `ctl/c/${id}`;
export const REV_KEY = 'ctl/rev';
export const revKey = (rev: number) => `ctl/v/${String(rev).padStart(12, '0')}`;
export const IMPORTED_KEY = 'ctl/imported';

const as = <T>(v: Json | undefined): T | undefined => (v === undefined || v === null ? undefined : (v as unknown as T));
const json = (v: object): Json => v as unknown as Json;

export const readTenant = (s: StateReader, id: string) => as<ControlTenant>(s.get(tenantKey(id)));
export const readRequest = (s: StateReader, id: string) => as<RequestRecord>(s.get(requestKey(id)));
export const readCell = (s: StateReader, id: string) => as<CellPlacement>(s.get(cellKey(id)));
export const readSealed = (s: StateReader, requestId: string) => as<string>(s.get(sealedKey(requestId)));
export const lastRev = (s: StateReader): number => as<number>(s.get(REV_KEY)) ?? 0;

export function readCells(s: StateReader): CellPlacement[] {
  return s.list('ctl/c/').map(([, v]) => v as unknown as CellPlacement);
}

export const putTenant = (t: ControlTenant): Mutation => ({ key: tenantKey(t.id), value: json(t) });
export const putCell = (c: CellPlacement): Mutation => ({ key: cellKey(c.id), value: json(c) });

/**
 * Gives `t` the next revision: the record, the counter and the index entry (the old one goes),
 * so the copies pull it again.
 */
export function bumpRev(s: StateReader, t: ControlTenant): { tenant: ControlTenant; mutations: Mutation[] } {
  const rev = lastRev(s) + 1;
  const tenant = { ...t, rev };
  const old: Mutation[] = t.rev > 0 ? [{ key: revKey(t.rev), value: null }] : [];
  return { tenant, mutations: [...old, putTenant(tenant), { key: REV_KEY, value: rev }, { key: revKey(rev), value: t.id }] };
}

export interface ControlChanges {
  /** Tenants changed after the cursor, in revision order (active and deleted). */
  tenants: ControlTenant[];
  /** Every tenant cell's placement (few, small). */
  cells: CellPlacement[];
  /** The revision to resume from. */
  next: number;
  more: boolean;
}

/** What a control copy pulls: the tenant changes after revision `after`, a page at a time. */
export function changesAfter(s: StateReader, after: number, limit: number): ControlChanges {
  const index = s.list('ctl/v/', { after: revKey(after), limit: limit + 1 });
  const page = index.slice(0, limit);
  const tenants = page.map(([, id]) => readTenant(s, id as string)).filter((t): t is ControlTenant => t !== undefined);
  const last = page[page.length - 1];
  return { tenants, cells: readCells(s), next: last === undefined ? after : Number(last[0].slice('ctl/v/'.length)), more: index.length > limit };
}
