import { describe, expect, it } from 'vitest';
import { isValidCodeVerifier, parseChallengeMethod, s256Challenge, verifyPkce } from '../../../core/token/pkce.js';

const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('RFC 7636 Appendix B', () => {
  it('computes the S256 challenge of the example verifier', async () => {
    expect(await s256Challenge(VERIFIER)).toBe(CHALLENGE);
  });

  it('verifies the example pair and rejects a different verifier', async () => {
    expect(await verifyPkce({ codeChallenge: CHALLENGE, method: 'S256' }, VERIFIER)).toEqual({ ok: true, value: undefined });
    expect(await verifyPkce({ codeChallenge: CHALLENGE, method: 'S256' }, VERIFIER.replace('d', 'e'))).toEqual({ ok: false, error: 'verifier_mismatch' });
  });
});

describe('RFC 7636 §4.1 code_verifier syntax', () => {
  it('accepts 43–128 unreserved characters', () => {
    expect(isValidCodeVerifier('a'.repeat(43))).toBe(true);
    expect(isValidCodeVerifier('A-._~'.repeat(25) + 'abc')).toBe(true);
  });

  it('rejects short, long, non-string and non-unreserved verifiers', async () => {
    for (const v of ['a'.repeat(42), 'a'.repeat(129), 'a'.repeat(42) + '+', 'a'.repeat(42) + '=', 'ä'.repeat(43), 42, undefined, null]) {
      expect(isValidCodeVerifier(v)).toBe(false);
    }
    expect(await verifyPkce({ codeChallenge: CHALLENGE, method: 'S256' }, 'short')).toEqual({ ok: false, error: 'invalid_verifier_syntax' });
  });
});

describe('RFC 7636 §4.2–4.3 methods', () => {
  it('plain compares the verifier with the challenge', async () => {
    expect((await verifyPkce({ codeChallenge: VERIFIER, method: 'plain' }, VERIFIER)).ok).toBe(true);
    expect(await verifyPkce({ codeChallenge: VERIFIER, method: 'plain' }, CHALLENGE)).toEqual({ ok: false, error: 'verifier_mismatch' });
  });

  it('defaults an absent method to plain and refuses unknown methods', async () => {
    expect(parseChallengeMethod(undefined)).toBe('plain');
    expect(parseChallengeMethod('S256')).toBe('S256');
    expect(parseChallengeMethod('s256')).toBeNull();
    expect(await verifyPkce({ codeChallenge: CHALLENGE, method: 'S512' }, VERIFIER)).toEqual({ ok: false, error: 'unsupported_method' });
  });

  it('rejects a stored S256 challenge of the wrong shape', async () => {
    expect(await verifyPkce({ codeChallenge: 'abc', method: 'S256' }, VERIFIER)).toEqual({ ok: false, error: 'invalid_challenge_syntax' });
  });
});
