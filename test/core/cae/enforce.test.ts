import { describe, expect, it } from 'vitest';
import { challengeClaims, claimsChallenge, evaluateToken } from '../../../core/cae/enforce.js';
import type { CaeState } from '../../../core/cae/critical-events.js';

const at = 1_700_000_000_250;
const state: CaeState = { watermark: 4, users: { u1: { at, reason: 'sessions_revoked' } }, apps: { a1: { at, reason: 'service_principal_disabled' } } };

describe('evaluateToken (core/cae/enforce.ts)', () => {
  it('revokes a token issued in or before the event second, with the challenge only for a capable client', () => {
    expect(evaluateToken(state, { userId: 'u1', appId: 'x', iat: 1_700_000_000, capable: true })).toEqual({ kind: 'revoked', mark: state.users['u1'], challenge: true, notBefore: 1_700_000_001 });
    expect(evaluateToken(state, { userId: 'u1', iat: 1_600_000_000, capable: false })).toMatchObject({ kind: 'revoked', challenge: false });
    expect(evaluateToken(state, { userId: 'u1', iat: 1_700_000_001, capable: true })).toEqual({ kind: 'valid' });
  });

  it('revokes app-only tokens of an app with an event, and leaves other subjects alone', () => {
    expect(evaluateToken(state, { appId: 'A1', iat: 1_699_000_000, capable: false })).toMatchObject({ kind: 'revoked', mark: { reason: 'service_principal_disabled' } });
    expect(evaluateToken(state, { userId: 'u2', appId: 'a2', iat: 1, capable: true })).toEqual({ kind: 'valid' });
  });
});

describe('claimsChallenge (core/cae/enforce.ts)', () => {
  it('is Entra\'s header: authorization_uri, insufficient_claims and the base64 nbf claims request', () => {
    const h = claimsChallenge('https://login.example', 'tid-1', 1_700_000_001);
    expect(h).toBe(`Bearer authorization_uri="https://login.example/tid-1/oauth2/v2.0/authorize", error="insufficient_claims", claims="${btoa('{"access_token":{"nbf":{"essential":true,"value":"1700000001"}}}')}"`);
    const claims = /claims="([^"]+)"/.exec(h)![1]!;
    expect(JSON.parse(atob(claims))).toEqual({ access_token: { nbf: { essential: true, value: '1700000001' } } });
    expect(challengeClaims(5)).toBe('{"access_token":{"nbf":{"essential":true,"value":"5"}}}');
  });
});
