/**
 * Glue of the change-feed archive (core/feed/archive.ts decides what to copy): R2 puts with
 * retry, then the replicated mark. An R2 outage (or `objectStoreDown` in the fault plan)
 * leaves the records in the cells, and the next alarm tries again; records are lost only if the
 * archive stays down past the feed's retention.
 */
import { archivePrefix, chunkFor, markWrite, nextArchiveChunk } from '../core/feed/archive.js';
import { planFeedPurge } from '../core/feed/retention.js';
import type { FeedRecord } from '../core/feed/record.js';
import { asRecord } from '../core/feed/cursor.js';
import type { Replica } from '../core/replication/replica.js';
import { ok } from '../core/result.js';
import { currentFaults } from '../workers/platform/faults.js';

const RETRY_MS = [100, 500, 2_000];

class ArchiveDown extends Error {}

/** An R2 call retried with backoff (100 ms, 0.5 s, 2 s); `objectStoreDown` in the fault plan fails it. */
export async function withRetry<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (currentFaults().objectStoreDown) throw new ArchiveDown('object storage unavailable (injected)');
      return await op();
    } catch (e) {
      const wait = RETRY_MS[attempt];
      if (wait === undefined) throw e;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Archives every tenant's unarchived records; throws when R2 stays unavailable (the alarm retries). */
export async function archiveFeeds(replica: Replica, bucket: R2Bucket, tenantIds: readonly string[]): Promise<number> {
  let chunks = 0;
  for (const tid of tenantIds) {
    for (let chunk = nextArchiveChunk(replica.state, tid); chunk !== undefined; chunk = nextArchiveChunk(replica.state, tid)) {
      const { key, records, upTo } = chunk;
      if (records.length > 0) await withRetry(() => bucket.put(key, JSON.stringify(records), { httpMetadata: { contentType: 'application/json' } }));
      const r = await replica.write((state) => ok({ mutations: markWrite(state, tid, upTo), reply: undefined }));
      if (!r.ok) return chunks;
      chunks++;
    }
  }
  return chunks;
}

const PURGE_BATCH = 200;

/**
 * Drops each tenant's records that are archived and past the retention (core/feed/retention.ts),
 * one replicated write per tenant and batch; returns when the next purge is due (undefined:
 * none is, or it waits on the archive, whose retry owns the alarm). Not primary any more (the
 * write fails): stops; the new primary's alarm carries on. A purge planned twice deletes keys
 * already gone: harmless.
 */
export async function purgeFeeds(replica: Replica, tenantIds: readonly string[], now: number, retentionMs: number): Promise<number | undefined> {
  let next: number | undefined;
  for (const tid of tenantIds) {
    for (let round = 0; ; round++) {
      let purge = planFeedPurge(replica.state, tid, now, retentionMs, PURGE_BATCH);
      if (purge.mutations.length > 0) {
        const r = await replica.write((state) => {
          purge = planFeedPurge(state, tid, now, retentionMs, PURGE_BATCH);
          return ok({ mutations: purge.mutations, reply: undefined });
        });
        if (!r.ok) return undefined;
      }
      // More are due at once: another batch (bounded per alarm; the alarm comes back for the rest).
      if (purge.nextDueAt === now && round < 9) continue;
      if (purge.nextDueAt !== undefined) next = Math.min(next ?? purge.nextDueAt, purge.nextDueAt);
      break;
    }
  }
  return next;
}

/**
 * The alarm's feed duties: archive new records, then purge what is archived and past the
 * retention (each replica indexes records by target for itself, when queried: target-index.ts).
 * Returns when the alarm should come back for them (undefined: only after the next commit): the
 * archive's retry after `retryMs` if R2 failed, else the next purge (≥ 1 s away).
 */
export async function feedDuties(replica: Replica, bucket: R2Bucket, tenantIds: readonly string[], now: number, retentionMs: number, retryMs: number): Promise<number | undefined> {
  let retry: number | undefined;
  await archiveFeeds(replica, bucket, tenantIds).catch((e: unknown) => {
    console.error('feed archive failed; retrying', e instanceof Error ? e.message : String(e));
    retry = Math.min(retry ?? Infinity, now + retryMs);
  });
  const due = await purgeFeeds(replica, tenantIds, now, retentionMs);
  const purge = due === undefined ? undefined : Math.max(due, now + 1_000);
  return retry === undefined ? purge : purge === undefined ? retry : Math.min(retry, purge);
}

/** Archived records after `after` (at most `limit`), from the chunk holding the next position. */
export async function readArchive(bucket: R2Bucket, tid: string, after: number, limit: number): Promise<FeedRecord[]> {
  let key: string | undefined;
  let cursor: string | undefined;
  // Chunk names sort by position: page through the listing until the chunk holding `after + 1`.
  do {
    const listed = await withRetry(() => bucket.list({ prefix: archivePrefix(tid), limit: 1000, ...(cursor !== undefined ? { cursor } : {}) }));
    key = chunkFor(listed.objects.map((o) => o.key), after + 1);
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (key === undefined && cursor !== undefined);
  if (key === undefined) return [];
  const found = key;
  const obj = await withRetry(() => bucket.get(found));
  if (obj === null) return [];
  const parsed: unknown = await obj.json();
  const records = Array.isArray(parsed) ? parsed.map(asRecord).filter((r): r is FeedRecord => r !== undefined) : [];
  return records.filter((r) => r.seq > after).slice(0, limit);
}
