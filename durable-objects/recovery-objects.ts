/**
 * Glue of a recovery job's objects in R2 (core/recovery/keys.ts names them): report pages
 * written encrypted under the tenant's backup data key, as snapshot chunks are; reads that
 * need them (getChanges, a recovery batch) fetched and decrypted into an ObjectCache; and a
 * job's objects deleted with it. R2 calls are retried with backoff (feed-archive.ts); a call
 * that still fails throws, and the caller's next alarm (or the client's retry) tries again.
 */
import type { Json, StateReader } from '../core/kv.js';
import { backupKek, decodeChunk, encodeChunk, openDataKey } from '../core/recovery/chunks.js';
import type { ChangeEntry } from '../core/recovery/diff.js';
import { dataKeyKey, r2JobPrefix, r2ReportPageKey } from '../core/recovery/keys.js';
import { ObjectCache } from '../core/recovery/report-pages.js';
import type { BackupConfig } from './backup.js';
import { withRetry } from './feed-archive.js';

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

/**
 * Writes one report page. Its name is fixed by (job, attempt, bucket, page) and an attempt's
 * pages are a function of its inputs, so a page written again (a retried put) is the same
 * object (the same entries; only the IV differs); another attempt's pages have other names
 * and only the attempt that completed the report is read.
 */
export async function putReportPage(cfg: BackupConfig, key: CryptoKey, tid: string, jobId: string, attempt: number, bucket: number, page: number, entries: readonly ChangeEntry[]): Promise<void> {
  const name = r2ReportPageKey(tid, jobId, attempt, bucket, page);
  const body = await encodeChunk(key, name, entries, random);
  await withRetry(() => cfg.bucket.put(name, body));
}

/** The tenant's data key for reading (any replica: the wrapped key is replicated); null when there is none. */
async function readKey(cfg: BackupConfig, state: StateReader, tid: string): Promise<CryptoKey | null> {
  const wrapped = state.get(dataKeyKey(tid));
  return typeof wrapped === 'string' ? openDataKey(await backupKek(cfg.kekSecret), tid, wrapped) : null;
}

/** Fetches the objects `cache` was asked for (absent or undecryptable ones as null: a damaged report reads as far as it goes). */
export async function fetchMissing(cfg: BackupConfig, state: StateReader, tid: string, cache: ObjectCache): Promise<void> {
  if (cache.missing.size === 0) return;
  const key = await readKey(cfg, state, tid);
  await Promise.all(
    [...cache.missing].map(async (name) => {
      const obj = key === null ? null : await withRetry(() => cfg.bucket.get(name));
      const items = obj === null || key === null ? null : await decodeChunk(key, name, new Uint8Array(await obj.arrayBuffer()));
      cache.put(name, items as Json);
    }),
  );
}

/** Reads fetching rounds: a read names every page it needs in one pass, so one round is the rule. */
const ROUNDS = 3;

/**
 * Runs a pure read with the R2 objects it asks for: run, fetch what it asked for, run again
 * (reads that ask for none cost nothing more; `cfg` is only built when one does).
 * Undefined when R2 could not answer (the caller answers 503; the client retries).
 */
export async function readWithObjects<T>(cfg: () => BackupConfig, state: () => StateReader, tid: string, run: (objects: ObjectCache) => T): Promise<T | undefined> {
  const cache = new ObjectCache();
  for (let round = 0; ; round++) {
    const out = run(cache);
    if (cache.missing.size === 0) return out;
    if (round === ROUNDS) return undefined;
    try {
      await fetchMissing(cfg(), state(), tid, cache);
    } catch (e) {
      console.warn('recovery objects unavailable', tid, e instanceof Error ? e.message : String(e));
      return undefined;
    }
  }
}

/** Deletes every object of a job (all its attempts), listing from the start each round (what was deleted is gone). */
export async function deleteJobObjects(bucket: R2Bucket, tid: string, jobId: string): Promise<void> {
  for (;;) {
    const listed = await withRetry(() => bucket.list({ prefix: r2JobPrefix(tid, jobId), limit: 1000 }));
    if (listed.objects.length === 0) return;
    await withRetry(() => bucket.delete(listed.objects.map((o) => o.key)));
  }
}
