/**
 * The consent step (consent-step.ts) as /authorize and the device verification page use it:
 * what each asks consent for, and how each ends (code redirect, device approval, errors).
 */
import { antiForgeryField } from '../anti-forgery.js';
import type { Json, Mutation } from '../../kv.js';
import { loadResources, type AppView } from '../directory-view.js';
import { GRAPH_URI } from '../graph-resource.js';
import { oauthErrorResponse, type OAuthReason } from '../oauth-errors.js';
import { messagePage } from '../pages.js';
import { resolveScopes, resourceFinder } from '../scopes.js';
import { planAuthCode } from './auth-code.js';
import type { AuthRequest } from './authorize-request.js';
import { requirementsOf } from './consent-check.js';
import type { ConsentTarget } from './consent-step.js';
import { approveDevice, type DeviceRecord } from './device.js';
import { redirectWith } from './redirect.js';
import { htmlResult, type FlowEnv, type FlowResult } from './types.js';

/** The OAuth error redirect of an authorization request (after client and redirect URI were proven good). */
export function errorRedirect(env: FlowEnv, req: AuthRequest, reason: OAuthReason, mutations: Mutation[] = []): FlowResult {
  const body = oauthErrorResponse(reason, {
    now: env.now, traceId: env.traceId, correlationId: env.correlationId, baseUrl: env.origin, tenantId: env.tenantId, clientId: req.app.appId, detail: req.app.displayName,
  }).body;
  return redirectWith(req.redirectUri, req.responseMode, { error: body.error, error_description: body.error_description, ...(req.params.state !== undefined ? { state: req.params.state } : {}) }, mutations);
}

const prompts = (req: AuthRequest) => (req.params.prompt ?? '').split(' ');

export function authorizeConsentTarget(env: FlowEnv, req: AuthRequest, action: string): ConsentTarget {
  return {
    key: `authorize\n${req.app.appId}\n${req.redirectUri}\n${req.scopeTokens.join(' ')}`,
    clientAppId: req.app.appId, appName: req.app.displayName, action, hidden: { ...req.params, ...antiForgeryField(env) },
    requirements: requirementsOf(req.resolution, req.app), mode: 'user',
    forcePrompt: prompts(req).includes('consent'), noPrompt: prompts(req).includes('none'),
    async finish(user, mfa, mutations) {
      const { code, mutation } = await planAuthCode(env, req, user.id, mfa);
      return redirectWith(req.redirectUri, req.responseMode, { code, ...(req.params.state !== undefined ? { state: req.params.state } : {}) }, [...mutations, mutation]);
    },
    declined: (mutations) => errorRedirect(env, req, 'consent_declined', mutations),
    consentRequired: (mutations) => errorRedirect(env, req, 'consent_required_interactive', mutations),
  };
}

export function deviceConsentTarget(env: FlowEnv, found: { key: string; record: DeviceRecord }, app: AppView | undefined, action: string): ConsentTarget {
  const { record } = found;
  const resolved = resolveScopes(record.scope, { grant: 'delegated', findResource: resourceFinder(loadResources(env.reader, env.tenantId)), defaultResource: GRAPH_URI });
  const appName = app?.displayName ?? record.clientId;
  const declined = (mutations: Mutation[]) => htmlResult(messagePage('You declined', `You declined to sign in to ${appName} on your device. You may now close this window.`), 200, [
    ...mutations, { key: found.key, value: { ...record, status: 'declined' } as unknown as Json, expiresAt: record.expiresAt },
  ]);
  return {
    key: `device\n${record.userCode}`, clientAppId: record.clientId, appName, action, hidden: { user_code: record.userCode, ...antiForgeryField(env) },
    requirements: resolved.ok && resolved.value.kind === 'delegated' ? requirementsOf(resolved.value, app) : [], mode: 'user', forcePrompt: false, noPrompt: false,
    finish: async (user, mfa, mutations) =>
      htmlResult(messagePage('You are signed in', `You have signed in to ${app?.displayName ?? 'the application'} on your device. You may now close this window.`), 200, [
        ...mutations, approveDevice(found.key, record, user.id, env.now, mfa),
      ]),
    declined,
    consentRequired: declined,
  };
}
