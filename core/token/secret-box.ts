/**
 * Encryption of small secrets kept in replicated state (TOTP seeds), so that no replica, log
 * entry or snapshot holds them in clear. AES-256-GCM under a key derived (HKDF) from the same
 * deployment secret as the signing-key KEK, with a distinct `info`; the AAD binds a sealed
 * value to where it belongs (tenant, user), so it cannot be moved to another record.
 */
import { b64urlDecode, b64urlEncode, fromUtf8, hkdfAesKey, randomBytes, utf8, type Random } from './encoding.js';

const IV_BYTES = 12;
const PREFIX = 'sb1';

export function deriveSecretBoxKey(secret: string): Promise<CryptoKey> {
  return hkdfAesKey(secret, 'tessera/secret-box/v1', 'replicated-secrets', ['encrypt', 'decrypt']);
}

export async function seal(key: CryptoKey, plaintext: string, aad: string, random: Random): Promise<string> {
  const iv = randomBytes(random, IV_BYTES);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(aad) }, key, utf8(plaintext)));
  return `${PREFIX}.${b64urlEncode(iv)}.${b64urlEncode(ct)}`;
}

/** The plaintext, or null for anything not sealed by us for this `aad`. */
export async function unseal(key: CryptoKey, sealed: string, aad: string): Promise<string | null> {
  const [prefix, ivText, ctText, extra] = sealed.split('.');
  if (prefix !== PREFIX || ivText === undefined || ctText === undefined || extra !== undefined) return null;
  const iv = b64urlDecode(ivText);
  const ct = b64urlDecode(ctText);
  if (iv === null || ct === null || iv.length !== IV_BYTES) return null;
  try {
    return fromUtf8(new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: utf8(aad) }, key, ct)));
  } catch {
    return null;
  }
}
