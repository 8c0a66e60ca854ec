/**
 * Password hashing with PBKDF2-HMAC-SHA256 (the only password KDF WebCrypto offers).
 * Encoded as `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>` so parameters can be
 * raised later; verify reports `needsRehash` when a stored hash uses weaker parameters.
 * 100 000 iterations is the most workerd allows per deriveBits call.
 */
import { err, ok, type Result } from '../result.js';
import { b64urlDecode, b64urlEncode, constantTimeEqual, randomBytes, utf8, type Random } from './encoding.js';

export const PBKDF2_ITERATIONS = 100_000;
const MIN_ITERATIONS = 100_000;
const MAX_ITERATIONS = 100_000; // workerd rejects more; also bounds CPU an attacker-supplied hash could cost
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PREFIX = 'pbkdf2-sha256';
/** Bounds work on absurd inputs; far above any real password. */
const MAX_PASSWORD_CHARS = 1024;

/**
 * A well-formed hash of a random password nobody knows, at the current parameters: sign-in
 * verifies against it for user names that are not accounts, so they cost the same time as a
 * wrong password for a real one (no account-existence oracle by timing).
 */
export const DUMMY_PASSWORD_HASH = 'pbkdf2-sha256$100000$mm_jemnJZDK0B4JvcC-LaQ$RGNUsZy9DaK6NG1fRC3os3jyCW42_2dcZ-S-UGHReXU';

export type PasswordVerifyError = 'invalid_password' | 'malformed_hash';

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  // NFC so the same password typed on different platforms hashes the same.
  const key = await crypto.subtle.importKey('raw', utf8(password.normalize('NFC')), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, HASH_BYTES * 8));
}

export async function hashPassword(password: string, random: Random, iterations = PBKDF2_ITERATIONS): Promise<string> {
  if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) throw new Error(`assertion failed: iterations ${iterations} out of range`);
  if (password.length > MAX_PASSWORD_CHARS) throw new Error('assertion failed: password too long (validate before hashing)');
  const salt = randomBytes(random, SALT_BYTES);
  const hash = await derive(password, salt, iterations);
  return `${PREFIX}$${iterations}$${b64urlEncode(salt)}$${b64urlEncode(hash)}`;
}

interface Parsed {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  hash: Uint8Array<ArrayBuffer>;
}

function parse(encoded: string): Parsed | null {
  const parts = encoded.split('$');
  if (parts.length !== 4 || parts[0] !== PREFIX || !/^[1-9]\d{0,6}$/.test(parts[1]!)) return null;
  const iterations = Number(parts[1]);
  const salt = b64urlDecode(parts[2]!);
  const hash = b64urlDecode(parts[3]!);
  if (!salt || !hash || salt.length < 16 || hash.length !== HASH_BYTES) return null;
  if (iterations < 1000 || iterations > MAX_ITERATIONS) return null;
  return { iterations, salt, hash };
}

/** Verifies in constant time; `needsRehash` tells the caller to store a fresh hash after a successful sign-in. */
export async function verifyPassword(password: string, encoded: string): Promise<Result<{ needsRehash: boolean }, PasswordVerifyError>> {
  const p = parse(encoded);
  if (!p) return err('malformed_hash');
  if (password.length > MAX_PASSWORD_CHARS) return err('invalid_password');
  const candidate = await derive(password, p.salt, p.iterations);
  if (!constantTimeEqual(candidate, p.hash)) return err('invalid_password');
  return ok({ needsRehash: p.iterations < PBKDF2_ITERATIONS });
}
