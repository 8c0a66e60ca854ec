/**
 * Glue of snapshots (core/recovery decides what and when): copies a tenant's records page by
 * page into R2 while writes continue, then stores the feed records written meanwhile (the
 * tail), so a reader rolls the copy forward to one feed position. Chunks are compressed and
 * encrypted (core/recovery/chunks.ts). R2 calls are retried with backoff; a snapshot that
 * still fails is recorded as failed for the operator, and the next alarm tries again.
 */
import { readFeed } from '../core/feed/cursor.js';
import { lastSeq, type FeedRecord } from '../core/feed/record.js';
import { backupKek, decodeChunk, encodeChunk, newDataKey, openDataKey } from '../core/recovery/chunks.js';
import { dataKeyKey, r2ChunkKey, r2ManifestKey, r2SnapshotPrefix, r2TailKey } from '../core/recovery/keys.js';
import { copyPage, type CopyCursor, type ObjectRecord } from '../core/recovery/model.js';
import { isoSeconds } from '../core/recovery/snapshot-id.js';
import { listSnapshots, nextDueAt, planRecordSnapshot, planSnapshotFailure, type SnapshotInfo } from '../core/recovery/snapshots.js';
import type { Replica } from '../core/replication/replica.js';
import { ok } from '../core/result.js';
import { DEFAULT_RETENTION_DAYS } from '../core/recovery/snapshots.js';
import { withRetry } from './feed-archive.js';
import { isDeleted } from '../core/tenant-deletion.js';

export const COPY_PAGE = 1000;
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

export interface BackupConfig {
  readonly bucket: R2Bucket;
  /** BACKUP_KEY_ENCRYPTION_KEY (outside production, a development value derived from KEY_ENCRYPTION_KEY). */
  readonly kekSecret: string;
  readonly retentionDays: number;
}

/** Backup: the R2 bucket, the key-encryption secret (a development value derived from KEY_ENCRYPTION_KEY outside production) and the retention. */
export function backupConfig(env: Env): BackupConfig {
  const days = Number(env.SNAPSHOT_RETENTION_DAYS ?? '');
  const dev = env.TESSERA_ENV === 'production' ? undefined : `${env.KEY_ENCRYPTION_KEY}/backup-development`;
  const kekSecret = env.BACKUP_KEY_ENCRYPTION_KEY ?? dev;
  if (kekSecret === undefined) throw new Error('BACKUP_KEY_ENCRYPTION_KEY is not set');
  return { bucket: env.BACKUPS, kekSecret, retentionDays: Number.isFinite(days) && days > 0 ? days : DEFAULT_RETENTION_DAYS };
}

/** The tenant's backup data key, created (and stored wrapped) on first use. */
export async function tenantDataKey(replica: Replica, cfg: BackupConfig, tid: string): Promise<{ key: CryptoKey; wrapped: string }> {
  const kek = await backupKek(cfg.kekSecret);
  let wrapped = replica.state.get(dataKeyKey(tid));
  if (typeof wrapped !== 'string') {
    const fresh = await newDataKey(kek, tid, random);
    // Only the first writer's key is kept: a concurrent creation reads the winner back.
    // Never for a deleted tenant: its marker write dropped the key (core/tenant-deletion.ts).
    const r = await replica.write((s) => ok({ mutations: typeof s.get(dataKeyKey(tid)) === 'string' || isDeleted(s, tid) ? [] : [{ key: dataKeyKey(tid), value: fresh.wrapped }], reply: undefined }));
    if (!r.ok) throw new Error('data key not stored (the write did not commit)');
    wrapped = replica.state.get(dataKeyKey(tid));
  }
  if (typeof wrapped !== 'string') throw new Error('data key missing');
  const key = await openDataKey(kek, tid, wrapped);
  if (key === null) throw new Error('the backup data key does not open with BACKUP_KEY_ENCRYPTION_KEY');
  return { key, wrapped };
}

/** Feed records after `after` up to `upTo` from the cell. */
function feedRange(replica: Replica, tid: string, after: number, upTo: number): FeedRecord[] {
  const out: FeedRecord[] = [];
  for (let pos = after; pos < upTo; ) {
    const page = readFeed(replica.state, tid, pos);
    if (page.kind !== 'page' || page.records.length === 0) break;
    for (const r of page.records) if (r.seq <= upTo) out.push(r);
    pos = page.next;
  }
  return out;
}

const changedObjects = (records: readonly FeedRecord[]): number => new Set(records.flatMap((r) => r.changes.map((c) => `${c.type}/${c.id}`))).size;

export interface CopyNames {
  readonly chunk: (n: number) => string;
  readonly tail: string;
}

export interface CopyTaken {
  readonly fromSeq: number;
  readonly seq: number;
  readonly chunks: number;
  readonly objects: number;
  readonly bytes: number;
}

/**
 * Copies the tenant's records page by page into R2 while writes continue (each page one
 * synchronous read, in COPY_ORDER), then stores the feed records written meanwhile (the
 * tail): the copy rolled forward by its tail is the state as of feed position `seq`.
 * Names are fixed by the caller, so a copy written again overwrites the same objects.
 */
export async function copyTenant(replica: Replica, cfg: BackupConfig, key: CryptoKey, tid: string, names: CopyNames): Promise<CopyTaken> {
  const fromSeq = lastSeq(replica.state, tid);
  let chunks = 0;
  let objects = 0;
  let bytes = 0;
  for (let c: CopyCursor | null = { source: 0, after: null }; c !== null; ) {
    const page = copyPage(replica.state, tid, c, COPY_PAGE);
    c = page.next;
    if (page.records.length === 0 && c === null && chunks > 0) break;
    const name = names.chunk(chunks);
    const body = await encodeChunk(key, name, page.records, random);
    await withRetry(() => cfg.bucket.put(name, body));
    chunks++;
    objects += page.records.length;
    bytes += body.length;
  }
  const seq = lastSeq(replica.state, tid);
  const tail = await encodeChunk(key, names.tail, feedRange(replica, tid, fromSeq, seq), random);
  await withRetry(() => cfg.bucket.put(names.tail, tail));
  return { fromSeq, seq, chunks, objects, bytes: bytes + tail.length };
}

/** Takes one snapshot of `tid` now; records it (or the failure) in the cell. */
export async function takeSnapshot(replica: Replica, cfg: BackupConfig, tid: string): Promise<SnapshotInfo> {
  if (isDeleted(replica.state, tid)) throw new Error('the tenant is deleted');
  let written: string | undefined; // the snapshot's name, once its objects may exist
  try {
    const { key, wrapped } = await tenantDataKey(replica, cfg, tid);
    // The name is fixed before the copy; the snapshot is as of the feed position read at its end.
    const iso = isoSeconds(Date.now());
    written = iso;
    const { fromSeq, seq, chunks, objects, bytes } = await copyTenant(replica, cfg, key, tid, { chunk: (n) => r2ChunkKey(tid, iso, n), tail: r2TailKey(tid, iso) });
    const at = Date.parse(iso);
    const previous = listSnapshots(replica.state, tid).pop();
    const totalChangedObjects = previous === undefined ? objects : changedObjects(feedRange(replica, tid, previous.seq, seq));
    // Version 2: chunks in COPY_ORDER (model.ts), which a job's report merges with its own copy.
    const manifest = { version: 2, tenantId: tid, at: iso, fromSeq, seq, chunks, objects, bytes, wrappedKey: wrapped };
    await withRetry(() => cfg.bucket.put(r2ManifestKey(tid, iso), JSON.stringify(manifest), { httpMetadata: { contentType: 'application/json' } }));
    const info = { at, fromSeq, seq, chunks, objects, bytes, totalChangedObjects, ordered: true as const };
    let dropped: SnapshotInfo[] = [];
    let deleted = false;
    const r = await replica.write((s) => {
      // The tenant was deleted while its copy ran: nothing is recorded (its objects go below).
      deleted = isDeleted(s, tid);
      const planned = planRecordSnapshot(s, tid, info, cfg.retentionDays);
      dropped = planned.dropped;
      return ok({ mutations: deleted ? [] : planned.mutations, reply: undefined });
    });
    if (!r.ok) throw new Error('snapshot not recorded (the write did not commit)');
    if (deleted) throw new Error('the tenant is deleted');
    for (const d of dropped) await deleteSnapshotObjects(cfg.bucket, tid, isoSeconds(d.at)).catch(() => undefined);
    return { ...info, id: btoa(iso) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // A copy that raced the tenant's deletion leaves nothing behind: its objects (the purge may have listed the prefix before they were written) and no status key.
    if (isDeleted(replica.state, tid)) {
      if (written !== undefined) await deleteSnapshotObjects(cfg.bucket, tid, written).catch(() => undefined);
      throw e;
    }
    await replica.write((s) => ok({ mutations: isDeleted(s, tid) ? [] : [planSnapshotFailure(s, tid, Date.now(), message)], reply: undefined })).catch(() => undefined);
    throw e;
  }
}

/** Removes a snapshot's objects from R2 (retention; a left-over is removed by the next run). */
export async function deleteSnapshotObjects(bucket: R2Bucket, tid: string, iso: string): Promise<void> {
  for (let cursor: string | undefined; ; ) {
    const listed = await withRetry(() => bucket.list({ prefix: r2SnapshotPrefix(tid, iso), ...(cursor !== undefined ? { cursor } : {}) }));
    if (listed.objects.length > 0) await withRetry(() => bucket.delete(listed.objects.map((o) => o.key)));
    if (!listed.truncated) return;
    cursor = listed.cursor;
  }
}

export async function getChunk(bucket: R2Bucket, key: CryptoKey, name: string): Promise<unknown[]> {
  const obj = await withRetry(() => bucket.get(name));
  if (obj === null) throw new Error(`snapshot object ${name} is missing`);
  const items = await decodeChunk(key, name, new Uint8Array(await obj.arrayBuffer()));
  if (items === null) throw new Error(`snapshot object ${name} does not decrypt`);
  return items;
}

/** The names of a snapshot's objects. */
export const snapshotNames = (tid: string, s: SnapshotInfo): CopyNames => ({ chunk: (n) => r2ChunkKey(tid, isoSeconds(s.at), n), tail: r2TailKey(tid, isoSeconds(s.at)) });

/** A copy's tail: the feed records written during it (replayed onto it first). */
export async function readTail(key: CryptoKey, cfg: BackupConfig, names: CopyNames): Promise<FeedRecord[]> {
  return (await getChunk(cfg.bucket, key, names.tail)) as FeedRecord[];
}

/** A copy's records chunk by chunk (one chunk in memory at a time). */
export async function* copyChunks(key: CryptoKey, cfg: BackupConfig, names: CopyNames, chunks: number): AsyncGenerator<ObjectRecord[]> {
  for (let n = 0; n < chunks; n++) yield (await getChunk(cfg.bucket, key, names.chunk(n))) as ObjectRecord[];
}

/** Streams a copy's records chunk by chunk; `onPage` false stops it. */
export async function streamSnapshot(key: CryptoKey, cfg: BackupConfig, names: CopyNames, chunks: number, onPage: (records: ObjectRecord[]) => Promise<boolean>): Promise<void> {
  for await (const records of copyChunks(key, cfg, names, chunks)) if (!(await onPage(records))) return;
}

/**
 * The alarm's snapshot duty: takes the snapshots that are due (one tenant after another) and
 * returns when the next one is due. A failure is recorded for the operator and retried an
 * hour later (the schedule moves on only after a success).
 */
export async function snapshotsDue(replica: Replica, cfg: BackupConfig, tenantIds: readonly string[], now: number): Promise<number | undefined> {
  let next: number | undefined;
  for (const tid of tenantIds) {
    let due = nextDueAt(replica.state, tid, now);
    if (due <= now) {
      due = await takeSnapshot(replica, cfg, tid).then(
        () => nextDueAt(replica.state, tid, Date.now()),
        (e: unknown) => {
          console.error('scheduled snapshot failed; retrying in an hour', tid, e instanceof Error ? e.message : String(e));
          return Date.now() + 3_600_000;
        },
      );
    }
    next = next === undefined ? due : Math.min(next, due);
  }
  return next;
}
