/**
 * Builds and signs the token response: access token (app-only or delegated), ID token for
 * `openid`, and a new refresh-token family for `offline_access`.
 */
import type { Json, Mutation, StateReader } from '../../kv.js';
import { uniqueKey } from '../../directory/keys.js';
import { b64urlEncode, randomGuid } from '../encoding.js';
import { GRAPH_RESOURCE } from '../graph-resource.js';
import { accessTokenAudience, accessTokenVersion, requestedIdentifier, userNameClaims } from '../token-version.js';
import { buildAccessTokenClaims, issuerFor, type AccessTokenClaims } from '../jwt.js';
import { planIssueFamily } from '../refresh-tokens.js';
import type { ScopeResolution } from '../scopes.js';
import { userAppRoles, type UserView } from '../directory-view.js';
import { directoryRoleClaims } from './wids.js';
import { accessTokenLifetimeSec, capabilities, notBeforeFor, type ClaimsRequest } from '../../cae/claims-request.js';
import { isCaeResource } from '../graph-resource.js';
import type { ResourceApp } from '../scopes.js';
import { jsonResult, oauthError, type FlowEnv, type FlowResult } from './types.js';

/** Extra facts about a refresh family (the core family record has a fixed schema). */
export const familyExtraKey = (tid: string, familyId: string) => `t/${tid}/rtx/${familyId}`;


/**
 * The access token's claims request (core/cae/claims-request.ts) applied to one resource: its
 * lifetime (long for a CAE-capable client of a CAE-enabled resource), `nbf` (asked for by a
 * claims challenge) and `xms_cc` (when the resource asks for it as an optional claim; Graph does).
 */
function accessTokenTerms(env: FlowEnv, resource: ResourceApp, claims: ClaimsRequest): { lifetimeSec: number; notBefore?: number; caps: string[] } {
  const cae = isCaeResource(resource);
  const wantsCc = cae || (resource.accessTokenOptionalClaims ?? []).includes('xms_cc');
  const nbf = notBeforeFor(claims, env.now);
  return {
    lifetimeSec: accessTokenLifetimeSec(env.settings, claims.capable, cae),
    ...(nbf !== undefined ? { notBefore: nbf } : {}),
    caps: wantsCc ? capabilities(claims) : [],
  };
}

/** The service principal (enterprise app) of an application in this tenant; the appId when it has none. */
export function servicePrincipalId(reader: StateReader, tid: string, appId: string): string {
  const id = reader.get(uniqueKey(tid, 'servicePrincipal', 'appId', appId));
  return typeof id === 'string' ? id : appId;
}

/** `sp`: the client's service principal id (the token's sub and oid). */
export async function issueAppOnly(env: FlowEnv, clientId: string, sp: string, resolution: Extract<ScopeResolution, { kind: 'app_only' }>, scope: string, claimsRequest: ClaimsRequest, mutations: Mutation[]): Promise<FlowResult> {
  // No app role on the resource is no reason to refuse (Entra issues the token without `roles`).
  const r = resolution.resource;
  const terms = accessTokenTerms(env, r, claimsRequest);
  const lifetimeMs = terms.lifetimeSec * 1000;
  const version = accessTokenVersion(r);
  const claims = buildAccessTokenClaims({
    baseUrl: env.origin, tenantId: env.tenantId, audience: accessTokenAudience(r, requestedIdentifier(scope.split(' '))), subject: sp, objectId: sp, clientId,
    roles: resolution.roles, lifetimeMs, jti: randomGuid(env.random), clientCapabilities: terms.caps, version, clientIp: env.client.ip,
    ...(terms.notBefore !== undefined ? { notBefore: terms.notBefore } : {}),
  }, env.now);
  const token = await env.sign({ ...claims, idtyp: 'app' } as AccessTokenClaims);
  if (token === null) return oauthError(env, 'no_signing_key');
  return jsonResult({ token_type: 'Bearer', expires_in: terms.lifetimeSec, ext_expires_in: terms.lifetimeSec, access_token: token, scope }, mutations);
}

export interface DelegatedGrant {
  clientId: string;
  user: UserView;
  resolution: Extract<ScopeResolution, { kind: 'delegated' }>;
  /** The scope tokens as requested: stored in the refresh family to re-resolve later. */
  scopeTokens: string[];
  authTime: number;
  mfa: boolean;
  nonce?: string;
  /** The `claims` request (core/cae/claims-request.ts): CAE capability and a challenge's `nbf`. */
  claims: ClaimsRequest;
  /** A refresh token to return instead of minting a new family (rotation). */
  refreshToken?: string;
  /** Writes that depend on the new refresh family (undefined when none was minted), e.g. the redeemed code remembering it. */
  afterIssue?: (familyId: string | undefined) => Mutation[];
}

export async function issueDelegated(env: FlowEnv, g: DelegatedGrant, mutations: Mutation[]): Promise<FlowResult> {
  const s = env.settings;
  const { resolution: r, user } = g;
  // OIDC-only requests get a Graph token carrying just the OIDC scopes, like Entra's userinfo token.
  const resource = r.resource ?? GRAPH_RESOURCE;
  const scopes = r.scopes.length > 0 ? r.scopes : r.oidc;
  // App roles the user holds on a tenant API (directly or through a group): Entra's delegated `roles`.
  const roles = r.resource !== null ? userAppRoles(env.reader, env.tenantId, user.id, r.resource) : [];
  const version = accessTokenVersion(resource);
  const terms = accessTokenTerms(env, resource, g.claims);
  const claims = buildAccessTokenClaims({
    baseUrl: env.origin, tenantId: env.tenantId, audience: accessTokenAudience(resource, requestedIdentifier(g.scopeTokens)), subject: user.id, objectId: user.id,
    clientId: g.clientId, scopes, ...(roles.length > 0 ? { roles } : {}), lifetimeMs: terms.lifetimeSec * 1000, jti: randomGuid(env.random),
    clientCapabilities: terms.caps, version, clientIp: env.client.ip, ...(terms.notBefore !== undefined ? { notBefore: terms.notBefore } : {}),
  }, env.now);
  const w = directoryRoleClaims(env.reader, env.tenantId, user.id, g.clientId, resource.appId);
  const access = await env.sign({
    ...claims, ...userNameClaims(version, user), amr: g.mfa ? ['pwd', 'mfa'] : ['pwd'], ...(w.accessToken ? { wids: w.wids } : {}),
  } as AccessTokenClaims);
  if (access === null) return oauthError(env, 'no_signing_key');
  const body: Record<string, Json> = {
    token_type: 'Bearer', scope: [...r.oidc, ...scopes.filter((x) => !r.oidc.includes(x))].join(' '),
    expires_in: terms.lifetimeSec, ext_expires_in: terms.lifetimeSec, access_token: access,
  };
  const out = [...mutations];
  if (r.oidc.includes('openid')) {
    const iat = Math.floor(env.now / 1000);
    const id = {
      iss: issuerFor(env.origin, env.tenantId), aud: g.clientId, sub: user.id, oid: user.id, tid: env.tenantId, iat, nbf: iat,
      exp: iat + s.idTokenLifetimeSec, ver: '2.0', auth_time: Math.floor(g.authTime / 1000), jti: randomGuid(env.random),
      ...(g.nonce !== undefined ? { nonce: g.nonce } : {}),
      ...(r.oidc.includes('profile') ? { name: user.displayName, preferred_username: user.userPrincipalName } : {}),
      ...(r.oidc.includes('email') ? { email: user.userPrincipalName } : {}),
      ...(w.idToken ? { wids: w.wids } : {}),
    };
    const idToken = await env.sign(id as unknown as AccessTokenClaims);
    if (idToken === null) return oauthError(env, 'no_signing_key');
    body['id_token'] = idToken;
  }
  let familyId: string | undefined;
  if (g.refreshToken !== undefined) body['refresh_token'] = g.refreshToken;
  else if (r.oidc.includes('offline_access')) {
    const fam = await planIssueFamily(
      { tenantId: env.tenantId, userId: user.id, clientId: g.clientId, scopes: g.scopeTokens, authTime: g.authTime }, env.now, env.random,
      { inactivityMs: s.refreshInactivitySec * 1000, maxFamilyLifetimeMs: s.refreshMaxLifetimeSec * 1000 },
    );
    out.push(...fam.mutations, { key: familyExtraKey(env.tenantId, fam.familyId), value: { mfa: g.mfa }, expiresAt: env.now + s.refreshMaxLifetimeSec * 1000 });
    body['refresh_token'] = fam.token;
    familyId = fam.familyId;
  }
  if (g.afterIssue) out.push(...g.afterIssue(familyId));
  return jsonResult(body, out);
}

/** 256-bit random, URL-safe: authorization codes and device codes. */
export const randomCode = (env: FlowEnv) => b64urlEncode(env.random(32));
