import { describe, expect, it } from 'vitest';
import type { ClientAuthReason } from '../../../core/token/client-auth.js';
import { entraTimestamp, fromClientAuth, fromPkce, fromRefresh, oauthErrorResponse, type ErrorContext } from '../../../core/token/oauth-errors.js';
import { T0 } from './helpers.js';

const ctx: ErrorContext = { now: T0, traceId: 'trace-1', correlationId: 'corr-1', baseUrl: 'https://login.tessera.test/', clientId: 'app-1', tenantId: 'tA' };

describe('Entra error body', () => {
  it('has the Entra shape with AADSTS code, ids and timestamp', () => {
    const r = oauthErrorResponse('invalid_scope', { ...ctx, detail: 'bad' });
    expect(r.status).toBe(400);
    expect(r.headers).toMatchObject({ 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    expect(r.body).toEqual({
      error: 'invalid_scope',
      error_description: "AADSTS70011: The provided value for the input parameter 'scope' is not valid. bad Trace ID: trace-1 Correlation ID: corr-1 Timestamp: 2025-01-01 00:00:00Z",
      error_codes: [70011], timestamp: '2025-01-01 00:00:00Z', trace_id: 'trace-1', correlation_id: 'corr-1', error_uri: 'https://login.tessera.test/error?code=70011',
    });
    expect(entraTimestamp(T0 + 1234)).toBe('2025-01-01 00:00:01Z');
  });

  it('invalid_client is 401, with WWW-Authenticate only after Basic auth', () => {
    const basic = oauthErrorResponse('invalid_client_secret', { ...ctx, viaBasic: true, realm: 'login"x' });
    expect(basic.status).toBe(401);
    expect(basic.headers['WWW-Authenticate']).toBe('Basic realm="loginx"');
    expect(basic.body.error_codes).toEqual([7000215]);
    expect(basic.body.error_description).toContain("app 'app-1'");
    const post = oauthErrorResponse('invalid_client_secret', ctx);
    expect(post.status).toBe(401);
    expect(post.headers['WWW-Authenticate']).toBeUndefined();
  });

  it('uses the known AADSTS numbers', () => {
    const codes = {
      app_not_found: ['unauthorized_client', 700016], malformed_request: ['invalid_request', 9002313], invalid_credentials: ['invalid_grant', 50126],
      account_locked: ['invalid_grant', 50053], mfa_required: ['interaction_required', 50076], blocked_by_conditional_access: ['access_denied', 53003],
      authorization_pending: ['authorization_pending', 70016], invalid_grant: ['invalid_grant', 70000], code_already_redeemed: ['invalid_grant', 54005],
      refresh_token_expired: ['invalid_grant', 700082], unsupported_grant_type: ['unsupported_grant_type', 70003], slow_down: ['slow_down', 70016],
      expired_token: ['expired_token', 70019],
    } as const;
    for (const [reason, [error, code]] of Object.entries(codes)) {
      const r = oauthErrorResponse(reason as keyof typeof codes, ctx);
      expect([r.body.error, r.body.error_codes[0], r.status], reason).toEqual([error, code, 400]);
    }
  });

  it('strips control characters from client-supplied values', () => {
    const r = oauthErrorResponse('app_not_found', { ...ctx, clientId: 'evil\r\nTrace ID: fake' });
    expect(r.body.error_description).not.toMatch(/[\r\n]/);
  });
});

describe('reason adapters', () => {
  it('maps every client-auth reason to an invalid_client/invalid_request/unauthorized_client error', () => {
    const all: ClientAuthReason[] = ['malformed_authorization_header', 'duplicate_parameter', 'oversized_parameter', 'multiple_methods', 'missing_client_id', 'client_id_mismatch',
      'unsupported_assertion_type', 'malformed_assertion', 'app_not_found', 'public_client_credentials_presented', 'credentials_required',
      'invalid_client_secret', 'client_secret_expired', 'assertion_alg_not_allowed', 'assertion_key_not_found', 'assertion_key_expired',
      'assertion_bad_signature', 'assertion_bad_issuer', 'assertion_bad_audience', 'assertion_missing_exp', 'assertion_expired',
      'assertion_not_yet_valid', 'assertion_lifetime_too_long', 'assertion_missing_jti', 'assertion_replayed'];
    for (const r of all) expect(['invalid_client', 'invalid_request', 'unauthorized_client']).toContain(oauthErrorResponse(fromClientAuth(r), ctx).body.error);
    expect(oauthErrorResponse(fromClientAuth('malformed_authorization_header'), { ...ctx, viaBasic: true }).status).toBe(401);
  });

  it('maps refresh and PKCE failures to invalid_grant variants', () => {
    expect(fromRefresh('reuse_detected')).toBe('refresh_token_revoked');
    expect(fromRefresh('expired')).toBe('refresh_token_expired');
    expect(fromRefresh('not_found')).toBe('invalid_grant');
    expect(oauthErrorResponse(fromPkce('verifier_mismatch'), ctx).body.error_codes).toEqual([501481]);
    expect(fromPkce('invalid_verifier_syntax')).toBe('malformed_request');
  });
});
