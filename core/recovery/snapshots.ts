/**
 * The snapshot index kept in the cell (what `GET /directory/recovery/snapshots` lists), the
 * daily schedule (spread over the day by tenant), retention, and which snapshot a job's
 * target time starts from.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import { snapshotKey, snapshotPrefix, snapshotStatusKey } from './keys.js';
import { isoSeconds, snapshotIdOf } from './snapshot-id.js';

export const DAY_MS = 86_400_000;
export const DEFAULT_RETENTION_DAYS = 5;

export interface SnapshotInfo {
  readonly id: string;
  /** Epoch ms the snapshot is consistent as of (to the second). */
  readonly at: number;
  /** Feed position it is consistent as of (copy started after `fromSeq`, tail replayed to `seq`). */
  readonly fromSeq: number;
  readonly seq: number;
  readonly chunks: number;
  readonly objects: number;
  readonly bytes: number;
  readonly totalChangedObjects: number;
  /** Chunks in COPY_ORDER (model.ts): a job's report merges them with its own copy. Absent on snapshots from before. */
  readonly ordered?: true;
}

export interface SnapshotStatus {
  readonly lastAttemptAt: number;
  readonly lastSuccessAt: number | null;
  readonly failures: number;
  readonly lastError: string | null;
}

const asInfo = (v: Json | undefined): SnapshotInfo | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v['at'] === 'number' && typeof v['id'] === 'string' ? (v as unknown as SnapshotInfo) : undefined;

/** Kept snapshots, oldest first. */
export function listSnapshots(state: StateReader, tid: string): SnapshotInfo[] {
  return state.list(snapshotPrefix(tid)).map(([, v]) => asInfo(v)).filter((s): s is SnapshotInfo => s !== undefined);
}

export function snapshotAt(state: StateReader, tid: string, ms: number): SnapshotInfo | undefined {
  return asInfo(state.get(snapshotKey(tid, isoSeconds(ms))));
}

/** The newest snapshot at or before `ms`: where rebuilding the state at `ms` starts. */
export function baseSnapshotFor(state: StateReader, tid: string, ms: number): SnapshotInfo | undefined {
  return listSnapshots(state, tid).filter((s) => s.at <= ms).pop();
}

export function snapshotJson(s: SnapshotInfo): Json {
  return { '@odata.type': '#microsoft.graph.entraRecoveryServices.snapshot', id: s.id, createdDateTime: isoSeconds(s.at), totalChangedObjects: s.totalChangedObjects };
}

/** Records a written snapshot and drops those past retention (their R2 objects are deleted after this commits). */
export function planRecordSnapshot(state: StateReader, tid: string, info: Omit<SnapshotInfo, 'id'>, retentionDays: number): { mutations: Mutation[]; dropped: SnapshotInfo[] } {
  // Daily snapshots drift by minutes: an hour's margin keeps exactly `retentionDays` of them.
  const cutoff = info.at - retentionDays * DAY_MS + 3_600_000;
  const dropped = listSnapshots(state, tid).filter((s) => s.at < cutoff);
  const full: SnapshotInfo = { ...info, id: snapshotIdOf(info.at) };
  const status: SnapshotStatus = { lastAttemptAt: info.at, lastSuccessAt: info.at, failures: 0, lastError: null };
  return {
    dropped,
    mutations: [
      { key: snapshotKey(tid, isoSeconds(info.at)), value: full as unknown as Json },
      ...dropped.map((s) => ({ key: snapshotKey(tid, isoSeconds(s.at)), value: null })),
      { key: snapshotStatusKey(tid), value: status as unknown as Json },
    ],
  };
}

export function readStatus(state: StateReader, tid: string): SnapshotStatus | undefined {
  const v = state.get(snapshotStatusKey(tid));
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as unknown as SnapshotStatus) : undefined;
}

/** A failed attempt, kept for the operator (the next alarm retries). */
export function planSnapshotFailure(state: StateReader, tid: string, now: number, message: string): Mutation {
  const prev = readStatus(state, tid);
  const status: SnapshotStatus = { lastAttemptAt: now, lastSuccessAt: prev?.lastSuccessAt ?? null, failures: (prev?.failures ?? 0) + 1, lastError: message.slice(0, 300) };
  return { key: snapshotStatusKey(tid), value: status as unknown as Json };
}

/** FNV-1a of the tenant id: its snapshot's minute of the day, so a cell's tenants spread over the day. */
export function dailyOffsetMs(tid: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tid.length; i++) h = Math.imul(h ^ tid.charCodeAt(i), 0x01000193) >>> 0;
  return (h % 1440) * 60_000;
}

/** When the tenant's next scheduled snapshot is due (the day's slot after the last success). */
export function nextDueAt(state: StateReader, tid: string, now: number): number {
  const last = listSnapshots(state, tid).pop()?.at;
  const slotToday = Math.floor(now / DAY_MS) * DAY_MS + dailyOffsetMs(tid);
  if (last === undefined) return slotToday > now ? slotToday : slotToday + DAY_MS;
  // Due at the first slot at least ~a day after the last snapshot (an operator snapshot counts).
  let due = Math.floor(last / DAY_MS) * DAY_MS + dailyOffsetMs(tid);
  while (due < last + DAY_MS - 3_600_000) due += DAY_MS;
  return due;
}
