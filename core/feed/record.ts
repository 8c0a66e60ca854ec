/**
 * The change feed: for each tenant an ordered sequence of records, one per committed write
 * that changed directory data. A record is planned inside the write it describes (same
 * mutations, same log entry), so it commits atomically with the change, replicates with it,
 * survives log compaction and snapshots (it is state, not log), and its position follows the
 * tenant's newest record in replicated state, so it is stable across failover. The primary
 * archives records to object storage (archive.ts), and drops them once archived and past the
 * retention (retention.ts).
 */
import type { Mutation, StateReader } from '../kv.js';
import type { Result } from '../result.js';
import { changesOf, type Change } from './changes.js';
import { caeMutations } from '../cae/event-store.js';
import { encodeRecord } from './encoding.js';

export type Actor =
  | { readonly kind: 'user'; readonly id: string; readonly userPrincipalName?: string | null }
  | { readonly kind: 'app'; readonly appId: string; readonly displayName?: string | null; readonly servicePrincipalId?: string | null }
  | { readonly kind: 'operator' }
  | { readonly kind: 'system' };

export interface FeedRecord {
  readonly seq: number;
  /** Commit (plan) time, epoch ms. */
  readonly at: number;
  readonly actor: Actor;
  readonly correlationId: string;
  readonly changes: readonly Change[];
}

/** Who asks for a write and how it is traced; the feed adds nothing for writes without directory changes. */
export interface WriteOrigin {
  readonly actor: Actor;
  readonly correlationId: string;
  readonly now: number;
}

export const DEFAULT_FEED_RETENTION_MS = 30 * 86_400_000;

/** A position as keys spell it: 12 digits, so keys sort by position. */
export const seqText = (seq: number) => String(seq).padStart(12, '0');
export const feedPrefix = (tid: string) => `t/${tid}/fd/`;
export const feedKey = (tid: string, seq: number) => `${feedPrefix(tid)}${seqText(seq)}`;
/**
 * The position floor: the highest position ever used, kept only where the newest record row no
 * longer says it (retention dropped it; rows written before the floor was the exception held it
 * after every record). Not written per record: it was a row on every replica for each write.
 */
export const feedSeqKey = (tid: string) => `t/${tid}/fdseq`;
/** Feed keys, records and the rows of the replicated target index of before (index-rows-of-before.ts). */
export const isFeedKey = (key: string) => /^t\/[A-Za-z0-9-]{1,64}\/fdx?\//.test(key);
export const seqOfKey = (key: string) => Number(key.slice(key.lastIndexOf('/') + 1));

/** Every object a record touches is a target (members of a changed group included): what a replica's index by target holds. */
export function targetsOf(changes: readonly Change[]): Set<string> {
  return new Set(changes.flatMap((c) => [c.id, ...c.links.map((l) => l.id)]));
}

/** The last position written for the tenant (0 before any record): its newest record row, or the floor when higher. */
export function lastSeq(reader: StateReader, tid: string): number {
  const floor = reader.get(feedSeqKey(tid));
  const newest = reader.lastKey(feedPrefix(tid));
  return Math.max(typeof floor === 'number' ? floor : 0, newest === undefined ? 0 : seqOfKey(newest));
}

/**
 * Whether the entries wrote a record of the tenant's feed: the cue that tells the backup
 * authentication store the feed moved, read from the committed log, with no query of the state.
 */
export function writesRecord(entries: ReadonlyArray<{ readonly muts: readonly Mutation[] }>, tid: string): boolean {
  const prefix = feedPrefix(tid);
  return entries.some((e) => e.muts.some((m) => m.value !== null && m.key.startsWith(prefix)));
}

/** The actor of a token-service write: the signed-in user whose sign-in or consent made it, an operator call, or the service itself. */
export function tokenWriteActor(operatorCall: boolean, signedInUser: string | undefined): Actor {
  if (signedInUser !== undefined) return { kind: 'user', id: signedInUser };
  return operatorCall ? { kind: 'operator' } : { kind: 'system' };
}

const TENANT = /^t\/([A-Za-z0-9-]{1,64})\//;

/** Resolves names the audit log shows, as they are at the time of the write. */
function named(state: StateReader, tid: string, actor: Actor): Actor {
  if (actor.kind === 'user' && actor.userPrincipalName === undefined) {
    const u = state.get(`t/${tid}/o/user/${actor.id}`);
    const upn = u !== null && typeof u === 'object' && !Array.isArray(u) ? u['userPrincipalName'] : undefined;
    return { ...actor, userPrincipalName: typeof upn === 'string' ? upn : null };
  }
  if (actor.kind === 'app' && actor.displayName === undefined) {
    const spId = state.get(`t/${tid}/u/servicePrincipal.appId/${encodeURIComponent(actor.appId.toLowerCase())}`);
    const sp = typeof spId === 'string' ? state.get(`t/${tid}/o/servicePrincipal/${spId}`) : undefined;
    const name = sp !== null && typeof sp === 'object' && !Array.isArray(sp) ? sp['displayName'] : undefined;
    return { ...actor, displayName: typeof name === 'string' ? name : null, servicePrincipalId: typeof spId === 'string' ? spId : null };
  }
  return actor;
}

/** The feed mutations for a planned write: one record per tenant it changed (indexed later: target-index.ts). */
export function planFeed(state: StateReader, mutations: readonly Mutation[], origin: WriteOrigin): Mutation[] {
  const tenants = new Set<string>();
  for (const m of mutations) {
    const t = TENANT.exec(m.key)?.[1];
    if (t !== undefined) tenants.add(t);
  }
  const out: Mutation[] = [];
  for (const tid of tenants) {
    const changes = changesOf(state, tid, mutations);
    if (changes.length === 0) continue;
    const seq = lastSeq(state, tid) + 1;
    const record: FeedRecord = { seq, at: origin.now, actor: named(state, tid, origin.actor), correlationId: origin.correlationId, changes };
    // No per-row expiry: records leave by range once archived and past the retention
    // (retention.ts), which spares every replica two expiry-index entries per write.
    out.push({ key: feedKey(tid, seq), value: encodeRecord(record) });
    // Critical events (continuous access evaluation) commit with the record that carries them.
    out.push(...caeMutations(tid, record));
  }
  return out;
}

/** Wraps a write plan so its feed records are planned with it (against the same state). */
export function recorded<R, E>(
  plan: (state: StateReader) => Result<{ mutations: Mutation[]; reply: R }, E>,
  origin: WriteOrigin,
): (state: StateReader) => Result<{ mutations: Mutation[]; reply: R }, E> {
  return (state) => {
    const planned = plan(state);
    if (!planned.ok) return planned;
    const feed = planFeed(state, planned.value.mutations, origin);
    return feed.length === 0 ? planned : { ok: true, value: { ...planned.value, mutations: [...planned.value.mutations, ...feed] } };
  };
}
