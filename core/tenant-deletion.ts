/**
 * Deleting a tenant for good (operator `DELETE /admin/tenants/{id}`; issue 15 "Privacy"). The
 * control plane hides the tenant first; then the cell records a deletion marker, and from that
 * write on the tenant serves nothing, takes no snapshot, runs no job and archives no feed. The
 * same write drops the tenant's backup data key — every snapshot in R2 is unreadable from then
 * on, even before its objects are deleted — and its entry in the cell's tenant list (which
 * drives every alarm duty). The primary's alarm then purges, in order: the snapshots in R2, the
 * change-feed archive in R2, then the tenant's keys in the cell in bounded writes; the marker
 * says `purgedAt` only once all three are empty. Every step is planned against committed state
 * and deletes what is there, so a purge cut short (eviction, failover, R2 down) is resumed by the
 * next alarm and a repeated request or step does nothing twice. The marker itself (a few bytes)
 * stays as the tombstone that refuses late calls and answers repeated requests.
 */
import type { Json, Mutation, StateReader } from './kv.js';
import { ok, type Result } from './result.js';
import { dataKeyKey } from './recovery/keys.js';
import { tokenTenantKey } from './token/token-keys.js';

export const DELETION_PREFIX = 'cell/tenant-deletions/';
export const deletionKey = (tid: string) => `${DELETION_PREFIX}${tid}`;
/** Every replicated key of a tenant starts with this (docs/storage-schema.md). */
export const tenantKeyPrefix = (tid: string) => `t/${tid}/`;
/** Cell keys deleted per replicated write (a 100k-object tenant takes a few thousand writes over many alarms). */
export const PURGE_KEYS_PER_WRITE = 500;

export interface TenantDeletion {
  readonly requestedAt: number;
  /** When every trace was gone (R2 snapshots, R2 feed archive, cell keys); null while purging. */
  readonly purgedAt: number | null;
  readonly keysDeleted: number;
  readonly objectsDeleted: number;
  /** Purge runs that failed (R2 unavailable); the alarm retries. */
  readonly failures: number;
  readonly lastError: string | null;
}

const asDeletion = (v: Json | undefined): TenantDeletion | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v['requestedAt'] === 'number' ? (v as unknown as TenantDeletion) : undefined;

export const readDeletion = (state: StateReader, tid: string): TenantDeletion | undefined => asDeletion(state.get(deletionKey(tid)));

/** True from the marker's commit on: the cell refuses every call and duty for the tenant. */
export const isDeleted = (state: StateReader, tid: string): boolean => state.get(deletionKey(tid)) !== undefined;

/** Tenants whose purge is not finished (the alarm works on them). */
export function pendingDeletions(state: StateReader): string[] {
  return state
    .list(DELETION_PREFIX)
    .filter(([, v]) => asDeletion(v)?.purgedAt === null)
    .map(([k]) => k.slice(DELETION_PREFIX.length));
}

const put = (tid: string, d: TenantDeletion): Mutation => ({ key: deletionKey(tid), value: d as unknown as Json });

/**
 * The marker write. A repeated request (or one replayed after an unknown outcome) finds the
 * marker and changes nothing; the reply is the deletion as it stands.
 */
export function planMarkDeletion(state: StateReader, tid: string, now: number): Result<{ mutations: Mutation[]; reply: TenantDeletion }, never> {
  const prior = readDeletion(state, tid);
  if (prior !== undefined) return ok({ mutations: [], reply: prior });
  const marker: TenantDeletion = { requestedAt: now, purgedAt: null, keysDeleted: 0, objectsDeleted: 0, failures: 0, lastError: null };
  return ok({ mutations: [put(tid, marker), { key: dataKeyKey(tid), value: null }, { key: tokenTenantKey(tid), value: null }], reply: marker });
}

/**
 * One bounded write deleting the tenant's cell keys (only once marked: never a live tenant's).
 * `more`: keys are left for another write.
 */
export function planPurgeKeys(state: StateReader, tid: string, limit = PURGE_KEYS_PER_WRITE): Result<{ mutations: Mutation[]; reply: { deleted: number; more: boolean } }, never> {
  const d = readDeletion(state, tid);
  if (d === undefined || d.purgedAt !== null) return ok({ mutations: [], reply: { deleted: 0, more: false } });
  const keys = state.list(tenantKeyPrefix(tid), { limit: limit + 1 });
  const batch = keys.slice(0, limit).map(([key]): Mutation => ({ key, value: null }));
  const mutations = batch.length === 0 ? [] : [...batch, put(tid, { ...d, keysDeleted: d.keysDeleted + batch.length })];
  return ok({ mutations, reply: { deleted: batch.length, more: keys.length > limit } });
}

/** Progress of the R2 part of a purge run (objects deleted, or why it stopped); the next alarm retries a failure. */
export function planPurgeProgress(state: StateReader, tid: string, objectsDeleted: number, error: string | null): Mutation[] {
  const d = readDeletion(state, tid);
  if (d === undefined || d.purgedAt !== null || (objectsDeleted === 0 && error === null)) return [];
  return [put(tid, { ...d, objectsDeleted: d.objectsDeleted + objectsDeleted, ...(error === null ? {} : { failures: d.failures + 1, lastError: error.slice(0, 300) }) })];
}

/**
 * Marks the purge finished. `r2Empty`: the caller found both R2 prefixes empty in this run,
 * after the cell stopped writing to them. Refused (no mutation) while cell keys remain.
 */
export function planDeletionDone(state: StateReader, tid: string, now: number, r2Empty: boolean): Mutation[] {
  const d = readDeletion(state, tid);
  if (d === undefined || d.purgedAt !== null || !r2Empty || state.list(tenantKeyPrefix(tid), { limit: 1 }).length > 0) return [];
  return [put(tid, { ...d, purgedAt: now, lastError: null })];
}
