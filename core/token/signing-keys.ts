/**
 * Signing key lifecycle for one tenant: generate → pre-publish → active (signs) → retired
 * (still validates tokens it signed) → expired (dropped). Private keys exist at rest only
 * AES-GCM-wrapped under a key-encryption key (KEK); the record is safe to log or replicate.
 * Tokens are only ever validated against the issuing tenant's own keys (see jwt.ts).
 */
import { calculateJwkThumbprint } from 'jose';
import { z } from 'zod';
import { derived, type Json, type Mutation, type StateReader } from '../kv.js';
import { assert } from '../result.js';
import { b64urlDecode, b64urlEncode, hkdfAesKey, randomBytes, utf8, type Random } from './encoding.js';

export type SigningAlg = 'ES256' | 'RS256';
export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256'];

/** Only public members; built from an allowlist so private parameters can never leak. */
export interface PublicJwk {
  kty: 'RSA' | 'EC';
  kid: string;
  alg: SigningAlg;
  use: 'sig';
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

export interface KeyRecord {
  kid: string;
  tenantId: string;
  alg: SigningAlg;
  createdAt: number;
  /** Before this the key is published in JWKS but never signs, so caches learn it first. */
  activateAt: number;
  /** From this the key no longer signs; it still validates until `expireAt`. */
  retireAt: number;
  /** retireAt + max token lifetime: no token it signed can still be valid afterwards. */
  expireAt: number;
  revokedAt?: number;
  /** base64url(iv ‖ AES-GCM ciphertext of the PKCS#8 private key). */
  wrappedPrivateKey: string;
  publicJwk: PublicJwk;
}

export interface KeySchedule {
  activateAt: number;
  retireAt: number;
  expireAt: number;
}

export interface RotationPolicy {
  rotateEveryMs: number;
  /** Must exceed how long resource apps cache JWKS (Entra advises ~24 h refresh). */
  prePublishMs: number;
  maxTokenLifetimeMs: number;
  alg?: SigningAlg;
}

const DAY = 86_400_000;
export const DEFAULT_ROTATION_POLICY: RotationPolicy = {
  rotateEveryMs: 42 * DAY,
  prePublishMs: 7 * DAY,
  // CAE-capable clients get tokens of up to 28 h (core/cae/claims-request.ts), plus an hour of skew.
  maxTokenLifetimeMs: 29 * 3_600_000,
  alg: 'RS256',
};

export type KeyPhase = 'pending' | 'active' | 'retired' | 'expired' | 'revoked';

const AES_IV_BYTES = 12;

const ALG_PARAMS: Record<SigningAlg, SubtleCryptoGenerateKeyAlgorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
};
const IMPORT_PARAMS: Record<SigningAlg, SubtleCryptoImportKeyAlgorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
};

/**
 * Derives the AES-256-GCM KEK from a deployment secret via HKDF-SHA256. The secret must be
 * high-entropy (≥ 32 random characters); HKDF is not a password hash.
 */
export function deriveKek(secret: string): Promise<CryptoKey> {
  return hkdfAesKey(secret, 'tessera/kek/v1', 'signing-key-wrap', ['wrapKey', 'unwrapKey']);
}

/** Binds the ciphertext to tenant, kid and alg: a wrapped key copied into another tenant's record fails to unwrap. */
function wrapAad(tenantId: string, kid: string, alg: SigningAlg): Uint8Array<ArrayBuffer> {
  return utf8(`tessera/signing-key/v1|${tenantId}|${kid}|${alg}`);
}

export async function generateSigningKey(
  kek: CryptoKey,
  tenantId: string,
  alg: SigningAlg,
  now: number,
  random: Random,
  schedule?: KeySchedule,
): Promise<KeyRecord> {
  const when = schedule ?? scheduleFrom(now, now, DEFAULT_ROTATION_POLICY);
  assert(when.activateAt <= when.retireAt && when.retireAt <= when.expireAt, 'key schedule out of order');
  // Extractable only so it can be wrapped; the CryptoKey goes out of scope right after.
  const pair = (await crypto.subtle.generateKey(ALG_PARAMS[alg], true, ['sign', 'verify'])) as CryptoKeyPair;
  const exported = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  const bare = toPublicJwk(exported, '', alg);
  // kid = RFC 7638 thumbprint: a kid can never silently name a different key.
  const kid = await calculateJwkThumbprint({ kty: bare.kty, n: bare.n, e: bare.e, crv: bare.crv, x: bare.x, y: bare.y });
  const iv = randomBytes(random, AES_IV_BYTES);
  const wrapped = new Uint8Array(
    await crypto.subtle.wrapKey('pkcs8', pair.privateKey, kek, { name: 'AES-GCM', iv, additionalData: wrapAad(tenantId, kid, alg) }),
  );
  const blob = new Uint8Array(iv.length + wrapped.length);
  blob.set(iv);
  blob.set(wrapped, iv.length);
  return { kid, tenantId, alg, createdAt: now, ...when, wrappedPrivateKey: b64urlEncode(blob), publicJwk: { ...bare, kid } };
}

/** Unwraps into a non-extractable signing key. Throws on tampering: a corrupt record is a bug, not a client error. */
export async function unwrapSigningKey(kek: CryptoKey, record: KeyRecord): Promise<CryptoKey> {
  const blob = b64urlDecode(record.wrappedPrivateKey);
  assert(blob !== null && blob.length > AES_IV_BYTES, `wrapped key of ${record.kid} is not base64url`);
  return crypto.subtle.unwrapKey(
    'pkcs8',
    blob.slice(AES_IV_BYTES),
    kek,
    { name: 'AES-GCM', iv: blob.slice(0, AES_IV_BYTES), additionalData: wrapAad(record.tenantId, record.kid, record.alg) },
    IMPORT_PARAMS[record.alg],
    false,
    ['sign'],
  );
}

export function toPublicJwk(jwk: JsonWebKey, kid: string, alg: SigningAlg): PublicJwk {
  if (alg === 'RS256') {
    assert(jwk.kty === 'RSA' && jwk.n && jwk.e, 'expected an RSA public key');
    return { kty: 'RSA', kid, alg, use: 'sig', n: jwk.n, e: jwk.e };
  }
  assert(jwk.kty === 'EC' && jwk.crv === 'P-256' && jwk.x && jwk.y, 'expected a P-256 public key');
  return { kty: 'EC', kid, alg, use: 'sig', crv: jwk.crv, x: jwk.x, y: jwk.y };
}

export function keyPhase(k: KeyRecord, now: number): KeyPhase {
  if (k.revokedAt !== undefined && k.revokedAt <= now) return 'revoked';
  if (now >= k.expireAt) return 'expired';
  if (now < k.activateAt) return 'pending';
  if (now < k.retireAt) return 'active';
  return 'retired';
}

function scheduleFrom(activateAt: number, _now: number, p: RotationPolicy): KeySchedule {
  const retireAt = activateAt + p.rotateEveryMs;
  return { activateAt, retireAt, expireAt: retireAt + p.maxTokenLifetimeMs };
}

/** The key to sign with now: active, not revoked, newest activation wins during overlap. */
export function selectActiveKey(keys: readonly KeyRecord[], now: number): KeyRecord | undefined {
  let best: KeyRecord | undefined;
  for (const k of keys) if (keyPhase(k, now) === 'active' && (!best || k.activateAt > best.activateAt)) best = k;
  return best;
}

/** JWKS content: pending + active + retired-unexpired; never revoked or expired. Active first (some clients take keys[0]). */
export function publishedKeys(keys: readonly KeyRecord[], now: number): { keys: PublicJwk[] } {
  const rank: Partial<Record<KeyPhase, number>> = { active: 0, pending: 1, retired: 2 };
  const out = keys
    .map((k) => ({ k, r: rank[keyPhase(k, now)] }))
    .filter((x): x is { k: KeyRecord; r: number } => x.r !== undefined)
    .sort((a, b) => a.r - b.r || b.k.activateAt - a.k.activateAt)
    .map(({ k }) => toPublicJwk(k.publicJwk as JsonWebKey, k.kid, k.alg));
  return { keys: out };
}

export function revokeKey(record: KeyRecord, now: number): KeyRecord {
  return record.revokedAt !== undefined && record.revokedAt <= now ? record : { ...record, revokedAt: now };
}

export interface RotationPlan {
  create: (KeySchedule & { alg: SigningAlg; reason: 'no_active_key' | 'scheduled' }) | null;
  /** kids whose records can be deleted: expired, including revoked ones past their expiry. */
  drop: string[];
  phases: Record<string, KeyPhase>;
}

/**
 * Decides the next lifecycle step. Activation and retirement are implicit in each record's
 * timestamps, so the only writes are "create a key" and "drop a key". A successor is created
 * `prePublishMs` before the newest key retires and activates exactly when it retires.
 * Revoked keys are kept until expiry so validation reports `key_revoked`, not `unknown_kid`.
 */
export function planRotation(keys: readonly KeyRecord[], now: number, policy: RotationPolicy): RotationPlan {
  assert(policy.prePublishMs < policy.rotateEveryMs, 'prePublishMs must be shorter than rotateEveryMs');
  const alg = policy.alg ?? 'RS256';
  const phases: Record<string, KeyPhase> = {};
  for (const k of keys) phases[k.kid] = keyPhase(k, now);
  const drop = keys.filter((k) => now >= k.expireAt).map((k) => k.kid);
  const live = keys.filter((k) => phases[k.kid] === 'active' || phases[k.kid] === 'pending');
  let create: RotationPlan['create'] = null;
  if (!live.some((k) => phases[k.kid] === 'active')) {
    // Bootstrap or emergency (revocation): sign immediately; validators refetch JWKS on an unknown kid.
    create = { alg, reason: 'no_active_key', ...scheduleFrom(now, now, policy) };
  } else {
    const newest = live.reduce((a, b) => (b.retireAt > a.retireAt ? b : a));
    if (newest.retireAt - now <= policy.prePublishMs) {
      create = { alg, reason: 'scheduled', ...scheduleFrom(newest.retireAt, now, policy) };
    }
  }
  return { create, drop, phases };
}

// ---- persistence: t/{tid}/sk/{kid} ----

export const signingKeyPrefix = (tenantId: string): string => `t/${tenantId}/sk/`;
export const signingKeyKey = (tenantId: string, kid: string): string => `${signingKeyPrefix(tenantId)}${kid}`;

const b64u = z.string().regex(/^[A-Za-z0-9_-]+$/);
export const keyRecordSchema = z.object({
  kid: z.string().min(1),
  tenantId: z.string().min(1),
  alg: z.enum(['ES256', 'RS256']),
  createdAt: z.number(),
  activateAt: z.number(),
  retireAt: z.number(),
  expireAt: z.number(),
  revokedAt: z.number().optional(),
  wrappedPrivateKey: b64u,
  publicJwk: z.object({
    kty: z.enum(['RSA', 'EC']),
    kid: z.string(),
    alg: z.enum(['ES256', 'RS256']),
    use: z.literal('sig'),
    n: b64u.optional(),
    e: b64u.optional(),
    crv: z.string().optional(),
    x: b64u.optional(),
    y: b64u.optional(),
  }),
});

export function putSigningKey(record: KeyRecord): Mutation {
  // The purge time lets the primary garbage-collect expired keys even if rotation stops running.
  return { key: signingKeyKey(record.tenantId, record.kid), value: record as unknown as Json, expiresAt: record.expireAt };
}

export function dropSigningKey(tenantId: string, kid: string): Mutation {
  return { key: signingKeyKey(tenantId, kid), value: null };
}

/** Loads a tenant's key records; a record that fails the schema is corrupt state, which is a bug. */
export function loadSigningKeys(reader: StateReader, tenantId: string): readonly KeyRecord[] {
  return derived(reader, `signing keys ${tenantId}`, () => readSigningKeys(reader, tenantId));
}

function readSigningKeys(reader: StateReader, tenantId: string): KeyRecord[] {
  return reader.list(signingKeyPrefix(tenantId)).map(([key, value]) => {
    const parsed = keyRecordSchema.safeParse(value);
    assert(parsed.success, `corrupt signing key record at ${key}`);
    assert(parsed.data.tenantId === tenantId, `signing key ${key} claims tenant ${parsed.data.tenantId}`);
    return parsed.data as KeyRecord;
  });
}
