/**
 * Bearer access tokens for the Graph API: validated with core/token/jwt.ts against the
 * signing keys of the tenant named in the token (never any other tenant's), fetched from the
 * nearest replica and cached per isolate for a short while. An unknown kid forces one refetch
 * (a key rotated in since the cache was filled).
 */
import { decodeJwt } from 'jose';
import { validateToken } from '../../core/token/jwt.js';
import { tenantIssuers } from '../../core/token/token-version.js';
import type { KeyRecord } from '../../core/token/signing-keys.js';
import type { TokenCall } from '../../durable-objects/replica-protocol.js';
import type { AuthFailure, Principal } from './auth.js';
import { callToken } from './token-calls.js';
import { lookupTenant, type TenantPlacement } from './topology.js';
import { claimsChallenge, evaluateToken, REVOKED_MESSAGE } from '../../core/cae/enforce.js';
import { caeEnforced, caeStateFor } from './cae-state.js';
import { locationVerdict } from '../../core/cae/location.js';
import { GRAPH_APP_ID, GRAPH_AUDIENCES } from '../../core/token/graph-resource.js';
import { clientAddress } from './client-region.js';
import { locationInputsFor } from './location-policy.js';

/** Graph's message when strict location enforcement challenges a token (as Entra words it). */
const LOCATION_MESSAGE = 'Continuous access evaluation resulted in challenge with result: InteractionRequired and code: LocationConditionEvaluationSatisfied';

const KEYS_TTL_MS = 30_000;
const cache = new Map<string, { keys: KeyRecord[]; at: number }>();

/** Drops cached keys of a tenant (after a revocation in this isolate). */
export function forgetTenantKeys(tenantId: string): void {
  cache.delete(tenantId);
}

async function tenantKeys(request: Request, env: Env, placement: TenantPlacement, fresh: boolean): Promise<KeyRecord[] | null> {
  const tid = placement.tenant.id;
  const hit = cache.get(tid);
  if (!fresh && hit && Date.now() - hit.at < KEYS_TTL_MS) return hit.keys;
  const call: TokenCall = {
    tenantId: tid, op: 'keys', method: 'GET', origin: '', tenantSegment: tid, params: [], authorization: null,
    client: { ip: '0.0.0.0', country: null, region: '' }, traceId: '', correlationId: '', receivedAt: Date.now(),
  };
  const routed = await callToken(request, env, placement, call);
  if (routed.outcome.kind !== 'reply' || routed.outcome.status !== 200) return null;
  const keys = (JSON.parse(routed.outcome.body) as { keys: KeyRecord[] }).keys;
  if (cache.size > 1000) cache.clear();
  cache.set(tid, { keys, at: Date.now() });
  return keys;
}

const invalid = (message: string): AuthFailure => ({ kind: 'unauthorized', message });

export async function authenticateBearer(request: Request, env: Env, token: string, waitUntil?: (p: Promise<unknown>) => void): Promise<Principal | AuthFailure> {
  let tid: unknown;
  try {
    tid = decodeJwt(token).tid;
  } catch {
    return invalid('IDX14100: JWT is not well formed.');
  }
  if (typeof tid !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(tid)) return invalid('Access token validation failure. Invalid audience or signature.');
  // An operator-style tenant header naming another tenant is a cross-tenant attempt, not a hint.
  const named = request.headers.get('x-tessera-tenant');
  if (named !== null && named.toLowerCase() !== tid.toLowerCase()) return invalid('Access token validation failure. The token was issued for another tenant.');
  const placement = await lookupTenant(env, tid);
  // Only tenant ids name an issuer: a domain in `tid` is not a tenant.
  if (placement === null || placement.tenant.id !== tid) return invalid('Access token validation failure. Invalid issuer.');
  const origin = new URL(request.url).origin;
  // Graph tokens are v1 (as in Entra); a v2 token of the tenant is as good.
  const opts = { expectedIssuer: tenantIssuers(origin, tid), expectedAudience: [...GRAPH_AUDIENCES, origin], expectedTenantId: tid };
  let keys = await tenantKeys(request, env, placement, false);
  if (keys === null) return invalid('Access token validation failure: signing keys unavailable.');
  let result = await validateToken(token, { ...opts, keys, now: Date.now() });
  if (!result.ok && result.error.reason === 'unknown_kid') {
    keys = await tenantKeys(request, env, placement, true);
    if (keys !== null) result = await validateToken(token, { ...opts, keys, now: Date.now() });
  }
  if (!result.ok) return invalid(result.error.reason === 'expired' ? 'Lifetime validation failed, the token is expired.' : `Access token validation failure (${result.error.reason}).`);
  const c = result.value.claims;
  const scopes = typeof c.scp === 'string' ? c.scp.split(' ').filter(Boolean) : [];
  const roles = Array.isArray(c.roles) ? c.roles.filter((r): r is string => typeof r === 'string') : [];
  const appId = typeof c.azp === 'string' ? c.azp : typeof c.appid === 'string' ? c.appid : null;
  // Delegated: the user is the token's oid (sub is pairwise in Entra; ours equals oid).
  const userId = scopes.length > 0 ? (typeof c.oid === 'string' ? c.oid : c.sub) : null;
  if (caeEnforced(env, request)) {
    // Continuous access evaluation: issued before its user's or client's latest critical event → refused.
    const capable = Array.isArray(c.xms_cc) && c.xms_cc.includes('cp1');
    const verdict = evaluateToken(await caeStateFor(request, env, placement, waitUntil), { userId: userId ?? undefined, appId: appId ?? undefined, iat: Number(c.iat), capable });
    if (verdict.kind === 'revoked') {
      return verdict.challenge
        ? { kind: 'unauthorized', message: REVOKED_MESSAGE, challenge: claimsChallenge(origin, tid, verdict.notBefore) }
        : invalid('Access token validation failure: the token was issued before a revocation event.');
    }
    // Strict location enforcement: a CAE token used from outside the named locations its policies allow is challenged.
    if (capable) {
      const where = clientAddress(request, env, request.cf as { country?: unknown } | undefined);
      const inputs = await locationInputsFor(request, env, placement, waitUntil);
      const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
      const at = {
        ...(userId !== null ? { userId } : { servicePrincipalId: typeof c.oid === 'string' ? c.oid : undefined }),
        clientId: appId ?? '', groupIds: strings(c.groups), roleIds: strings(c.wids), mfa: strings(c.amr).includes('mfa'), ip: where.ip, country: where.country,
      };
      if (locationVerdict(inputs, at, GRAPH_APP_ID).kind === 'outside') {
        return { kind: 'unauthorized', message: LOCATION_MESSAGE, challenge: claimsChallenge(origin, tid, Math.floor(Date.now() / 1000)) };
      }
    }
  }
  const wids = Array.isArray(c.wids) ? c.wids.filter((w): w is string => typeof w === 'string') : [];
  if (userId !== null) return { kind: 'user', tenantId: tid, roles: [], scopes, userId, appId, wids };
  return { kind: 'application', tenantId: tid, roles, scopes: [], userId: null, appId };
}
