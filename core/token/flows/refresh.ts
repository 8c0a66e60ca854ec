/**
 * grant_type=refresh_token: rotation with reuse detection (core refresh-tokens.ts). Planned on
 * the primary only, and committed only if the token record is unchanged, so two concurrent
 * redemptions of one token cannot both succeed.
 */
import type { Json } from '../../kv.js';
import { loadResources, loadUserById } from '../directory-view.js';
import { GRAPH_URI } from '../graph-resource.js';
import { fromRefresh } from '../oauth-errors.js';
import { planRedeem } from '../refresh-tokens.js';
import { grantErrorFor, revokingMark } from '../../cae/grant-checks.js';
import { resolveScopes, resourceFinder } from '../scopes.js';
import { evaluateCa } from './ca-check.js';
import { consentedScopesFor, consentMissing } from './consent-check.js';
import { authenticateClient, isFlowResult } from './client.js';
import { familyExtraKey, issueDelegated } from './issue.js';
import { parseClaimsRequest } from '../../cae/claims-request.js';
import { oauthError, single, type FlowEnv, type FlowResult } from './types.js';

export async function refreshTokenGrant(env: FlowEnv, form: URLSearchParams, authorization: string | null): Promise<FlowResult> {
  const p = single(form, ['refresh_token', 'scope', 'claims']);
  if (p === 'duplicate') return oauthError(env, 'malformed_request');
  const client = await authenticateClient(env, form, authorization);
  if (isFlowResult(client)) return client;
  if (p.refresh_token === undefined) return oauthError(env, 'missing_parameter', { detail: 'refresh_token' });
  const claims = parseClaimsRequest(p.claims);
  if (!claims.ok) return oauthError(env, 'invalid_claims', { detail: claims.error });
  const s = env.settings;
  const redeemed = await planRedeem(env.reader, env.tenantId, p.refresh_token, client.app.appId, env.now, env.random, {
    inactivityMs: s.refreshInactivitySec * 1000, maxFamilyLifetimeMs: s.refreshMaxLifetimeSec * 1000,
  });
  // A replay revokes the whole family: those writes are committed even though the request fails.
  if (!redeemed.ok) return oauthError(env, fromRefresh(redeemed.error.reason), {}, redeemed.error.mutations);
  const family = redeemed.value.family;
  // Continuous access evaluation: a family that predates its user's or client's latest critical event is dead.
  const revoked = revokingMark(env.reader, env.tenantId, { userId: family.userId, appId: client.app.appId }, family.createdAt);
  if (revoked !== undefined) return oauthError(env, grantErrorFor(revoked));
  const extra = env.reader.get(familyExtraKey(env.tenantId, family.familyId)) as { [k: string]: Json } | undefined;
  const mfa = extra?.['mfa'] === true;
  const user = loadUserById(env.reader, env.tenantId, family.userId);
  if (!user || !user.accountEnabled) return oauthError(env, 'user_disabled');
  // A narrower scope may be asked for; it must stay within what the family was granted.
  const scope = p.scope ?? family.scopes.join(' ');
  const granted = new Set(family.scopes.filter((x) => x !== 'offline_access'));
  if (p.scope !== undefined && p.scope.split(' ').some((x) => x !== '' && x !== 'offline_access' && !granted.has(x))) {
    return oauthError(env, 'invalid_scope', { detail: 'The requested scope exceeds the original grant.' });
  }
  const resolved = resolveScopes(scope, {
    grant: 'delegated', findResource: resourceFinder(loadResources(env.reader, env.tenantId)), defaultResource: GRAPH_URI, consentedScopes: consentedScopesFor(env.reader, env.tenantId, client.app.appId, user.id),
  });
  if (!resolved.ok || resolved.value.kind !== 'delegated') return oauthError(env, 'invalid_scope', { detail: 'The granted scope is no longer valid.' });
  // A revoked grant stops refresh at once (the token is not rotated: nothing is written).
  if (consentMissing(env, client.app.appId, user.id, resolved.value)) return oauthError(env, 'consent_required', { clientId: client.app.appId, detail: client.app.displayName });
  const ca = evaluateCa(env, user, client.app.appId, mfa, false);
  if (ca.decision === 'block') return oauthError(env, 'blocked_by_conditional_access');
  if (ca.decision === 'mfa_required' && !mfa) return oauthError(env, 'mfa_required', { detail: client.app.appId });
  return issueDelegated(env, {
    clientId: client.app.appId, user, resolution: resolved.value, scopeTokens: family.scopes, authTime: family.authTime, mfa,
    claims: claims.value, refreshToken: redeemed.value.token,
  }, [...client.mutations, ...redeemed.value.mutations]);
}
