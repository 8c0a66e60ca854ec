/**
 * GET/POST /{tenant}/v2.0/adminconsent?client_id&redirect_uri&scope&state (Entra v2 shape): an
 * administrator signs in, reviews the permissions and grants them for the whole organization
 * (AllPrincipals grants); the browser then returns to the client's registered redirect URI with
 * `admin_consent=True&tenant=…&scope=…&state=…`. `{resource}/.default` asks for the app's
 * static permissions on that resource (requiredResourceAccess). A signed-in user who may not
 * grant tenant-wide consent is sent back with `error=access_denied` (AADSTS90094).
 */
import { antiForgeryField, FORGED_POST_MESSAGE, refusesPost } from '../anti-forgery.js';
import type { Mutation } from '../../kv.js';
import { loadApp, loadResources, type AppView } from '../directory-view.js';
import { GRAPH_APP_ID, GRAPH_URI } from '../graph-resource.js';
import { oauthErrorResponse, type OAuthReason } from '../oauth-errors.js';
import { messagePage, passwordPage } from '../pages.js';
import { OIDC_SCOPES, resolveScopes, resourceFinder } from '../scopes.js';
import { requirementsOf, type Requirement } from './consent-check.js';
import { afterSignIn, consentStage, type ConsentTarget } from './consent-step.js';
import { redirectWith } from './redirect.js';
import { passwordStage, totpStage, type SignInTarget } from './sign-in.js';
import { htmlResult, type FlowEnv, type FlowResult } from './types.js';

const PARAMS = ['client_id', 'redirect_uri', 'scope', 'state'] as const;

interface AdminConsentRequest {
  params: Partial<Record<(typeof PARAMS)[number], string>>;
  app: AppView;
  redirectUri: string;
  requirements: Requirement[];
}

const errorBody = (env: FlowEnv, reason: OAuthReason, extra: { detail?: string; clientId?: string } = {}) => oauthErrorResponse(reason, {
  now: env.now, traceId: env.traceId, correlationId: env.correlationId, baseUrl: env.origin, tenantId: env.tenantId, ...extra,
}).body;

function errorPage(env: FlowEnv, reason: OAuthReason, extra: { detail?: string; clientId?: string } = {}): FlowResult {
  return htmlResult(messagePage('Sign in failed', errorBody(env, reason, extra).error_description), 400);
}

function errorRedirect(env: FlowEnv, redirectUri: string, state: string | undefined, reason: OAuthReason, mutations: Mutation[] = [], detail?: string): FlowResult {
  const body = errorBody(env, reason, detail !== undefined ? { detail } : {});
  return redirectWith(redirectUri, 'query', { error: body.error, error_description: body.error_description, ...(state !== undefined ? { state } : {}) }, mutations);
}

/** Until client_id and redirect_uri are proven good, errors are shown, never redirected (open redirector). */
function validate(env: FlowEnv, form: URLSearchParams): AdminConsentRequest | FlowResult {
  const params: AdminConsentRequest['params'] = {};
  for (const n of PARAMS) {
    const all = form.getAll(n);
    if (all.length > 1) return errorPage(env, 'malformed_request');
    if (all[0] !== undefined && all[0] !== '') params[n] = all[0].slice(0, 4096);
  }
  if (params.client_id === undefined) return errorPage(env, 'missing_parameter', { detail: 'client_id' });
  const app = loadApp(env.reader, env.tenantId, params.client_id);
  if (!app) return errorPage(env, 'app_not_found', { clientId: params.client_id });
  if (params.redirect_uri === undefined) return errorPage(env, 'missing_parameter', { detail: 'redirect_uri' });
  if (![...app.web, ...app.spa, ...app.publicClient].includes(params.redirect_uri)) return errorPage(env, 'invalid_redirect_uri', { detail: params.redirect_uri, clientId: app.appId });
  if (params.scope === undefined) return errorRedirect(env, params.redirect_uri, params.state, 'missing_parameter', [], 'scope');
  const resolved = resolveScopes(params.scope, { grant: 'delegated', findResource: resourceFinder(loadResources(env.reader, env.tenantId)), defaultResource: GRAPH_URI });
  if (!resolved.ok || resolved.value.kind !== 'delegated') return errorRedirect(env, params.redirect_uri, params.state, 'invalid_scope', [], `Scope '${params.scope}' is not valid.`);
  const requirements = requirementsOf(resolved.value, app);
  if (requirements.length === 0) return errorRedirect(env, params.redirect_uri, params.state, 'invalid_scope', [], 'The application requests no delegated permissions on this resource.');
  return { params, app, redirectUri: params.redirect_uri, requirements };
}

/** The granted scopes as Entra reports them: resource-qualified, OIDC scopes bare. */
function grantedScope(requirements: readonly Requirement[]): string {
  return requirements.flatMap((r) => r.requested.map((v) => {
    if ((OIDC_SCOPES as readonly string[]).includes(v)) return v;
    const prefix = r.resource.appId === GRAPH_APP_ID ? GRAPH_URI : r.resource.identifierUris[0] ?? r.resource.appId;
    return `${prefix}/${v}`;
  })).join(' ');
}

function consentTarget(env: FlowEnv, req: AdminConsentRequest, action: string): ConsentTarget {
  const state = req.params.state;
  return {
    key: `adminconsent\n${req.app.appId}\n${req.redirectUri}\n${req.params.scope ?? ''}`,
    clientAppId: req.app.appId, appName: req.app.displayName, action, hidden: { ...req.params, ...antiForgeryField(env) },
    requirements: req.requirements, mode: 'organization', forcePrompt: true, noPrompt: false,
    finish: (_user, _mfa, mutations) => Promise.resolve(redirectWith(req.redirectUri, 'query', {
      admin_consent: 'True', tenant: env.tenantId, scope: grantedScope(req.requirements), ...(state !== undefined ? { state } : {}),
    }, mutations)),
    declined: (mutations) => errorRedirect(env, req.redirectUri, state, 'consent_declined', mutations),
    consentRequired: (mutations) => errorRedirect(env, req.redirectUri, state, 'admin_approval_required', mutations),
    notPermitted: (mutations) => errorRedirect(env, req.redirectUri, state, 'admin_approval_required', mutations),
  };
}

export async function adminConsent(env: FlowEnv, method: string, form: URLSearchParams, action: string, started: number): Promise<FlowResult> {
  const req = validate(env, form);
  if ('status' in req) return req;
  const consent = consentTarget(env, req, action);
  const hidden = { ...req.params, ...antiForgeryField(env) };
  if (method === 'GET') return htmlResult(passwordPage({ action, hidden, appName: req.app.displayName }));
  // A POST without this browser's anti-forgery pair gets the sign-in page again.
  if (refusesPost(env, form)) return htmlResult(passwordPage({ action, hidden, appName: req.app.displayName, error: FORGED_POST_MESSAGE }), 403);
  if (form.get('stage') === 'consent') return consentStage(env, consent, form);
  const target: SignInTarget = {
    key: `adminconsent:${req.app.appId}`, clientId: req.app.appId, appName: req.app.displayName, action, hidden,
    complete: (user, mfa, mutations) => afterSignIn(env, consent, user, mfa, mutations),
  };
  return form.get('stage') === 'totp' ? totpStage(env, target, form, started) : passwordStage(env, target, form, started);
}
