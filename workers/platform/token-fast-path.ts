/**
 * client_credentials at the edge. The first request of a (tenant, client, scope) goes to the
 * nearest replica, which also returns everything the flow read (core/read-set.ts); for a short
 * while after, the edge replays the same pure flow over that read set, signing with the
 * tenant's key unwrapped here under the same KEK. No Durable Object hop on the hot path.
 * A removed credential, disabled app or revoked key stops being used within TOKEN_CACHE_TTL_MS
 * (default 10 s) plus replication lag in other isolates, at once in the isolate that changed it:
 * the same trade Entra makes with its caches. Validators reject a revoked key's tokens at once.
 */
import type { ReadSet } from '../../core/read-set.js';
import { ReadSetMiss, ReplayReader } from '../../core/read-set.js';
import { parseClientAuthentication } from '../../core/token/client-auth.js';
import { tokenRequest, tokenRequestIsReadOnly } from '../../core/token/flows/token-request.js';
import type { FlowEnv, FlowResult } from '../../core/token/flows/types.js';
import { issueToken, type AccessTokenClaims } from '../../core/token/jwt.js';
import { deriveKek, loadSigningKeys, selectActiveKey, unwrapSigningKey } from '../../core/token/signing-keys.js';
import { loadTokenSettings } from '../../core/token/token-keys.js';
import type { TokenCall } from '../../durable-objects/replica-protocol.js';

const DEFAULT_TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

const readSets = new Map<string, { tenantId: string; set: ReadSet; until: number }>();
const keys = new Map<string, Promise<CryptoKey>>();
let kek: { secret: string; key: Promise<CryptoKey> } | undefined;

function ttl(env: Env): number {
  const v = Number(env.TOKEN_CACHE_TTL_MS ?? DEFAULT_TTL_MS);
  return Number.isFinite(v) && v >= 0 ? v : DEFAULT_TTL_MS;
}

/** The cache key, or undefined when this request is not a cacheable client_credentials call. */
export function fastPathKey(call: TokenCall, form: URLSearchParams): string | undefined {
  if (call.op !== 'token' || !tokenRequestIsReadOnly(form)) return undefined;
  const presented = parseClientAuthentication({ authorization: call.authorization, form });
  if (!presented.ok) return undefined;
  return JSON.stringify([call.tenantId, call.origin, call.tenantSegment, presented.value.method, presented.value.clientId, form.getAll('scope'), form.getAll('claims')]);
}

export function remember(env: Env, key: string, tenantId: string, set: ReadSet): void {
  if (ttl(env) === 0) return;
  if (readSets.size >= MAX_ENTRIES) readSets.clear();
  readSets.set(key, { tenantId, set, until: Date.now() + ttl(env) });
}

/** Drops every cached read set of a tenant (its keys or credentials changed through this isolate). */
export function forgetTenantReadSets(tenantId: string): void {
  for (const [key, entry] of readSets) if (entry.tenantId === tenantId) readSets.delete(key);
}

function kekKey(env: Env): Promise<CryptoKey> {
  if (kek === undefined || kek.secret !== env.KEY_ENCRYPTION_KEY) kek = { secret: env.KEY_ENCRYPTION_KEY, key: deriveKek(env.KEY_ENCRYPTION_KEY) };
  return kek.key;
}

/** Runs the flow from a cached read set; undefined when there is none or it does not cover the call. */
export async function replayClientCredentials(env: Env, key: string, call: TokenCall, form: URLSearchParams): Promise<FlowResult | undefined> {
  const hit = readSets.get(key);
  if (hit === undefined || hit.until < Date.now()) return undefined;
  const reader = new ReplayReader(hit.set);
  const now = Date.now();
  try {
    const flow: FlowEnv = {
      tenantId: call.tenantId, origin: call.origin, tenantSegment: call.tenantSegment, now, random, newId: () => crypto.randomUUID(), reader,
      settings: loadTokenSettings(reader, call.tenantId), client: call.client, traceId: call.traceId, correlationId: call.correlationId,
      // client_credentials never touches sealed secrets; a flow that tried would be a bug.
      seal: () => Promise.reject(new Error('assertion failed: sealing at the edge')),
      unseal: () => Promise.reject(new Error('assertion failed: unsealing at the edge')),
      sign: async (claims) => {
        const record = selectActiveKey(loadSigningKeys(reader, call.tenantId), now);
        if (!record) return null;
        let signing = keys.get(record.kid);
        if (signing === undefined) {
          signing = kekKey(env).then((k) => unwrapSigningKey(k, record));
          if (keys.size > 1024) keys.clear();
          keys.set(record.kid, signing);
        }
        return issueToken(await signing, record, claims as AccessTokenClaims, now);
      },
    };
    const result = await tokenRequest(flow, form, call.authorization);
    // A flow that wants to write is not for the edge (never the case for client_credentials).
    return result.mutations.length === 0 ? result : undefined;
  } catch (e) {
    if (e instanceof ReadSetMiss) return undefined;
    throw e;
  }
}
