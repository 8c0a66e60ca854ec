/**
 * RFC 8628 device authorization grant. The device code is stored only as its SHA-256; the
 * user code (8 consonants, no ambiguous characters) indexes the record for the verification
 * page. Polling faster than `interval` answers slow_down and widens the interval by 5 s.
 */
import { z } from 'zod';
import type { Json, Mutation, StateReader } from '../../kv.js';
import { sha256b64url, randomBytes } from '../encoding.js';
import { allowsPublicFlows, loadApp, loadResources, loadUserById } from '../directory-view.js';
import { GRAPH_URI } from '../graph-resource.js';
import { resolveScopes, resourceFinder } from '../scopes.js';
import { deviceCodeKey, userCodeKey } from '../token-keys.js';
import { evaluateCa } from './ca-check.js';
import { consentedScopesFor, consentMissing } from './consent-check.js';
import { authenticateClient, isFlowResult } from './client.js';
import { issueDelegated, randomCode } from './issue.js';
import { scopeError } from './scope-errors.js';
import { parseClaimsRequest } from '../../cae/claims-request.js';
import { jsonResult, oauthError, single, type FlowEnv, type FlowResult } from './types.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** What MSAL and Azure Identity send to Entra (which accepts it as RFC 8628's URN). */
export const DEVICE_GRANT_ALIAS = 'device_code';
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

const deviceSchema = z.object({
  clientId: z.string(), scope: z.string(), userCode: z.string(), expiresAt: z.number(), interval: z.number(), lastPollAt: z.number(),
  status: z.enum(['pending', 'approved', 'declined']), userId: z.string().optional(), authTime: z.number().optional(), mfa: z.boolean().optional(),
});
export type DeviceRecord = z.infer<typeof deviceSchema>;

export function normalizeUserCode(raw: string): string {
  return raw.toUpperCase().replace(/[^A-Z]/g, '');
}

/** The pending device authorization behind a user code, if any. */
export function deviceByUserCode(reader: StateReader, tid: string, raw: string, now: number): { key: string; record: DeviceRecord } | undefined {
  const code = normalizeUserCode(raw);
  if (code.length !== 8) return undefined;
  const idx = reader.get(userCodeKey(tid, code));
  const key = idx !== null && typeof idx === 'object' && !Array.isArray(idx) && typeof idx['key'] === 'string' ? idx['key'] : undefined;
  if (!key) return undefined;
  const parsed = deviceSchema.safeParse(reader.get(key));
  if (!parsed.success || parsed.data.status !== 'pending' || now >= parsed.data.expiresAt) return undefined;
  return { key, record: parsed.data };
}

export function approveDevice(key: string, record: DeviceRecord, userId: string, authTime: number, mfa: boolean): Mutation {
  return { key, value: { ...record, status: 'approved', userId, authTime, mfa } as unknown as Json, expiresAt: record.expiresAt };
}

/** POST /devicecode */
export async function deviceAuthorization(env: FlowEnv, form: URLSearchParams): Promise<FlowResult> {
  const p = single(form, ['client_id', 'scope']);
  if (p === 'duplicate') return oauthError(env, 'malformed_request');
  if (p.client_id === undefined) return oauthError(env, 'missing_parameter', { detail: 'client_id' });
  if (p.scope === undefined) return oauthError(env, 'missing_parameter', { detail: 'scope' });
  const app = loadApp(env.reader, env.tenantId, p.client_id);
  if (!app) return oauthError(env, 'app_not_found', { clientId: p.client_id });
  if (!allowsPublicFlows(app)) return oauthError(env, 'client_credentials_required', { clientId: app.appId });
  const resolved = resolveScopes(p.scope, { grant: 'delegated', findResource: resourceFinder(loadResources(env.reader, env.tenantId)), defaultResource: GRAPH_URI });
  if (!resolved.ok) return scopeError(env, resolved.error, p.scope);
  const deviceCode = randomCode(env);
  const userCode = [...randomBytes(env.random, 8)].map((b) => USER_CODE_ALPHABET[b % USER_CODE_ALPHABET.length]).join('');
  const s = env.settings;
  const key = deviceCodeKey(env.tenantId, await sha256b64url(deviceCode));
  const expiresAt = env.now + s.deviceCodeLifetimeSec * 1000;
  if (env.reader.get(userCodeKey(env.tenantId, userCode)) !== undefined) return oauthError(env, 'service_unavailable');
  const record: DeviceRecord = { clientId: app.appId, scope: p.scope, userCode, expiresAt, interval: s.deviceCodeIntervalSec, lastPollAt: 0, status: 'pending' };
  const verificationUri = `${env.origin}/${env.tenantSegment}/oauth2/v2.0/deviceauth`;
  const shown = `${userCode.slice(0, 4)}-${userCode.slice(4)}`;
  return jsonResult({
    device_code: deviceCode, user_code: shown, verification_uri: verificationUri, expires_in: s.deviceCodeLifetimeSec, interval: s.deviceCodeIntervalSec,
    message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${shown} to authenticate.`,
  }, [
    { key, value: record as unknown as Json, expiresAt },
    { key: userCodeKey(env.tenantId, userCode), value: { key }, expiresAt },
  ]);
}

/** grant_type=urn:ietf:params:oauth:grant-type:device_code */
export async function deviceCodeGrant(env: FlowEnv, form: URLSearchParams, authorization: string | null): Promise<FlowResult> {
  const p = single(form, ['device_code', 'claims']);
  if (p === 'duplicate') return oauthError(env, 'malformed_request');
  const client = await authenticateClient(env, form, authorization);
  if (isFlowResult(client)) return client;
  if (p.device_code === undefined || p.device_code.length > 256) return oauthError(env, 'missing_parameter', { detail: 'device_code' });
  const claims = parseClaimsRequest(p.claims);
  if (!claims.ok) return oauthError(env, 'invalid_claims', { detail: claims.error });
  const key = deviceCodeKey(env.tenantId, await sha256b64url(p.device_code));
  const parsed = deviceSchema.safeParse(env.reader.get(key));
  if (!parsed.success || parsed.data.clientId !== client.app.appId) return oauthError(env, 'invalid_grant', { detail: 'Unknown device code.' });
  const d = parsed.data;
  if (env.now >= d.expiresAt) return oauthError(env, 'expired_token');
  if (d.status === 'declined') return oauthError(env, 'authorization_declined');
  if (d.status === 'pending') {
    const tooSoon = env.now - d.lastPollAt < d.interval * 1000;
    const next = { ...d, lastPollAt: env.now, interval: tooSoon ? d.interval + 5 : d.interval };
    return oauthError(env, tooSoon ? 'slow_down' : 'authorization_pending', {}, [{ key, value: next as unknown as Json, expiresAt: d.expiresAt }]);
  }
  // Approved: the code is single-use.
  const consumed: Mutation[] = [{ key, value: null }, { key: userCodeKey(env.tenantId, d.userCode), value: null }];
  const user = d.userId !== undefined ? loadUserById(env.reader, env.tenantId, d.userId) : undefined;
  if (!user || !user.accountEnabled) return oauthError(env, 'user_disabled', {}, consumed);
  const resolved = resolveScopes(d.scope, {
    grant: 'delegated', findResource: resourceFinder(loadResources(env.reader, env.tenantId)), defaultResource: GRAPH_URI, consentedScopes: consentedScopesFor(env.reader, env.tenantId, client.app.appId, user.id),
  });
  if (!resolved.ok || resolved.value.kind !== 'delegated') return oauthError(env, 'invalid_scope', { detail: 'The granted scope is no longer valid.' }, consumed);
  if (consentMissing(env, client.app.appId, user.id, resolved.value)) return oauthError(env, 'consent_required', { clientId: client.app.appId, detail: client.app.displayName }, consumed);
  const ca = evaluateCa(env, user, client.app.appId, d.mfa === true, false);
  if (ca.decision === 'block') return oauthError(env, 'blocked_by_conditional_access', {}, consumed);
  return issueDelegated(env, {
    clientId: client.app.appId, user, resolution: resolved.value, scopeTokens: d.scope.split(' ').filter(Boolean), authTime: d.authTime ?? env.now,
    mfa: d.mfa === true, claims: claims.value,
  }, [...client.mutations, ...consumed]);
}
