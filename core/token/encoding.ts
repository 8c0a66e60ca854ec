/**
 * Byte helpers shared by the token modules. Kept dependency-free so the same code runs in
 * workerd and Node; base64url is hand-written only because decoding must *reject* bad input
 * (returning null) rather than throw, so garbage from a client never becomes a 500.
 */

/** Injected randomness: `n` cryptographically random bytes. */
export type Random = (n: number) => Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s) as Uint8Array<ArrayBuffer>;
}

/** Strict UTF-8 decode; null on invalid sequences. */
export function fromUtf8(bytes: Uint8Array): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

/** `Uint8Array.prototype.toBase64` (workerd has it; Node 20 does not). */
type NativeToBase64 = (this: Uint8Array, options: { alphabet: 'base64url'; omitPadding: boolean }) => string;
const nativeToBase64 = (Uint8Array.prototype as unknown as { toBase64?: NativeToBase64 }).toBase64;

export function b64urlEncode(bytes: Uint8Array): string {
  // Every token is encoded three times: the native encoder avoids a string per byte.
  if (nativeToBase64 !== undefined) return nativeToBase64.call(bytes, { alphabet: 'base64url', omitPadding: true });
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes unpadded base64url; null if the input is not canonical base64url. */
export function b64urlDecode(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  return b64Decode(s.replace(/-/g, '+').replace(/_/g, '/'));
}

/** Decodes standard (padded or unpadded) base64; null on garbage. */
export function b64Decode(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  const unpadded = s.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return null;
  try {
    const bin = atob(unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

export async function sha256(data: Uint8Array | string): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = typeof data === 'string' ? utf8(data) : copy(data);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

export async function sha256b64url(data: Uint8Array | string): Promise<string> {
  return b64urlEncode(await sha256(data));
}

/**
 * An AES-256-GCM key derived (HKDF-SHA-256) from high-entropy deployment key material; `salt`
 * and `info` keep the keys for different purposes apart. HKDF is not a password hash.
 */
export async function hkdfAesKey(secret: string, salt: string, info: string, usages: Array<'encrypt' | 'decrypt' | 'wrapKey' | 'unwrapKey'>): Promise<CryptoKey> {
  if (secret.length < 32) throw new Error('assertion failed: key material must be at least 32 characters of random data');
  const ikm = await crypto.subtle.importKey('raw', utf8(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: utf8(salt), info: utf8(info) }, ikm, { name: 'AES-GCM', length: 256 }, false, usages);
}

/** Compares without an early exit so timing does not reveal the matching prefix length. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Copies into a fresh ArrayBuffer-backed array (WebCrypto typings reject shared buffers). */
export function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** Draws `n` bytes and checks the injected source honoured the length (a short read is a bug). */
export function randomBytes(random: Random, n: number): Uint8Array<ArrayBuffer> {
  const bytes = random(n);
  if (bytes.length !== n) throw new Error(`assertion failed: random source returned ${bytes.length} of ${n} bytes`);
  return copy(bytes);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A random RFC 4122 v4 GUID (Entra's ids, trace and correlation ids have this shape). */
export function randomGuid(random: Random): string {
  const b = randomBytes(random, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  let h = '';
  for (const x of b) h += HEX[x];
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
