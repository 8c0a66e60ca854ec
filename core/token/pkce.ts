/**
 * RFC 7636 Proof Key for Code Exchange. The challenge is stored with the authorization
 * code; the token request presents the verifier. S256 is what we require for public
 * clients; `plain` is accepted only because the RFC (and Entra) allow it.
 */
import { err, ok, type Result } from '../result.js';
import { constantTimeEqual, sha256b64url, utf8 } from './encoding.js';

export type PkceMethod = 'S256' | 'plain';
export type PkceError = 'invalid_verifier_syntax' | 'invalid_challenge_syntax' | 'unsupported_method' | 'verifier_mismatch';

/** RFC 7636 §4.1: 43–128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

export function isValidCodeVerifier(v: unknown): v is string {
  return typeof v === 'string' && VERIFIER.test(v);
}

/** The challenge has the same alphabet; S256 challenges are exactly 43 chars (32 bytes base64url). */
export function isValidCodeChallenge(c: unknown, method: PkceMethod): c is string {
  if (typeof c !== 'string') return false;
  return method === 'S256' ? /^[A-Za-z0-9_-]{43}$/.test(c) : VERIFIER.test(c);
}

/** Parses `code_challenge_method`; absent means `plain` (RFC 7636 §4.3). */
export function parseChallengeMethod(m: unknown): PkceMethod | null {
  if (m === undefined || m === null || m === '' || m === 'plain') return 'plain';
  return m === 'S256' ? 'S256' : null;
}

/** BASE64URL(SHA256(ASCII(code_verifier))) — RFC 7636 §4.2. */
export function s256Challenge(verifier: string): Promise<string> {
  return sha256b64url(verifier);
}

export async function verifyPkce(
  stored: { codeChallenge: string; method: PkceMethod | string },
  verifier: unknown,
): Promise<Result<void, PkceError>> {
  if (stored.method !== 'S256' && stored.method !== 'plain') return err('unsupported_method');
  if (!isValidCodeVerifier(verifier)) return err('invalid_verifier_syntax');
  if (!isValidCodeChallenge(stored.codeChallenge, stored.method)) return err('invalid_challenge_syntax');
  const computed = stored.method === 'S256' ? await s256Challenge(verifier) : verifier;
  return constantTimeEqual(utf8(computed), utf8(stored.codeChallenge)) ? ok(undefined) : err('verifier_mismatch');
}
