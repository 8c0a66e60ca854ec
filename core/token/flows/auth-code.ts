/**
 * Authorization codes: 256-bit random, stored as SHA-256, bound to client, redirect URI,
 * PKCE challenge and the sign-in (user, time, MFA). Redemption is single-use; the redeemed
 * record is kept (marked, with the refresh family it issued) until it expires so a second
 * redemption is recognised as a replay and revokes that family (RFC 6749 §4.1.2). Access
 * tokens already issued from the code stay valid until they expire (no revocation list yet).
 */
import { z } from 'zod';
import type { Json, Mutation } from '../../kv.js';
import { sha256b64url } from '../encoding.js';
import { loadResources, loadUserById } from '../directory-view.js';
import { GRAPH_URI } from '../graph-resource.js';
import { fromPkce } from '../oauth-errors.js';
import { verifyPkce } from '../pkce.js';
import { resolveScopes, resourceFinder } from '../scopes.js';
import { planRevokeFamily } from '../refresh-tokens.js';
import { authCodeKey } from '../token-keys.js';
import type { AuthRequest } from './authorize-request.js';
import { evaluateCa } from './ca-check.js';
import { consentedScopesFor, consentMissing } from './consent-check.js';
import { authenticateClient, isFlowResult } from './client.js';
import { issueDelegated, randomCode } from './issue.js';
import { mergeClaims, NO_CLAIMS, parseClaimsRequest, type ClaimsRequest } from '../../cae/claims-request.js';
import { oauthError, single, type FlowEnv, type FlowResult } from './types.js';

const codeSchema = z.object({
  clientId: z.string(), redirectUri: z.string(), scope: z.string(), platform: z.enum(['web', 'spa', 'publicClient']),
  codeChallenge: z.string().nullable(), codeChallengeMethod: z.string().nullable(), nonce: z.string().nullable(),
  userId: z.string(), authTime: z.number(), mfa: z.boolean(), expiresAt: z.number(), redeemedAt: z.number().optional(), familyId: z.string().optional(), claims: z.string().nullable(),
});

export async function planAuthCode(env: FlowEnv, req: AuthRequest, userId: string, mfa: boolean): Promise<{ code: string; mutation: Mutation }> {
  const code = randomCode(env);
  const expiresAt = env.now + env.settings.authCodeLifetimeSec * 1000;
  const value = {
    clientId: req.app.appId, redirectUri: req.redirectUri, scope: req.scopeTokens.join(' '), platform: req.platform,
    codeChallenge: req.pkce?.challenge ?? null, codeChallengeMethod: req.pkce?.method ?? null, nonce: req.params.nonce ?? null,
    userId, authTime: env.now, mfa, expiresAt, claims: req.params.claims ?? null,
  } satisfies z.infer<typeof codeSchema>;
  return { code, mutation: { key: authCodeKey(env.tenantId, await sha256b64url(code)), value: value as Json, expiresAt } };
}

/** grant_type=authorization_code */
export async function authorizationCodeGrant(env: FlowEnv, form: URLSearchParams, authorization: string | null): Promise<FlowResult> {
  const p = single(form, ['code', 'redirect_uri', 'code_verifier', 'scope', 'claims']);
  if (p === 'duplicate') return oauthError(env, 'malformed_request');
  const client = await authenticateClient(env, form, authorization);
  if (isFlowResult(client)) return client;
  if (p.code === undefined || p.code.length > 512) return oauthError(env, 'missing_parameter', { detail: 'code' });
  if (p.redirect_uri === undefined) return oauthError(env, 'missing_parameter', { detail: 'redirect_uri' });
  const asked = parseClaimsRequest(p.claims);
  if (!asked.ok) return oauthError(env, 'invalid_claims', { detail: asked.error });
  const key = authCodeKey(env.tenantId, await sha256b64url(p.code));
  const parsed = codeSchema.safeParse(env.reader.get(key));
  if (!parsed.success) return oauthError(env, 'invalid_grant', { detail: 'Unknown authorization code.' });
  const c = parsed.data;
  if (c.redeemedAt !== undefined) {
    // A replay means the code leaked: revoke what its first redemption issued.
    return oauthError(env, 'code_already_redeemed', {}, c.familyId !== undefined ? planRevokeFamily(env.reader, env.tenantId, c.familyId, env.now, 'code_replayed') : []);
  }
  if (env.now >= c.expiresAt) return oauthError(env, 'code_expired');
  if (c.clientId !== client.app.appId) return oauthError(env, 'invalid_grant', { detail: 'The code was issued to another client.' });
  if (c.redirectUri !== p.redirect_uri) return oauthError(env, 'invalid_grant', { detail: 'redirect_uri does not match the authorization request.' });
  // A code issued for a web redirect URI belongs to a confidential client.
  if (c.platform === 'web' && !client.confidential) return oauthError(env, 'client_credentials_required', { clientId: c.clientId });
  if (c.codeChallenge !== null) {
    const pk = await verifyPkce({ codeChallenge: c.codeChallenge, method: c.codeChallengeMethod ?? 'plain' }, p.code_verifier);
    if (!pk.ok) return oauthError(env, fromPkce(pk.error));
  } else if (p.code_verifier !== undefined) {
    return oauthError(env, 'invalid_grant', { detail: 'code_verifier sent but no code_challenge was used.' });
  }
  const redeemed: Mutation = { key, value: { ...c, redeemedAt: env.now } as Json, expiresAt: c.expiresAt };
  const user = loadUserById(env.reader, env.tenantId, c.userId);
  if (!user || !user.accountEnabled) return oauthError(env, 'user_disabled', {}, [redeemed]);
  const resolved = resolveScopes(c.scope, {
    grant: 'delegated', findResource: resourceFinder(loadResources(env.reader, env.tenantId)), defaultResource: GRAPH_URI, consentedScopes: consentedScopesFor(env.reader, env.tenantId, c.clientId, user.id),
  });
  if (!resolved.ok || resolved.value.kind !== 'delegated') return oauthError(env, 'invalid_scope', { detail: 'The granted scope is no longer valid.' }, [redeemed]);
  // Consent was given before the code was issued; it may have been revoked since.
  if (consentMissing(env, c.clientId, user.id, resolved.value)) return oauthError(env, 'consent_required', { clientId: c.clientId, detail: client.app.displayName }, [redeemed]);
  const ca = evaluateCa(env, user, c.clientId, c.mfa, false);
  if (ca.decision === 'block') return oauthError(env, 'blocked_by_conditional_access', {}, [redeemed]);
  if (ca.decision === 'mfa_required' && !c.mfa) return oauthError(env, 'mfa_required', { detail: c.clientId }, [redeemed]);
  return issueDelegated(env, {
    clientId: c.clientId, user, resolution: resolved.value, scopeTokens: c.scope.split(' ').filter(Boolean), authTime: c.authTime, mfa: c.mfa,
    ...(c.nonce !== null ? { nonce: c.nonce } : {}), claims: mergeClaims(asked.value, authorized(c.claims)),
    afterIssue: (familyId) => [familyId === undefined ? redeemed : { ...redeemed, value: { ...c, redeemedAt: env.now, familyId } as Json }],
  }, client.mutations);
}

/** The authorization request's claims, validated when the code was issued. */
function authorized(raw: string | null): ClaimsRequest {
  const parsed = parseClaimsRequest(raw ?? undefined);
  return parsed.ok ? parsed.value : NO_CLAIMS;
}
