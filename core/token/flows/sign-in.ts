/**
 * The interactive sign-in behind /authorize and the device verification page: password
 * (with smart lockout), then TOTP when per-user MFA or conditional access asks for it
 * (enrolling an authenticator first if the user has none), then the flow's completion.
 * Every final outcome writes a sign-in event.
 */
import { z } from 'zod';
import type { Json, Mutation } from '../../kv.js';
import { randomGuid, sha256b64url } from '../encoding.js';
import { loadUserById, loadUserByUpn, type UserView } from '../directory-view.js';
import { locationFamiliarity, parseFamiliarLocations, rememberSuccess, FAMILIAR_WINDOW_MS } from '../familiar-locations.js';
import { isLocked, lockoutExpiresAt, lockoutKey, lockoutPolicyFor, parseLockoutState, recordFailure, recordSuccess, type LocationFamiliarity, type LockoutPolicy, type LockoutState } from '../lockout.js';
import { DUMMY_PASSWORD_HASH, verifyPassword } from '../password.js';
import { generateTotpSecret, otpauthUri, verifyTotp } from '../totp.js';
import { passwordPage, totpPage } from '../pages.js';
import { signInEvent } from '../sign-in-events.js';
import { revokingMark } from '../../cae/grant-checks.js';
import { familiarKey, signInSessionKey, totpKey, unknownLockoutKey } from '../token-keys.js';
import type { CaEvaluation } from '../conditional-access.js';
import { evaluateCa } from './ca-check.js';
import { htmlResult, type FlowEnv, type FlowResult } from './types.js';

const SESSION_MS = 10 * 60_000;
const sessionSchema = z.object({ userId: z.string(), clientId: z.string(), expiresAt: z.number(), pendingSecret: z.string().optional(), target: z.string() });
const totpSchema = z.object({ secret: z.string(), lastUsedStep: z.number().nullable() });
const totpAad = (tid: string, userId: string) => `totp|${tid}|${userId}`;

export interface SignInTarget {
  /** Stable description of what is being signed in to (client + flow), bound into the MFA session. */
  key: string;
  clientId: string;
  appName: string;
  action: string;
  hidden: Record<string, string | undefined>;
  askUserCode?: boolean;
  /** Completes the flow for a fully authenticated user. */
  complete(user: UserView, mfa: boolean, mutations: Mutation[]): Promise<FlowResult>;
}

interface Ctx {
  env: FlowEnv;
  target: SignInTarget;
  started: number;
}

function event(c: Ctx, user: UserView | undefined, upn: string | undefined, errorCode: number, failureReason: string | undefined, ca: CaEvaluation | null, mfa: boolean): Mutation {
  const { env } = c;
  return signInEvent({
    id: randomGuid(env.random), now: env.now, tenantId: env.tenantId, user, ...(upn !== undefined ? { attemptedUpn: upn.slice(0, 256) } : {}),
    appId: c.target.clientId, appDisplayName: c.target.appName, ip: env.client.ip, country: env.client.country, region: env.client.region,
    errorCode, ...(failureReason !== undefined ? { failureReason } : {}), ca, latencyMs: env.now - c.started, interactive: true, mfa, correlationId: env.correlationId,
  });
}

function familiarity(c: Ctx, userId: string): LocationFamiliarity {
  return locationFamiliarity(parseFamiliarLocations(c.env.reader.get(familiarKey(c.env.tenantId, userId))), c.env.client, c.env.now);
}

const lockWrite = (key: string, state: LockoutState, now: number, policy: LockoutPolicy): Mutation => ({ key, value: state as unknown as Json, expiresAt: lockoutExpiresAt(state, now, policy) });

const BAD_CREDENTIALS = 'Your account or password is incorrect.';
const LOCKED = 'Your account is temporarily locked to prevent unauthorized use. Try again later.';

const passwordForm = (c: Ctx, error?: string, username?: string) => passwordPage({
  action: c.target.action, hidden: c.target.hidden, appName: c.target.appName, ...(error ? { error } : {}), ...(username ? { username } : {}), ...(c.target.askUserCode ? { askUserCode: true } : {}),
});

export async function passwordStage(env: FlowEnv, target: SignInTarget, form: URLSearchParams, started: number): Promise<FlowResult> {
  const c: Ctx = { env, target, started };
  const upn = (form.get('username') ?? '').trim().slice(0, 256);
  const password = form.get('password') ?? '';
  const found = loadUserByUpn(env.reader, env.tenantId, upn);
  // A name that is no account (or has no password) is counted and locked like one, under a
  // hash of the name: both get the same answers, and both pay for one password hash.
  const user = found?.passwordHash !== undefined ? found : undefined;
  const policy = lockoutPolicyFor(env.reader, env.tenantId);
  const lockKey = user ? lockoutKey(env.tenantId, user.id) : unknownLockoutKey(env.tenantId, await sha256b64url(upn.toLowerCase()));
  const where: LocationFamiliarity = user ? familiarity(c, user.id) : 'unfamiliar';
  const lock = parseLockoutState(env.reader.get(lockKey));
  const verified = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  // While locked the password is not looked at (no oracle) and the attempt is not counted.
  if (isLocked(lock, env.now, where)) {
    return htmlResult(passwordForm(c, LOCKED, upn), 200, [user ? event(c, user, upn, 50053, 'Account is locked.', null, false) : event(c, found, upn, 50126, 'Invalid username or password.', null, false)]);
  }
  if (!user || !verified.ok) {
    return htmlResult(passwordForm(c, BAD_CREDENTIALS, upn), 200, [lockWrite(lockKey, recordFailure(lock, env.now, where, policy), env.now, policy), event(c, found, upn, 50126, 'Invalid username or password.', null, false)]);
  }
  const muts: Mutation[] = [lockWrite(lockKey, recordSuccess(lock, where), env.now, policy)];
  const places = rememberSuccess(parseFamiliarLocations(env.reader.get(familiarKey(env.tenantId, user.id))), env.client, env.now);
  muts.push({ key: familiarKey(env.tenantId, user.id), value: places as unknown as Json, expiresAt: env.now + FAMILIAR_WINDOW_MS });
  if (!user.accountEnabled) return htmlResult(passwordForm(c, 'Your account has been disabled. Contact your administrator.'), 200, [...muts, event(c, user, upn, 50057, 'User account is disabled.', null, false)]);
  const ca = evaluateCa(env, user, target.clientId, false, true);
  if (ca.decision === 'block') {
    return htmlResult(passwordForm(c, 'Access has been blocked by Conditional Access policies (AADSTS53003).'), 403, [...muts, event(c, user, upn, 53003, 'Access has been blocked by Conditional Access policies.', ca, false)]);
  }
  if (!user.perUserMfa && ca.decision === 'allow') {
    return { ...(await target.complete(user, false, [...muts, event(c, user, upn, 0, undefined, ca, false)])), actorUserId: user.id };
  }
  // MFA required: remember the half-done sign-in server-side, keyed by an unguessable id.
  const sessionId = randomGuid(env.random);
  const existing = totpSchema.safeParse(env.reader.get(totpKey(env.tenantId, user.id)));
  const pendingSecret = existing.success ? undefined : generateTotpSecret(env.random);
  // The seed is replicated state: only its sealed form is stored (session and authenticator).
  const sealedPending = pendingSecret ? await env.seal(pendingSecret, totpAad(env.tenantId, user.id)) : undefined;
  const session = { userId: user.id, clientId: target.clientId, expiresAt: env.now + SESSION_MS, target: target.key, ...(sealedPending ? { pendingSecret: sealedPending } : {}) };
  muts.push({ key: signInSessionKey(env.tenantId, sessionId), value: session, expiresAt: session.expiresAt });
  const enroll = pendingSecret ? { secret: pendingSecret, otpauthUri: otpauthUri({ secret: pendingSecret, accountName: user.userPrincipalName, issuer: 'Tessera' }) } : undefined;
  return htmlResult(totpPage({ action: target.action, hidden: { ...target.hidden, session: sessionId }, ...(enroll ? { enroll } : {}) }), 200, muts);
}

export async function totpStage(env: FlowEnv, target: SignInTarget, form: URLSearchParams, started: number): Promise<FlowResult> {
  const c: Ctx = { env, target, started };
  const sessionId = form.get('session') ?? '';
  const key = /^[0-9a-f-]{36}$/.test(sessionId) ? signInSessionKey(env.tenantId, sessionId) : undefined;
  const parsed = key ? sessionSchema.safeParse(env.reader.get(key)) : undefined;
  const s = parsed?.success ? parsed.data : undefined;
  if (!key || !s || env.now >= s.expiresAt || s.target !== target.key) return htmlResult(passwordForm(c, 'Your sign-in session expired. Sign in again.'), 200);
  const user = loadUserById(env.reader, env.tenantId, s.userId);
  // A critical event since the password step (core/cae) ends the half-done sign-in too.
  const revoked = revokingMark(env.reader, env.tenantId, { userId: s.userId }, s.expiresAt - SESSION_MS) !== undefined;
  if (!user || revoked) return htmlResult(passwordForm(c, 'Your sign-in session expired. Sign in again.'), 200, [{ key, value: null }]);
  const where = familiarity(c, user.id);
  const policy = lockoutPolicyFor(env.reader, env.tenantId);
  const lockKey = lockoutKey(env.tenantId, user.id);
  const lock = parseLockoutState(env.reader.get(lockKey));
  if (isLocked(lock, env.now, where)) return htmlResult(passwordForm(c, LOCKED), 200, [{ key, value: null }, event(c, user, undefined, 50053, 'Account is locked.', null, false)]);
  const stored = totpSchema.safeParse(env.reader.get(totpKey(env.tenantId, user.id)));
  const aad = totpAad(env.tenantId, user.id);
  const sealed = stored.success ? stored.data.secret : s.pendingSecret;
  const secret = sealed === undefined ? null : await env.unseal(sealed, aad);
  if (!sealed || !secret) return htmlResult(passwordForm(c, 'Your sign-in session expired. Sign in again.'), 200, [{ key, value: null }]);
  const checked = await verifyTotp(secret, form.get('otp') ?? '', env.now, stored.success ? stored.data.lastUsedStep : null);
  const enroll = s.pendingSecret && !stored.success ? { secret, otpauthUri: otpauthUri({ secret, accountName: user.userPrincipalName, issuer: 'Tessera' }) } : undefined;
  if (!checked.ok) {
    return htmlResult(totpPage({ action: target.action, hidden: { ...target.hidden, session: sessionId }, error: 'That code did not work. Try again.', ...(enroll ? { enroll } : {}) }), 200, [
      lockWrite(lockKey, recordFailure(lock, env.now, where, policy), env.now, policy), event(c, user, undefined, 500121, 'Authentication failed during strong authentication request.', null, false),
    ]);
  }
  const muts: Mutation[] = [{ key, value: null }, { key: totpKey(env.tenantId, user.id), value: { secret: sealed, lastUsedStep: checked.value.step, enrolledAt: env.now } }];
  const ca = evaluateCa(env, user, target.clientId, true, true);
  if (ca.decision !== 'allow') {
    return htmlResult(passwordForm(c, 'Access has been blocked by Conditional Access policies (AADSTS53003).'), 403, [...muts, event(c, user, undefined, 53003, 'Access has been blocked by Conditional Access policies.', ca, true)]);
  }
  return { ...(await target.complete(user, true, [...muts, event(c, user, undefined, 0, undefined, ca, true)])), actorUserId: user.id };
}
