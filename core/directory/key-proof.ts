/**
 * The proof of possession `addKey` / `removeKey` require (Graph "application: addKey"): a JWT
 * signed with the private key of one of the application's current certificates, `aud`
 * `00000002-0000-0000-c000-000000000000`, `iss` the application's object id, and a lifetime
 * (`exp - nbf`) of at most 10 minutes.
 *
 * The edge decodes the proof and hashes its signing input (`parseProof`, async WebCrypto); the
 * replica, whose write planning is synchronous and the only place that knows the app's keys as
 * of this write, checks the claims and the RS256 signature against those keys (`verifyProof`,
 * RSASSA-PKCS1-v1_5 with BigInt arithmetic). So a key removed by an earlier write can never
 * prove a later one.
 */
import type { Json } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { b64urlDecode, b64urlEncode, fromUtf8, utf8 } from '../token/encoding.js';
import type { GraphError } from './types.js';
import { isPlainObject } from './validation.js';

/** Graph documents the Azure AD Graph id as the proof's audience. */
export const PROOF_AUDIENCE = '00000002-0000-0000-c000-000000000000';
const MAX_LIFETIME_S = 600;
const SKEW_S = 300;
const MAX_PROOF_CHARS = 16_384;

export interface ParsedProof {
  readonly alg: string;
  readonly x5t: string | undefined;
  readonly kid: string | undefined;
  readonly claims: { readonly [k: string]: Json };
  /** base64url SHA-256 of the signing input (`header.payload`). */
  readonly digest: string;
  readonly signature: string;
}

/** Graph answers a missing or unverifiable proof as an authentication failure. */
export const badProof = (): GraphError => ({ kind: 'unauthorized', code: 'Authentication_MissingOrMalformed', message: 'Access Token missing or malformed.' });

function jsonPart(part: string): { [k: string]: Json } | null {
  const bytes = b64urlDecode(part);
  const text = bytes === null ? null : fromUtf8(bytes);
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return isPlainObject(v) ? (v as { [k: string]: Json }) : null;
  } catch {
    return null;
  }
}

/** Decodes the body's `proof` (absent → undefined) and hashes what its signature covers. */
export async function parseProof(body: unknown): Promise<Result<ParsedProof | undefined, GraphError>> {
  if (!isPlainObject(body) || !Object.hasOwn(body, 'proof')) return ok(undefined);
  const raw = body['proof'];
  if (typeof raw !== 'string' || raw.length > MAX_PROOF_CHARS) return err(badProof());
  const parts = raw.split('.');
  const [h, p, s] = parts;
  if (parts.length !== 3 || h === undefined || p === undefined || s === undefined) return err(badProof());
  const header = jsonPart(h);
  const claims = jsonPart(p);
  if (header === null || claims === null || b64urlDecode(s) === null) return err(badProof());
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(`${h}.${p}`)));
  const str = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
  return ok({ alg: str(header['alg']) ?? '', x5t: str(header['x5t']), kid: str(header['kid']), claims, digest: b64urlEncode(digest), signature: s });
}

const toBigInt = (bytes: Uint8Array): bigint => {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
};

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

/** DER DigestInfo prefix of SHA-256 (RFC 8017 §9.2, note 1). */
const SHA256_PREFIX = [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

/** RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 §8.2.2) of a precomputed digest. */
export function rsaSha256Verify(jwk: { n: string; e: string }, digest: Uint8Array, signature: Uint8Array): boolean {
  const nBytes = b64urlDecode(jwk.n);
  const eBytes = b64urlDecode(jwk.e);
  if (nBytes === null || eBytes === null || digest.length !== 32) return false;
  const n = toBigInt(nBytes);
  const k = nBytes[0] === 0 ? nBytes.length - 1 : nBytes.length;
  if (signature.length !== k || k < SHA256_PREFIX.length + 32 + 11) return false;
  const s = toBigInt(signature);
  if (s >= n) return false;
  let m = modPow(s, toBigInt(eBytes), n);
  const em = new Uint8Array(k);
  for (let i = k - 1; i >= 0; i--) {
    em[i] = Number(m & 0xffn);
    m >>= 8n;
  }
  const t = [...SHA256_PREFIX, ...digest];
  const ps = k - t.length - 3;
  const expected = [0x00, 0x01, ...new Array<number>(ps).fill(0xff), 0x00, ...t];
  let diff = 0;
  for (let i = 0; i < k; i++) diff |= (em[i] ?? 0) ^ (expected[i] ?? 0);
  return diff === 0;
}

/** A stored certificate key of the credential record (key-credentials.ts `planKeyCredentials`). */
interface StoredKey {
  kid: string;
  x5t: string | undefined;
  jwk: { n: string; e: string };
  startAt: number | null;
  expiresAt: number | null;
}

function storedKey(v: Json): StoredKey | undefined {
  if (!isPlainObject(v)) return undefined;
  const jwk = v['jwk'];
  if (!isPlainObject(jwk) || jwk['kty'] !== 'RSA' || typeof jwk['n'] !== 'string' || typeof jwk['e'] !== 'string') return undefined;
  const num = (x: Json | undefined): number | null => (typeof x === 'number' ? x : null);
  return {
    kid: String(v['kid']), x5t: typeof v['x5t'] === 'string' ? v['x5t'] : undefined, jwk: { n: jwk['n'], e: jwk['e'] },
    startAt: num(v['startAt']), expiresAt: num(v['expiresAt']),
  };
}

/**
 * Checks the proof against the application's certificate keys valid at `now`: the key it names
 * (`x5t`, or `kid` = hex thumbprint) or, without such a name, any of them. Returns the proving key's id.
 */
export function verifyProof(proof: ParsedProof | undefined, appObjectId: string, keys: readonly Json[], now: number): Result<string, GraphError> {
  if (proof === undefined || proof.alg !== 'RS256') return err(badProof());
  const { aud, iss, nbf, exp } = proof.claims;
  if (aud !== PROOF_AUDIENCE || typeof iss !== 'string' || iss.toLowerCase() !== appObjectId.toLowerCase()) return err(badProof());
  if (typeof nbf !== 'number' || typeof exp !== 'number' || exp - nbf > MAX_LIFETIME_S || exp <= nbf) return err(badProof());
  const t = Math.floor(now / 1000);
  if (nbf > t + SKEW_S || exp <= t - SKEW_S) return err(badProof());
  const digest = b64urlDecode(proof.digest);
  const signature = b64urlDecode(proof.signature);
  if (digest === null || signature === null) return err(badProof());
  // The key the proof names: `x5t`, or a `kid` that is the hex thumbprint (.NET's signing credentials); another `kid` names nothing.
  const named = proof.x5t ?? (proof.kid !== undefined ? thumbprintAsX5t(proof.kid) : undefined);
  for (const raw of keys) {
    const key = storedKey(raw);
    if (key === undefined || (key.startAt !== null && now < key.startAt) || (key.expiresAt !== null && now >= key.expiresAt)) continue;
    if (named !== undefined && key.x5t !== named) continue;
    if (rsaSha256Verify(key.jwk, digest, signature)) return ok(key.kid);
  }
  return err(badProof());
}

/** .NET's X509SigningCredentials puts the hex SHA-1 thumbprint in `kid`: the same value as `x5t`. */
function thumbprintAsX5t(named: string): string | undefined {
  if (!/^[0-9A-Fa-f]{40}$/.test(named)) return undefined;
  const bytes = new Uint8Array(20);
  for (let i = 0; i < 20; i++) bytes[i] = parseInt(named.slice(2 * i, 2 * i + 2), 16);
  return b64urlEncode(bytes);
}
