/**
 * Glue of a tenant's deletion (core/tenant-deletion.ts decides every step): the primary's alarm
 * deletes the tenant's snapshots and recovery jobs' objects (R2 `BACKUPS`, all under
 * `snap/{tid}/`), then its change-feed archive (R2 `FEED_ARCHIVE`), then its per-tenant objects
 * outside the cell (`purgeTenantObjects`), then its keys in the cell in bounded replicated
 * writes, and marks the purge
 * done once all three are empty. R2 calls are retried with backoff; a run that still fails
 * records why and the next alarm resumes (deleting what is there is safe to repeat). A write
 * that does not commit (not primary any more) stops the run: the new primary's alarm carries on.
 */
import { archivePrefix } from '../core/feed/archive.js';
import { r2TenantPrefix } from '../core/recovery/keys.js';
import type { Replica } from '../core/replication/replica.js';
import { ok } from '../core/result.js';
import { pendingDeletions, planDeletionDone, planMarkDeletion, planPurgeKeys, planPurgeProgress, type TenantDeletion } from '../core/tenant-deletion.js';
import { withRetry } from './feed-archive.js';
import { changeNotifierStub } from './change-notifier.js';
import { healthMonitorStub } from './health-monitor.js';
import { ssfTransmitterStub } from './ssf-transmitter.js';
import { crossCall } from '../workers/platform/faults.js';
import { backupRegionOf } from '../core/backup-auth/keys.js';
import { backupService } from './backup-learning.js';
import { replicaStub } from './replica-protocol.js';

/** Bound on one per-tenant object's purge call. */
const OBJECT_PURGE_TIMEOUT_MS = 10_000;

/** Listing rounds (up to 1000 objects each) per prefix per alarm run; the rest waits for the next run. */
const LIST_ROUNDS_PER_RUN = 50;
/** Cell-key writes per tenant per alarm run (PURGE_KEYS_PER_WRITE each). */
const KEY_WRITES_PER_RUN = 20;

/** Deletes objects under `prefix`, listing from the start each round (what was deleted is gone); true when nothing is left. */
async function deletePrefix(bucket: R2Bucket, prefix: string, counted: { n: number }): Promise<boolean> {
  for (let round = 0; round < LIST_ROUNDS_PER_RUN; round++) {
    const listed = await withRetry(() => bucket.list({ prefix, limit: 1000 }));
    if (listed.objects.length === 0) return true;
    await withRetry(() => bucket.delete(listed.objects.map((o) => o.key)));
    counted.n += listed.objects.length;
  }
  return false;
}

/**
 * Empties the tenant's per-tenant objects that live outside the cell: its Shared Signals
 * transmitter (streams, subjects, queued SETs, sealed receiver credentials), its health monitor
 * (alerts, their configuration, incidents), its change notifier (feed cursor, reminders), and
 * what the backup authentication service learned of it (sessions, apps, keys, token log: else
 * kept until their 3-day expiry, and served during an outage), and each replica's own index of
 * its feed by target (`feed_target`, in every region's copy of the cell). One that throws stops the run;
 * the next alarm repeats it (each purge is safe to repeat), so a backup Worker that is down holds
 * the purge until it is back.
 */
export async function purgeTenantObjects(env: Env, cell: string, region: string, regions: readonly string[], tid: string): Promise<void> {
  // Each under a timeout (through the fault boundary): a stuck object fails this run, it does not hold the alarm.
  const within = (to: string, call: () => Promise<unknown>) => crossCall(region, to, OBJECT_PURGE_TIMEOUT_MS, call);
  await within(region, () => ssfTransmitterStub(env, tid).purge());
  await within(region, () => healthMonitorStub(env, tid).purge());
  await within(region, () => changeNotifierStub(env, tid).purge());
  const backup = backupService(env);
  const store = backupRegionOf(regions);
  if (backup !== undefined) await within(store, () => backup.forget(store, tid));
  // Every region at once: one that is down costs one timeout, not one after another.
  await Promise.all(regions.map((to) => within(to, () => replicaStub(env, cell, to).forgetTargets(tid))));
}

export interface PurgeBuckets {
  readonly backups: R2Bucket;
  readonly archive: R2Bucket;
  /** Drops what the tenant's other per-tenant objects hold outside the cell (`purgeTenantObjects`). */
  readonly purgeObjects: (tid: string) => Promise<void>;
}

/** The marker write (`DELETE /admin/tenants/{id}` on the primary): undefined when it did not commit. */
export async function markDeletion(replica: Replica, tid: string, now: number): Promise<TenantDeletion | undefined> {
  const r = await replica.write((s) => planMarkDeletion(s, tid, now));
  return r.ok ? r.value.reply : undefined;
}

/** One purge run for one tenant: `now` (more to do at once), `later` (R2 failed: retry), or undefined (done or stopped). */
async function purgeOne(replica: Replica, b: PurgeBuckets, tid: string): Promise<'now' | 'later' | undefined> {
  const counted = { n: 0 };
  let r2Empty = false;
  let error: string | null = null;
  try {
    r2Empty = (await deletePrefix(b.backups, r2TenantPrefix(tid), counted)) && (await deletePrefix(b.archive, archivePrefix(tid), counted));
    if (r2Empty) await b.purgeObjects(tid);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    console.error('tenant purge: object storage failed; retrying', tid, error);
  }
  // Plans are checked on the current state first: nothing to record or delete is no write (no empty log entry).
  if (planPurgeProgress(replica.state, tid, counted.n, error).length > 0) {
    const progress = await replica.write((s) => ok({ mutations: planPurgeProgress(s, tid, counted.n, error), reply: undefined }));
    if (!progress.ok) return undefined;
  }
  for (let n = 0; n < KEY_WRITES_PER_RUN; n++) {
    const pending = planPurgeKeys(replica.state, tid);
    const w = pending.ok && pending.value.mutations.length === 0 ? pending : await replica.write((s) => planPurgeKeys(s, tid));
    if (!w.ok) return undefined;
    if (!w.value.reply.more) {
      if (error !== null) return 'later';
      if (!r2Empty) return 'now';
      // Not committed: the next alarm (or the new primary's) finds the purge pending and ends it.
      await replica.write((s) => ok({ mutations: planDeletionDone(s, tid, Date.now(), true), reply: undefined }));
      return undefined;
    }
  }
  return error !== null ? 'later' : 'now';
}

/** The alarm's deletion duty over every unfinished purge of the cell. */
export async function purgeDeletedTenants(replica: Replica, b: PurgeBuckets): Promise<'now' | 'later' | undefined> {
  let left: 'now' | 'later' | undefined;
  for (const tid of pendingDeletions(replica.state)) {
    const one = await purgeOne(replica, b, tid);
    if (one === 'now' || (one === 'later' && left === undefined)) left = one;
  }
  return left;
}
