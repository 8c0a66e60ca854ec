/**
 * client_credentials at the edge. The first request of a (tenant, client, secret, scope) goes to
 * the nearest replica, which also returns everything the flow read (core/read-set.ts); for a
 * short while after, the edge replays the same pure flow over that read set (client
 * authentication with the secret's expiry, scope resolution and conditional access for workload
 * identities, with this caller's IP and country, run again), signing with the tenant's key
 * unwrapped here under the same KEK. No Durable Object hop on the hot path.
 * A removed credential, disabled or deleted service principal (critical events of continuous
 * access evaluation) drops the app's tenant entries as soon as this isolate pulls the event
 * (workers/platform/cae-state.ts: within 2 × CAE_POLL_MS plus replication lag), and a fill that was
 * under way when it arrived is not kept. Other changes (a new role grant, a policy) are seen
 * within TOKEN_CACHE_TTL_MS (default 10 s), at once in the isolate that changed them.
 * Validators reject a revoked key's tokens at once.
 *
 * No stampede: past half its life an entry is refreshed once in the background while it keeps
 * serving, and concurrent misses of one key wait for the first one's replica call instead of
 * each making their own (without both, every client of a busy key hit the replica at once
 * every TTL, and the queue behind them was the token endpoint's p99).
 */
import type { ReadSet } from '../../core/read-set.js';
import { ReadSetMiss, ReplayReader } from '../../core/read-set.js';
import { tokenRequest, tokenRequestIsReadOnly } from '../../core/token/flows/token-request.js';
import type { ClientContext, FlowEnv, FlowResult } from '../../core/token/flows/types.js';
import { issueToken, type AccessTokenClaims } from '../../core/token/jwt.js';
import { loadSigningKeys, selectActiveKey } from '../../core/token/signing-keys.js';
import { isolateKeys } from './isolate-keys.js';
import { loadTokenSettings } from '../../core/token/token-keys.js';
import { onCaeEvents } from './cae-state.js';

const DEFAULT_TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const newId = () => crypto.randomUUID();
const sealingIsABug = () => Promise.reject(new Error('assertion failed: sealing at the edge'));

/**
 * One cached read set. Its reader is built once and keeps what the flow derives from it (token
 * settings, key records, app, resource and CA views: `StateReader.memo`), so a replay parses nothing.
 */
interface Entry {
  tenantId: string;
  until: number;
  refreshAt: number;
  refreshing: boolean;
  reader: ReplayReader;
}

const entries = new Map<string, Entry>();
/** Per tenant, how many times its entries were dropped: a fill started before a drop is not kept. */
const epochs = new Map<string, number>();

/** The tenant's current epoch: read before a replica call whose answer may fill the cache. */
export const readSetEpoch = (tenantId: string): number => epochs.get(tenantId) ?? 0;

onCaeEvents((tenantId, events) => {
  if (events.some((e) => e.subject === 'app')) forgetTenantReadSets(tenantId);
});
/** Replica calls under way that will fill an entry, by key: other misses of the key wait for them. */
const filling = new Map<string, Promise<void>>();

/** What the edge knows about a token request before deciding where to run it. */
export interface EdgeTokenRequest {
  tenantId: string;
  origin: string;
  tenantSegment: string;
  authorization: string | null;
  traceId: string;
  correlationId: string;
  /** Computed only if a flow asks (client_credentials: only when a policy targets workloads). */
  client: () => ClientContext;
}

function ttl(env: Env): number {
  const v = Number(env.TOKEN_CACHE_TTL_MS ?? DEFAULT_TTL_MS);
  return Number.isFinite(v) && v >= 0 ? v : DEFAULT_TTL_MS;
}

/**
 * The cache key, or undefined when this is not a cacheable client_credentials call. The exact
 * request (body bytes and Authorization header) is the key: a different secret, scope or
 * parameter is a different entry, and only a successful answer is ever remembered.
 */
export function fastPathKey(req: EdgeTokenRequest, form: URLSearchParams, body: string): string | undefined {
  if (!tokenRequestIsReadOnly(form)) return undefined;
  return `${req.tenantId}\n${req.origin}\n${req.tenantSegment}\n${req.authorization ?? ''}\n${body}`;
}

export function remember(env: Env, key: string, tenantId: string, set: ReadSet, epoch: number): void {
  if (ttl(env) === 0 || epoch !== readSetEpoch(tenantId)) return;
  if (entries.size >= MAX_ENTRIES) entries.clear();
  const now = Date.now();
  entries.set(key, { tenantId, until: now + ttl(env), refreshAt: now + ttl(env) / 2, refreshing: false, reader: new ReplayReader(set) });
}

/** Marks a replica call that may fill `key`; the returned function ends it (call it in `finally`). */
export function beginFill(key: string): () => void {
  let done!: () => void;
  const p = new Promise<void>((resolve) => (done = resolve));
  filling.set(key, p);
  return () => {
    if (filling.get(key) === p) filling.delete(key);
    done();
  };
}

/** The replica call under way for `key`, if any. */
export function pendingFill(key: string): Promise<void> | undefined {
  return filling.get(key);
}

/** True once per refresh: the caller then refreshes the entry in the background and calls `endRefresh`. */
export function claimRefresh(key: string): boolean {
  const entry = entries.get(key);
  if (entry === undefined || entry.refreshing) return false;
  entry.refreshing = true;
  return true;
}

export function endRefresh(key: string): void {
  const entry = entries.get(key);
  if (entry !== undefined) entry.refreshing = false;
}

/** Drops every cached read set of a tenant (its keys or credentials changed through this isolate). */
export function forgetTenantReadSets(tenantId: string): void {
  epochs.set(tenantId, readSetEpoch(tenantId) + 1);
  if (epochs.size > MAX_ENTRIES) epochs.clear();
  for (const [key, entry] of entries) if (entry.tenantId === tenantId) entries.delete(key);
}

export interface Replayed {
  result: FlowResult;
  /** The entry is past half its life: refresh it (after `claimRefresh`). */
  refreshDue: boolean;
}

/** Runs the flow from a cached read set; undefined when there is none or it does not cover the call. */
export async function replayClientCredentials(env: Env, key: string, req: EdgeTokenRequest, form: URLSearchParams): Promise<Replayed | undefined> {
  const hit = entries.get(key);
  const now = Date.now();
  if (hit === undefined || hit.until < now) return undefined;
  try {
    const flow: FlowEnv = {
      tenantId: req.tenantId, origin: req.origin, tenantSegment: req.tenantSegment, now, random, newId, reader: hit.reader,
      settings: loadTokenSettings(hit.reader, req.tenantId), traceId: req.traceId, correlationId: req.correlationId,
      get client() {
        return req.client();
      },
      // client_credentials never touches sealed secrets; a flow that tried would be a bug.
      seal: sealingIsABug,
      unseal: sealingIsABug,
      sign: async (claims) => {
        const record = selectActiveKey(loadSigningKeys(hit.reader, req.tenantId), now);
        return record === undefined ? null : issueToken(await isolateKeys.signingKey(env.KEY_ENCRYPTION_KEY, record), record, claims as AccessTokenClaims, now);
      },
    };
    const result = await tokenRequest(flow, form, req.authorization);
    // A flow that wants to write is not for the edge (never the case for client_credentials).
    return result.mutations.length === 0 ? { result, refreshDue: now >= hit.refreshAt && !hit.refreshing } : undefined;
  } catch (e) {
    if (e instanceof ReadSetMiss) return undefined;
    throw e;
  }
}
