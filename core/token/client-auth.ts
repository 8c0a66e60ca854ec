/**
 * Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2, OIDC Core §9).
 * Two steps: `parseClientAuthentication` turns headers + form into exactly one presented
 * method (rejecting ambiguity and garbage), and `verifyClientAuthentication` checks it against
 * the registered application. Every failure is a tagged reason; nothing here throws on input.
 */
import { compactVerify, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import { derived, type Mutation, type StateReader } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { b64Decode, b64urlDecode, b64urlEncode, constantTimeEqual, fromUtf8, randomBytes, sha256, sha256b64url, type Random } from './encoding.js';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type ClientPresentation =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string; assertion: string }
  | { method: 'none'; clientId: string };

export type ClientAuthReason =
  // parsing
  | 'malformed_authorization_header' | 'duplicate_parameter' | 'oversized_parameter' | 'multiple_methods' | 'missing_client_id'
  | 'client_id_mismatch' | 'unsupported_assertion_type' | 'malformed_assertion'
  // verification
  | 'app_not_found' | 'public_client_credentials_presented' | 'credentials_required'
  | 'invalid_client_secret' | 'client_secret_expired'
  | 'assertion_alg_not_allowed' | 'assertion_key_not_found' | 'assertion_key_expired' | 'assertion_bad_signature'
  | 'assertion_bad_issuer' | 'assertion_bad_audience' | 'assertion_missing_exp' | 'assertion_expired'
  | 'assertion_not_yet_valid' | 'assertion_lifetime_too_long' | 'assertion_missing_jti' | 'assertion_replayed';

export interface ClientAuthError {
  reason: ClientAuthReason;
  /** The client tried HTTP Basic: the error response must be 401 with WWW-Authenticate. */
  viaBasic: boolean;
}

export type FormInput = URLSearchParams | Record<string, string | undefined>;

function formGet(form: FormInput, name: string): { value?: string; duplicate: boolean } {
  if (form instanceof URLSearchParams) {
    const all = form.getAll(name);
    return { value: all[0], duplicate: all.length > 1 };
  }
  const v = form[name];
  return { value: typeof v === 'string' ? v : undefined, duplicate: false };
}

/** application/x-www-form-urlencoded decoding, as RFC 6749 §2.3.1 requires for Basic credentials. */
function formDecode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

const MAX_FIELD = 8192;

export function parseClientAuthentication(input: { authorization?: string | null; form: FormInput }): Result<ClientPresentation, ClientAuthError> {
  const header = input.authorization?.trim();
  const viaBasic = !!header;
  const fail = (reason: ClientAuthReason) => err<ClientAuthError>({ reason, viaBasic });
  const fields: Record<string, string | undefined> = {};
  for (const name of ['client_id', 'client_secret', 'client_assertion', 'client_assertion_type']) {
    const { value, duplicate } = formGet(input.form, name);
    if (duplicate) return fail('duplicate_parameter');
    if (value !== undefined && value.length > MAX_FIELD) return fail('oversized_parameter');
    fields[name] = value === '' ? undefined : value;
  }
  let basic: { id: string; secret: string } | undefined;
  if (header) {
    const m = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    const raw = m ? b64Decode(m[1]!) : null;
    const text = raw ? fromUtf8(raw) : null;
    const colon = text?.indexOf(':') ?? -1;
    if (!text || colon < 0) return fail('malformed_authorization_header');
    const id = formDecode(text.slice(0, colon));
    const secret = formDecode(text.slice(colon + 1));
    if (!id || secret === null) return fail('malformed_authorization_header');
    basic = { id, secret };
  }
  const assertion = fields.client_assertion;
  const methods = [basic, fields.client_secret, assertion].filter((x) => x !== undefined).length;
  if (methods > 1) return fail('multiple_methods');
  if (basic) {
    if (fields.client_id !== undefined && fields.client_id !== basic.id) return fail('client_id_mismatch');
    return ok({ method: 'client_secret_basic', clientId: basic.id, secret: basic.secret });
  }
  if (assertion !== undefined || fields.client_assertion_type !== undefined) {
    if (fields.client_assertion_type !== JWT_BEARER_ASSERTION_TYPE) return fail('unsupported_assertion_type');
    if (assertion === undefined) return fail('malformed_assertion');
    let iss: unknown;
    try {
      iss = decodeJwt(assertion).iss;
    } catch {
      return fail('malformed_assertion');
    }
    // RFC 7523: client_id is optional; the assertion's iss names the client.
    const clientId = fields.client_id ?? (typeof iss === 'string' && iss !== '' ? iss : undefined);
    if (!clientId) return fail('missing_client_id');
    return ok({ method: 'private_key_jwt', clientId, assertion });
  }
  if (fields.client_id === undefined) return fail('missing_client_id');
  if (fields.client_secret !== undefined) return ok({ method: 'client_secret_post', clientId: fields.client_id, secret: fields.client_secret });
  return ok({ method: 'none', clientId: fields.client_id });
}

// ---- registered credentials ----

export interface ClientSecretRecord {
  id: string;
  /** base64url SHA-256 of the secret: secrets are 256-bit random, so a slow hash adds nothing. */
  hash: string;
  /** First characters, shown in the portal like Entra's "hint". */
  hint: string;
  expiresAt?: number | null;
}

export interface ClientKeyCredential {
  kid?: string;
  x5t?: string;
  'x5t#S256'?: string;
  /** Public JWK only. */
  jwk: { kty: string; n?: string; e?: string; crv?: string; x?: string; y?: string };
  startAt?: number | null;
  expiresAt?: number | null;
}

export interface ClientApp {
  appId: string;
  tenantId: string;
  isPublicClient: boolean;
  secrets: readonly ClientSecretRecord[];
  keyCredentials: readonly ClientKeyCredential[];
}

export async function generateClientSecret(random: Random, now: number, lifetimeMs: number): Promise<{ secret: string; record: ClientSecretRecord }> {
  const secret = b64urlEncode(randomBytes(random, 32));
  const id = b64urlEncode(randomBytes(random, 16));
  return { secret, record: { id, hash: await sha256b64url(secret), hint: secret.slice(0, 3), expiresAt: now + lifetimeMs } };
}

export interface VerifyOptions {
  /** Accepted `aud` values for assertions: the token endpoint URL (and optionally the issuer). */
  tokenEndpoint: string | readonly string[];
  now: number;
  reader: StateReader;
  skewMs?: number;
  maxAssertionLifetimeMs?: number;
}

export interface VerifiedClient {
  clientId: string;
  method: ClientPresentation['method'];
  confidential: boolean;
  /** For private_key_jwt: write this to remember the jti until the assertion expires. */
  replayGuard?: Mutation;
}

export const jtiKey = async (tenantId: string, clientId: string, jti: string) => `t/${tenantId}/jti/${await sha256b64url(`${clientId}\n${jti}`)}`;

const ALGS_BY_KTY: Record<string, readonly string[]> = { RSA: ['RS256', 'PS256'], EC: ['ES256'] };

export async function verifyClientAuthentication(
  presented: ClientPresentation,
  app: ClientApp | undefined,
  opts: VerifyOptions,
): Promise<Result<VerifiedClient, ClientAuthError>> {
  const viaBasic = presented.method === 'client_secret_basic';
  const fail = (reason: ClientAuthReason) => err<ClientAuthError>({ reason, viaBasic });
  if (!app || app.appId !== presented.clientId) return fail('app_not_found');
  const base = { clientId: app.appId, method: presented.method };
  if (presented.method === 'none') return app.isPublicClient ? ok({ ...base, confidential: false }) : fail('credentials_required');
  if (app.isPublicClient) return fail('public_client_credentials_presented');
  if (presented.method === 'private_key_jwt') return verifyAssertion(presented.assertion, app, opts, fail);

  // Which registered secrets this one is: a pure function of the stored hashes, so a replayed
  // read set (the edge) hashes each presented secret once; expiry is checked every time.
  const matching = await derived(opts.reader, `secret ${app.tenantId} ${app.appId} ${presented.secret}`, () => matchingSecrets(presented.secret, app.secrets));
  let expiredMatch = false;
  for (const s of matching) {
    if (s.expiresAt != null && opts.now >= s.expiresAt) expiredMatch = true;
    else return ok({ ...base, confidential: true });
  }
  return fail(expiredMatch ? 'client_secret_expired' : 'invalid_client_secret');
}

async function matchingSecrets(secret: string, records: readonly ClientSecretRecord[]): Promise<ClientSecretRecord[]> {
  const digest = await sha256(secret);
  return records.filter((s) => {
    const stored = b64urlDecode(s.hash);
    return stored !== null && constantTimeEqual(digest, stored);
  });
}

async function verifyAssertion(
  assertion: string,
  app: ClientApp,
  opts: VerifyOptions,
  fail: (r: ClientAuthReason) => Result<never, ClientAuthError>,
): Promise<Result<VerifiedClient, ClientAuthError>> {
  const skew = opts.skewMs ?? 300_000;
  const now = opts.now;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return fail('malformed_assertion');
  }
  const alg = typeof header.alg === 'string' ? header.alg : '';
  // Only asymmetric algorithms: "none" and HS* (client_secret_jwt) are refused outright.
  if (!['RS256', 'PS256', 'ES256'].includes(alg)) return fail('assertion_alg_not_allowed');
  const h = header as Record<string, unknown>;
  const ids = app.keyCredentials.filter((k) =>
    (typeof h.kid === 'string' && k.kid === h.kid) || (typeof h.x5t === 'string' && k.x5t === h.x5t) ||
    (typeof h['x5t#S256'] === 'string' && k['x5t#S256'] === h['x5t#S256']));
  // Without any key identifier, accept only when the app has exactly one key (unambiguous).
  const hasId = ['kid', 'x5t', 'x5t#S256'].some((n) => typeof h[n] === 'string');
  const cred = ids[0] ?? (!hasId && app.keyCredentials.length === 1 ? app.keyCredentials[0] : undefined);
  if (!cred) return fail('assertion_key_not_found');
  if ((cred.startAt != null && now < cred.startAt) || (cred.expiresAt != null && now >= cred.expiresAt)) return fail('assertion_key_expired');
  if (!(ALGS_BY_KTY[cred.jwk.kty] ?? []).includes(alg)) return fail('assertion_alg_not_allowed');

  let payload: Record<string, unknown>;
  try {
    const { kty, n, e, crv, x, y } = cred.jwk;
    const key = await importJWK({ kty, n, e, crv, x, y }, alg);
    const v = await compactVerify(assertion, key, { algorithms: [alg] });
    const parsed: unknown = JSON.parse(new TextDecoder().decode(v.payload));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('malformed_assertion');
    payload = parsed as Record<string, unknown>;
  } catch {
    return fail('assertion_bad_signature');
  }
  if (payload.iss !== app.appId || payload.sub !== app.appId) return fail('assertion_bad_issuer');
  const accepted = typeof opts.tokenEndpoint === 'string' ? [opts.tokenEndpoint] : opts.tokenEndpoint;
  const aud = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
  if (!aud.some((a) => typeof a === 'string' && accepted.includes(a))) return fail('assertion_bad_audience');
  const exp = payload.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return fail('assertion_missing_exp');
  if (now - skew >= exp * 1000) return fail('assertion_expired');
  if (typeof payload.nbf === 'number' && payload.nbf * 1000 > now + skew) return fail('assertion_not_yet_valid');
  // A far-future exp would force us to remember the jti indefinitely.
  if (exp * 1000 - now > (opts.maxAssertionLifetimeMs ?? 86_400_000) + skew) return fail('assertion_lifetime_too_long');
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti === '' || jti.length > 512) return fail('assertion_missing_jti');
  const key = await jtiKey(app.tenantId, app.appId, jti);
  if (opts.reader.get(key) !== undefined) return fail('assertion_replayed');
  const until = exp * 1000 + skew;
  return ok({ clientId: app.appId, method: 'private_key_jwt', confidential: true, replayGuard: { key, value: { exp: until }, expiresAt: until } });
}
