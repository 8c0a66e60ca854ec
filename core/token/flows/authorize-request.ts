/**
 * Validates an authorization request (OAuth 2.0 §4.1.1, OIDC, PKCE). Until client_id and
 * redirect_uri are proven good the error is shown to the user, never redirected (open
 * redirector); after that, errors go back to the client's redirect URI.
 */
import { isValidCodeChallenge, parseChallengeMethod, type PkceMethod } from '../pkce.js';
import { loadApp, loadResources, type AppView } from '../directory-view.js';
import { resolveScopes, resourceFinder, type ScopeResolution } from '../scopes.js';
import type { OAuthReason } from '../oauth-errors.js';
import { GRAPH_URI } from '../graph-resource.js';
import type { FlowEnv } from './types.js';
import { parseClaimsRequest } from '../../cae/claims-request.js';

export const AUTHORIZE_PARAMS = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'response_mode', 'prompt', 'login_hint', 'claims'] as const;
export type AuthorizeParams = Partial<Record<(typeof AUTHORIZE_PARAMS)[number], string>>;

export type Platform = 'web' | 'spa' | 'publicClient';

export interface AuthRequest {
  params: AuthorizeParams;
  app: AppView;
  redirectUri: string;
  platform: Platform;
  resolution: Extract<ScopeResolution, { kind: 'delegated' }>;
  scopeTokens: string[];
  pkce: { challenge: string; method: PkceMethod } | null;
  responseMode: 'query' | 'form_post';
}

export type AuthorizeFailure =
  | { where: 'page'; reason: OAuthReason; detail?: string; clientId?: string }
  | { where: 'redirect'; redirectUri: string; responseMode: 'query' | 'form_post'; state?: string; reason: OAuthReason; detail?: string };

export function readAuthorizeParams(form: URLSearchParams): AuthorizeParams | 'duplicate' {
  const out: AuthorizeParams = {};
  for (const n of AUTHORIZE_PARAMS) {
    const all = form.getAll(n);
    if (all.length > 1) return 'duplicate';
    if (all[0] !== undefined && all[0] !== '') out[n] = all[0].slice(0, 4096);
  }
  return out;
}

export function validateAuthorizeRequest(env: FlowEnv, p: AuthorizeParams): AuthRequest | AuthorizeFailure {
  if (p.client_id === undefined) return { where: 'page', reason: 'missing_parameter', detail: 'client_id' };
  const app = loadApp(env.reader, env.tenantId, p.client_id);
  if (!app) return { where: 'page', reason: 'app_not_found', clientId: p.client_id };
  if (p.redirect_uri === undefined) return { where: 'page', reason: 'missing_parameter', detail: 'redirect_uri' };
  // Exact string match, as Entra does: no prefix or wildcard matching.
  const platform: Platform | undefined = app.web.includes(p.redirect_uri) ? 'web' : app.spa.includes(p.redirect_uri) ? 'spa' : app.publicClient.includes(p.redirect_uri) ? 'publicClient' : undefined;
  if (!platform) return { where: 'page', reason: 'invalid_redirect_uri', detail: p.redirect_uri, clientId: app.appId };
  const responseMode = p.response_mode === 'form_post' ? 'form_post' : 'query';
  const fail = (reason: OAuthReason, detail?: string): AuthorizeFailure => ({
    where: 'redirect', redirectUri: p.redirect_uri!, responseMode, reason, ...(detail !== undefined ? { detail } : {}), ...(p.state !== undefined ? { state: p.state } : {}),
  });
  if (p.response_mode !== undefined && !['query', 'form_post'].includes(p.response_mode)) return fail('malformed_request');
  if (p.response_type === undefined) return fail('missing_parameter', 'response_type');
  if (p.response_type !== 'code') return fail('unsupported_response_type', p.response_type);
  if (p.scope === undefined) return fail('missing_parameter', 'scope');
  const claims = parseClaimsRequest(p.claims);
  if (!claims.ok) return fail('invalid_claims', claims.error);
  const resolved = resolveScopes(p.scope, { grant: 'delegated', findResource: resourceFinder(loadResources(env.reader, env.tenantId)), defaultResource: GRAPH_URI });
  if (!resolved.ok || resolved.value.kind !== 'delegated') return fail('invalid_scope', `Scope '${p.scope}' is not valid.`);
  // `.default` resolves to the consented scopes only once the user is known (consent-check.ts).
  if (resolved.value.scopes.length === 0 && resolved.value.oidc.length === 0 && !resolved.value.isDefault) return fail('invalid_scope', 'No scope was requested.');
  let pkce: AuthRequest['pkce'] = null;
  if (p.code_challenge !== undefined) {
    const method = parseChallengeMethod(p.code_challenge_method);
    if (method === null || !isValidCodeChallenge(p.code_challenge, method)) return fail('malformed_request');
    pkce = { challenge: p.code_challenge, method };
  }
  // Public clients cannot keep a secret: PKCE with S256 is their only proof of possession.
  if (platform !== 'web' && pkce?.method !== 'S256') return fail('pkce_required');
  return { params: p, app, redirectUri: p.redirect_uri, platform, resolution: resolved.value, scopeTokens: p.scope.split(' ').filter((s) => s !== ''), pkce, responseMode };
}
