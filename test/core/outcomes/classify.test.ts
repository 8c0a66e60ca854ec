import { describe, expect, it } from 'vitest';
import { classifyManagedIdentity, classifySignIn, classifyTokenReply } from '../../../core/outcomes/classify.js';

const body = (error: string, code: number) => JSON.stringify({ error, error_description: 'x', error_codes: [code], timestamp: 't', trace_id: 't', correlation_id: 'c' });

describe('classifyTokenReply', () => {
  it('counts a 200 as a success', () => {
    expect(classifyTokenReply(200, '{"access_token":"x"}')).toEqual({ scenario: 'tokenIssuance', outcome: 'success', caBlocked: false });
  });
  it('counts a wrong secret as a caller error', () => {
    expect(classifyTokenReply(401, body('invalid_client', 7000215))?.outcome).toBe('callerError');
  });
  it('counts a 429 as a caller error', () => {
    expect(classifyTokenReply(429, body('invalid_request', 0))?.outcome).toBe('callerError');
  });
  it('marks a Conditional Access block', () => {
    expect(classifyTokenReply(400, body('access_denied', 53003))).toEqual({ scenario: 'tokenIssuance', outcome: 'callerError', caBlocked: true });
  });
  it('counts 5xx and temporarily_unavailable as service failures', () => {
    expect(classifyTokenReply(503, body('temporarily_unavailable', 90033))?.outcome).toBe('serviceFailure');
    expect(classifyTokenReply(500, '')?.outcome).toBe('serviceFailure');
    expect(classifyTokenReply(400, body('temporarily_unavailable', 90033))?.outcome).toBe('serviceFailure');
  });
  it('does not count a pending device-code poll', () => {
    expect(classifyTokenReply(400, body('authorization_pending', 70016))).toBeNull();
    expect(classifyTokenReply(400, body('slow_down', 70016))).toBeNull();
  });
});

describe('classifySignIn', () => {
  it('does not count a step that wrote no sign-in record (a form shown)', () => {
    expect(classifySignIn(200, undefined)).toBeNull();
  });
  it('separates MFA sign-ins from single-factor ones', () => {
    expect(classifySignIn(302, { errorCode: 0, mfa: false })).toEqual({ scenario: 'signIn', outcome: 'success', caBlocked: false });
    expect(classifySignIn(302, { errorCode: 0, mfa: true })).toEqual({ scenario: 'mfaSignIn', outcome: 'success', caBlocked: false });
    expect(classifySignIn(200, { errorCode: 500121, mfa: false })).toEqual({ scenario: 'mfaSignIn', outcome: 'callerError', caBlocked: false });
  });
  it('counts a bad password as a caller error and a CA block as blocked', () => {
    expect(classifySignIn(200, { errorCode: 50126, mfa: false })?.outcome).toBe('callerError');
    expect(classifySignIn(403, { errorCode: 53003, mfa: false })?.caBlocked).toBe(true);
  });
  it('counts a 5xx as a service failure even without a record', () => {
    expect(classifySignIn(503, undefined)?.outcome).toBe('serviceFailure');
  });
});

describe('classifyManagedIdentity', () => {
  it('maps status classes', () => {
    expect(classifyManagedIdentity(200).outcome).toBe('success');
    expect(classifyManagedIdentity(400).outcome).toBe('callerError');
    expect(classifyManagedIdentity(503).outcome).toBe('serviceFailure');
  });
});
