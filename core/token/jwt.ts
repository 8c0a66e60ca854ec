/**
 * Issues and validates Entra-v2-shaped access tokens. The validator is exported for resource
 * apps and used by our own API, so every rejection has a precise reason. Key selection is
 * bound to the expected tenant: a key that exists but belongs to someone else is rejected as
 * `foreign_key` before any signature check (the Storm-0558 class of failure).
 */
import { compactVerify, decodeProtectedHeader, errors as joseErrors, importJWK } from 'jose';
import { signCompact } from './jws-sign.js';
import { assert, err, ok, type Result } from '../result.js';
import { keyPhase, SIGNING_ALGS, type KeyRecord, type SigningAlg } from './signing-keys.js';
import { issuerForVersion, v2IssuerFor, type TokenVersion } from './token-version.js';

export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  oid?: string;
  tid: string;
  /** v2 tokens: the client's appId. */
  azp?: string;
  /** v1 tokens: the client's appId. */
  appid?: string;
  /** `app` on app-only tokens (Entra's optional claim, always sent by Tessera). */
  idtyp?: 'app';
  /** Space-separated delegated scopes; absent for app-only tokens. */
  scp?: string;
  /** App roles (app-only) or user app-role assignments. */
  roles?: string[];
  iat: number;
  nbf: number;
  exp: number;
  ver: '1.0' | '2.0';
  jti: string;
  /** Client capabilities, e.g. ['cp1'] for CAE-capable clients. */
  xms_cc?: string[];
  /** The client's IP at issuance (Entra's `ipaddr`): where strict location enforcement started from. */
  ipaddr?: string;
}

export type TokenRejectionReason =
  | 'malformed'
  | 'alg_not_allowed'
  | 'unknown_kid'
  | 'key_not_yet_valid'
  | 'key_retired_expired'
  | 'key_revoked'
  | 'foreign_key'
  | 'bad_signature'
  | 'bad_issuer'
  | 'bad_audience'
  | 'expired'
  | 'not_yet_valid';

export interface TokenRejection {
  reason: TokenRejectionReason;
  detail: string;
}

export interface ValidatedToken {
  claims: AccessTokenClaims & Record<string, unknown>;
  kid: string;
  alg: SigningAlg;
}

export interface ValidateOptions {
  /** Keys the validator may use; may contain other tenants' keys (they are rejected, not used). */
  keys: readonly KeyRecord[];
  /** One issuer, or the tenant's v1 and v2 issuers (token-version.ts `tenantIssuers`). */
  expectedIssuer: string | readonly string[];
  expectedAudience: string | readonly string[];
  expectedTenantId: string;
  now: number;
  skewMs?: number;
}

export const DEFAULT_SKEW_MS = 300_000;
const MAX_TOKEN_CHARS = 16_384;

/** The v2 issuer (discovery, ID tokens, v2 access tokens); v1 in token-version.ts. */
export function issuerFor(baseUrl: string, tenantId: string): string {
  return v2IssuerFor(baseUrl, tenantId);
}

export interface AccessTokenInput {
  baseUrl: string;
  tenantId: string;
  audience: string;
  subject: string;
  objectId?: string;
  clientId: string;
  scopes?: readonly string[];
  roles?: readonly string[];
  lifetimeMs: number;
  jti: string;
  clientCapabilities?: readonly string[];
  /** A later `nbf` than issuance (epoch seconds), asked for by a claims challenge (core/cae). */
  notBefore?: number;
  /** Token format (token-version.ts); v2 unless the resource asks otherwise. */
  version?: TokenVersion;
  /** The client's IP at issuance; recorded as `ipaddr` when known. */
  clientIp?: string;
}

/**
 * Builds the claim set. A delegated token without scopes would authorize nothing and is a bug;
 * an app-only token (`roles` given, possibly empty) may carry no role, as in Entra: the API decides.
 */
export function buildAccessTokenClaims(input: AccessTokenInput, now: number): AccessTokenClaims {
  const hasScopes = (input.scopes?.length ?? 0) > 0;
  const hasRoles = (input.roles?.length ?? 0) > 0;
  assert(hasScopes || input.roles !== undefined, 'a delegated access token needs scopes');
  assert(input.lifetimeMs > 0, 'token lifetime must be positive');
  const iat = Math.floor(now / 1000);
  const version = input.version ?? '2.0';
  return {
    iss: issuerForVersion(input.baseUrl, input.tenantId, version),
    aud: input.audience,
    sub: input.subject,
    ...(input.objectId !== undefined ? { oid: input.objectId } : {}),
    tid: input.tenantId,
    ...(version === '1.0' ? { appid: input.clientId } : { azp: input.clientId }),
    ...(hasScopes ? { scp: input.scopes!.join(' ') } : {}),
    ...(hasRoles ? { roles: [...input.roles!] } : {}),
    iat,
    nbf: Math.max(iat, input.notBefore ?? iat),
    exp: iat + Math.floor(input.lifetimeMs / 1000),
    ver: version,
    jti: input.jti,
    ...(input.clientCapabilities?.length ? { xms_cc: [...input.clientCapabilities] } : {}),
    ...(input.clientIp !== undefined && input.clientIp !== '0.0.0.0' ? { ipaddr: input.clientIp } : {}),
  };
}

/**
 * Signs `claims` with the tenant's active key. Signing with a non-active key or for another
 * tenant is a programming error and throws: those are exactly the mistakes validators catch.
 */
export async function issueToken(key: CryptoKey, record: KeyRecord, claims: AccessTokenClaims, now: number): Promise<string> {
  assert(keyPhase(record, now) === 'active', `key ${record.kid} is not active`);
  assert(claims.tid === record.tenantId, `key ${record.kid} belongs to tenant ${record.tenantId}, not ${claims.tid}`);
  assert(claims.iss.endsWith(`/${record.tenantId}/v2.0`) || claims.iss.endsWith(`/${record.tenantId}/`), 'issuer does not name the key tenant');
  return signCompact(key, { alg: record.alg, kid: record.kid, typ: 'JWT' }, claims);
}

// Imported public keys, cached by kid+material so a hot validator does not re-import per request.
const keyCache = new Map<string, CryptoKey>();
async function publicKeyFor(record: KeyRecord): Promise<CryptoKey> {
  const j = record.publicJwk;
  const id = `${record.alg}|${j.n ?? ''}|${j.x ?? ''}|${j.y ?? ''}`;
  const hit = keyCache.get(id);
  if (hit) return hit;
  const { kty, n, e, crv, x, y } = j;
  const key = (await importJWK({ kty, n, e, crv, x, y }, record.alg)) as CryptoKey;
  if (keyCache.size >= 512) keyCache.clear();
  keyCache.set(id, key);
  return key;
}

const reject = (reason: TokenRejectionReason, detail: string) => err<TokenRejection>({ reason, detail });

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export async function validateToken(token: unknown, opts: ValidateOptions): Promise<Result<ValidatedToken, TokenRejection>> {
  const skew = opts.skewMs ?? DEFAULT_SKEW_MS;
  const now = opts.now;
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) {
    return reject('malformed', 'not a compact JWS');
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return reject('malformed', 'unreadable header');
  }
  // The tenant's keys also sign Shared Signals SETs (core/cae/ssf-streams.ts): one never passes for an access token.
  if (typeof header.typ === 'string' && header.typ.toLowerCase().endsWith('secevent+jwt')) return reject('malformed', 'a Security Event Token is not an access token');
  const alg = header.alg;
  // Only asymmetric algorithms we issue: rules out "none" and HS* (public key used as HMAC secret).
  if (typeof alg !== 'string' || !(SIGNING_ALGS as readonly string[]).includes(alg)) {
    return reject('alg_not_allowed', `alg ${String(alg)} is not accepted`);
  }
  if (typeof header.kid !== 'string' || header.kid === '') return reject('unknown_kid', 'no kid in header');
  const kid = header.kid;
  const candidates = opts.keys.filter((k) => k.kid === kid);
  if (candidates.length === 0) return reject('unknown_kid', `kid ${kid} is not published`);
  const record = candidates.find((k) => k.tenantId === opts.expectedTenantId);
  if (!record) return reject('foreign_key', `kid ${kid} belongs to another tenant`);
  const phase = keyPhase(record, now);
  if (phase === 'revoked') return reject('key_revoked', `kid ${kid} was revoked`);
  if (alg !== record.alg) return reject('alg_not_allowed', `header alg ${alg} differs from key alg ${record.alg}`);
  if (now + skew < record.activateAt) return reject('key_not_yet_valid', `kid ${kid} is not active yet`);
  if (phase === 'expired') return reject('key_retired_expired', `kid ${kid} has expired`);

  let payloadBytes: Uint8Array;
  try {
    const verified = await compactVerify(token, await publicKeyFor(record), { algorithms: [record.alg] });
    payloadBytes = verified.payload;
  } catch (e) {
    if (e instanceof joseErrors.JWSInvalid) return reject('malformed', 'invalid JWS structure');
    return reject('bad_signature', 'signature verification failed');
  }
  let claims: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(payloadBytes));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return reject('malformed', 'payload is not an object');
    claims = parsed as Record<string, unknown>;
  } catch {
    return reject('malformed', 'payload is not JSON');
  }
  if (!isNum(claims.exp) || !isNum(claims.iat) || typeof claims.tid !== 'string' || typeof claims.sub !== 'string') {
    return reject('malformed', 'missing exp, iat, tid or sub');
  }
  // A genuine token is signed while its key is active; anything else means the key was misused.
  if (claims.iat * 1000 < record.activateAt - skew) return reject('key_not_yet_valid', 'token predates key activation');
  if (claims.iat * 1000 > record.retireAt + skew) return reject('key_retired_expired', 'token signed after key retirement');

  const issuers = typeof opts.expectedIssuer === 'string' ? [opts.expectedIssuer] : opts.expectedIssuer;
  if (typeof claims.iss !== 'string' || !issuers.includes(claims.iss)) return reject('bad_issuer', `issuer ${String(claims.iss)}`);
  if (claims.tid !== opts.expectedTenantId) return reject('bad_issuer', `tid ${claims.tid}`);
  const expected = typeof opts.expectedAudience === 'string' ? [opts.expectedAudience] : opts.expectedAudience;
  const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!aud.some((a) => typeof a === 'string' && expected.includes(a))) return reject('bad_audience', `audience ${JSON.stringify(claims.aud)}`);
  if (now - skew >= claims.exp * 1000) return reject('expired', 'token has expired');
  if (isNum(claims.nbf) && claims.nbf * 1000 > now + skew) return reject('not_yet_valid', 'nbf is in the future');
  if (claims.iat * 1000 > now + skew) return reject('not_yet_valid', 'iat is in the future');
  return ok({ claims: claims as unknown as ValidatedToken['claims'], kid, alg: record.alg });
}
