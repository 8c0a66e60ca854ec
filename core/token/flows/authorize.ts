/**
 * GET/POST /oauth2/v2.0/authorize and the device verification page (/deviceauth). GET shows
 * the password form (read-only, any replica); POST runs a sign-in step (primary only).
 */
import type { Mutation } from '../../kv.js';
import { antiForgeryField, FORGED_POST_MESSAGE, refusesPost } from '../anti-forgery.js';
import { messagePage, passwordPage } from '../pages.js';
import { oauthErrorResponse } from '../oauth-errors.js';
import { loadApp, type UserView } from '../directory-view.js';
import { readAuthorizeParams, validateAuthorizeRequest, type AuthRequest, type AuthorizeFailure } from './authorize-request.js';
import { deviceByUserCode } from './device.js';
import { afterSignIn, consentStage } from './consent-step.js';
import { authorizeConsentTarget, deviceConsentTarget, errorRedirect } from './consent-targets.js';
import { redirectWith } from './redirect.js';
import { passwordStage, totpStage, type SignInTarget } from './sign-in.js';
import { htmlResult, type FlowEnv, type FlowResult } from './types.js';

function describe(env: FlowEnv, f: { reason: Parameters<typeof oauthErrorResponse>[0]; detail?: string; clientId?: string }) {
  return oauthErrorResponse(f.reason, {
    now: env.now, traceId: env.traceId, correlationId: env.correlationId, baseUrl: env.origin, tenantId: env.tenantId,
    ...(f.detail !== undefined ? { detail: f.detail } : {}), ...(f.clientId !== undefined ? { clientId: f.clientId } : {}),
  }).body;
}

function failure(env: FlowEnv, f: AuthorizeFailure): FlowResult {
  const body = describe(env, f);
  if (f.where === 'page') return htmlResult(messagePage('Sign in failed', body.error_description), 400);
  return redirectWith(f.redirectUri, f.responseMode, { error: body.error, error_description: body.error_description, ...(f.state !== undefined ? { state: f.state } : {}) });
}

function authorizeTarget(env: FlowEnv, req: AuthRequest, action: string): SignInTarget {
  return {
    key: `authorize:${req.app.appId}`, clientId: req.app.appId, appName: req.app.displayName, action, hidden: { ...req.params, ...antiForgeryField(env) },
    // Signed in: the consent step decides whether the code is issued now (consent-step.ts).
    complete: (user: UserView, mfa: boolean, mutations: Mutation[]) => afterSignIn(env, authorizeConsentTarget(env, req, action), user, mfa, mutations),
  };
}

export async function authorize(env: FlowEnv, method: string, form: URLSearchParams, action: string, started: number): Promise<FlowResult> {
  const params = readAuthorizeParams(form);
  if (params === 'duplicate') return failure(env, { where: 'page', reason: 'malformed_request' });
  const req = validateAuthorizeRequest(env, params);
  if ('where' in req) return failure(env, req);
  const target = authorizeTarget(env, req, action);
  // Tessera keeps no SSO session, so a silent request (MSAL's hidden iframe) can never sign in
  // without a page: Entra's answer to prompt=none without a signed-in user, not the form.
  if (method === 'GET' && (req.params.prompt ?? '').split(' ').includes('none')) return errorRedirect(env, req, 'login_required');
  if (method === 'GET' || refusesPost(env, form)) {
    // A POST without this browser's anti-forgery pair (login CSRF) gets the sign-in page again.
    const error = method === 'GET' ? {} : { error: FORGED_POST_MESSAGE };
    return htmlResult(passwordPage({ action, hidden: target.hidden, appName: req.app.displayName, ...error, ...(req.params.login_hint ? { username: req.params.login_hint } : {}) }), method === 'GET' ? 200 : 403);
  }
  if (form.get('stage') === 'consent') return consentStage(env, authorizeConsentTarget(env, req, action), form);
  return form.get('stage') === 'totp' ? totpStage(env, target, form, started) : passwordStage(env, target, form, started);
}

/** The verification page of the device flow: user code + sign-in on one form. */
export async function deviceVerification(env: FlowEnv, method: string, form: URLSearchParams, action: string, started: number): Promise<FlowResult> {
  const askPage = (error?: string, status = 200) => htmlResult(passwordPage({ action, hidden: antiForgeryField(env), appName: 'your device', askUserCode: true, ...(error ? { error } : {}) }), status);
  if (method === 'GET') return askPage();
  if (refusesPost(env, form)) return askPage(FORGED_POST_MESSAGE, 403);
  const rawCode = form.get('user_code') ?? '';
  const found = deviceByUserCode(env.reader, env.tenantId, rawCode, env.now);
  if (!found) return askPage('That code is not valid or has expired. Check the code on your device.');
  const app = loadApp(env.reader, env.tenantId, found.record.clientId);
  const consent = deviceConsentTarget(env, found, app, action);
  if (form.get('stage') === 'consent') return consentStage(env, consent, form);
  const target: SignInTarget = {
    key: `device:${found.record.userCode}`, clientId: found.record.clientId, appName: app?.displayName ?? found.record.clientId, action,
    hidden: { user_code: found.record.userCode, ...antiForgeryField(env) }, askUserCode: true,
    // Signed in: the device is approved once consent is in place (consent-step.ts).
    complete: (user, mfa, mutations) => afterSignIn(env, consent, user, mfa, mutations),
  };
  return form.get('stage') === 'totp' ? totpStage(env, target, form, started) : passwordStage(env, target, form, started);
}

/** /logout: no server-side SSO session exists, so this only returns the user to the app if the URI is registered. */
export function logout(env: FlowEnv, form: URLSearchParams): FlowResult {
  const uri = form.get('post_logout_redirect_uri');
  const clientId = form.get('client_id');
  const app = clientId ? loadApp(env.reader, env.tenantId, clientId) : undefined;
  if (uri && app && [...app.web, ...app.spa, ...app.publicClient].includes(uri)) {
    return redirectWith(uri, 'query', form.get('state') ? { state: form.get('state')! } : {});
  }
  return htmlResult(messagePage('You signed out', 'You have signed out of your account. It is a good idea to close all browser windows.'));
}
