/**
 * The consent step between a completed sign-in and the end of an interactive flow (/authorize,
 * the device verification page, /adminconsent). After sign-in, `afterSignIn` decides: granted →
 * the flow finishes; consent needed → a consent session (server-side, unguessable id, bound to
 * the flow and to what is asked) and the consent page; only an admin could grant it → the
 * "Approval required" page. The page posts back `stage=consent`, handled by `consentStage`.
 */
import { FORGED_POST_MESSAGE, refusesPost } from '../anti-forgery.js';
import { z } from 'zod';
import type { Mutation } from '../../kv.js';
import { approvalRequiredPage, consentPage } from '../consent-pages.js';
import type { ConsentOutcome } from '../consent.js';
import { randomGuid } from '../encoding.js';
import { loadUserById, type UserView } from '../directory-view.js';
import { messagePage } from '../pages.js';
import { consentSessionKey } from '../token-keys.js';
import { evaluateConsent, planRecordConsent, type Requirement } from './consent-check.js';
import { htmlResult, type FlowEnv, type FlowResult } from './types.js';

const SESSION_MS = 10 * 60_000;
const sessionSchema = z.object({ userId: z.string(), binding: z.string(), mfa: z.boolean(), expiresAt: z.number() });

export interface ConsentTarget {
  /** The flow being completed (client + flow + its parameters); the consent session is bound to it. */
  key: string;
  clientAppId: string;
  appName: string;
  action: string;
  hidden: Record<string, string | undefined>;
  requirements: readonly Requirement[];
  /** 'user': per-user consent (admins may also consent for everyone); 'organization': only tenant-wide consent (the adminconsent endpoint). */
  mode: 'user' | 'organization';
  /** prompt=consent: ask even for scopes the user already granted. */
  forcePrompt: boolean;
  /** prompt=none: no consent page may be shown. */
  noPrompt: boolean;
  finish(user: UserView, mfa: boolean, mutations: Mutation[]): Promise<FlowResult>;
  declined(mutations: Mutation[]): FlowResult;
  /** Consent is missing and no page may be shown (prompt=none → consent_required). */
  consentRequired(mutations: Mutation[]): FlowResult;
  /** The user may not grant what is asked; default: the approval-required page (AADSTS90094). */
  notPermitted?(mutations: Mutation[]): FlowResult;
}

const binding = (t: ConsentTarget) => JSON.stringify([t.key, t.mode, t.requirements.map((r) => [r.resource.appId, [...r.requested].sort()])]);

function decide(env: FlowEnv, t: ConsentTarget, user: UserView): ConsentOutcome {
  return evaluateConsent(env, t.clientAppId, user.id, t.requirements, t.forcePrompt || t.mode === 'organization');
}

function notPermitted(t: ConsentTarget, outcome: ConsentOutcome, mutations: Mutation[]): FlowResult {
  if (t.notPermitted) return t.notPermitted(mutations);
  return htmlResult(approvalRequiredPage(t.appName, outcome.kind === 'granted' ? [] : outcome.scopes), 403, mutations);
}

/** May this user act on `outcome` in this mode (an organization-wide consent needs an administrator)? */
const permitted = (t: ConsentTarget, outcome: ConsentOutcome, organization: boolean) =>
  outcome.kind === 'granted' || (outcome.kind === 'prompt' && (!organization || outcome.organization));

/** Called once the user is fully signed in (password, MFA, conditional access all passed). */
export async function afterSignIn(env: FlowEnv, t: ConsentTarget, user: UserView, mfa: boolean, mutations: Mutation[]): Promise<FlowResult> {
  const outcome = decide(env, t, user);
  if (outcome.kind === 'granted') return t.finish(user, mfa, mutations);
  if (t.noPrompt) return t.consentRequired(mutations);
  if (outcome.kind === 'approval_required' || !permitted(t, outcome, t.mode === 'organization')) return notPermitted(t, outcome, mutations);
  const sessionId = randomGuid(env.random);
  const session = { userId: user.id, binding: binding(t), mfa, expiresAt: env.now + SESSION_MS };
  const html = consentPage({
    action: t.action, hidden: { ...t.hidden, session: sessionId }, appName: t.appName, userName: user.userPrincipalName, scopes: outcome.scopes,
    organization: t.mode === 'organization' ? 'always' : outcome.organization ? 'choice' : 'none',
  });
  return htmlResult(html, 200, [...mutations, { key: consentSessionKey(env.tenantId, sessionId), value: session, expiresAt: session.expiresAt }]);
}

/**
 * POST of the consent page (`consent=accept|cancel`, `consent_org=true`). The decision is taken
 * again on current state: roles or grants may have changed since the page was shown.
 */
export async function consentStage(env: FlowEnv, t: ConsentTarget, form: URLSearchParams): Promise<FlowResult> {
  // Anti-forgery, before the session is used (authorize and device also check it before any stage).
  if (refusesPost(env, form)) return htmlResult(messagePage('Sign in again', FORGED_POST_MESSAGE), 403);
  const expired = htmlResult(messagePage('Sign in again', 'Your sign-in session expired. Go back to the application and sign in again.'), 200);
  const sessionId = form.get('session') ?? '';
  const key = /^[0-9a-f-]{36}$/.test(sessionId) ? consentSessionKey(env.tenantId, sessionId) : undefined;
  const parsed = key ? sessionSchema.safeParse(env.reader.get(key)) : undefined;
  const s = parsed?.success ? parsed.data : undefined;
  if (!key || !s || env.now >= s.expiresAt || s.binding !== binding(t)) return expired;
  const done: Mutation = { key, value: null };
  const user = loadUserById(env.reader, env.tenantId, s.userId);
  if (!user || !user.accountEnabled) return { ...expired, mutations: [done] };
  const choice = form.get('consent');
  if (choice === 'cancel') return t.declined([done]);
  if (choice !== 'accept') return htmlResult(messagePage('Something went wrong', 'Choose Accept or Cancel.'), 400);
  const outcome = decide(env, t, user);
  const organization = t.mode === 'organization' || form.get('consent_org') === 'true';
  if (!permitted(t, outcome, organization)) return notPermitted(t, outcome, [done]);
  const grants = outcome.kind === 'prompt' ? planRecordConsent(env, t.clientAppId, organization ? null : user.id, outcome.scopes) : [];
  return { ...(await t.finish(user, s.mfa, [done, ...grants])), actorUserId: user.id };
}
