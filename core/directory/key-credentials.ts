/**
 * Certificate credentials of an application (Graph `keyCredential`), set with
 * `PATCH /applications/{id}` `{keyCredentials: [...]}`, as Graph documents for the first key.
 * The certificate is parsed at the edge (`parseCertificates`, async WebCrypto) into its public
 * JWK and thumbprints, carried beside the body (`req.certificates`); the replica stores Graph's
 * metadata on the application (never `key`) and the public key in the token service's
 * credential record, which `private_key_jwt` client assertions are verified against
 * (core/token/client-auth.ts, matched by `x5t` / `x5t#S256`).
 */
import { exportJWK, importX509 } from 'jose';
import { z } from 'zod';
import type { Json } from '../kv.js';
import { err, ok, type Result } from '../result.js';
import { b64urlEncode } from '../token/encoding.js';
import { badRequest } from './errors.js';
import type { GraphError, JsonObject, ParsedCertificate } from './types.js';
import { GUID, isPlainObject } from './validation.js';
import { certificateValidity } from './certificate-validity.js';

const MAX_KEYS = 20;
const MAX_CERT_CHARS = 16_384;

const entry = z.strictObject({
  '@odata.type': z.literal('#microsoft.graph.keyCredential').optional(),
  customKeyIdentifier: z.string().max(256).nullable().optional(),
  displayName: z.string().max(256).nullable().optional(),
  endDateTime: z.iso.datetime({ offset: true }).nullable().optional(),
  startDateTime: z.iso.datetime({ offset: true }).nullable().optional(),
  key: z.string().max(MAX_CERT_CHARS).nullable().optional(),
  keyId: z.string().regex(GUID).nullable().optional(),
  type: z.literal('AsymmetricX509Cert'),
  usage: z.literal('Verify'),
});
export const keyCredentialsSchema = z.array(entry).max(MAX_KEYS);

const outsideValidity = (): GraphError =>
  badRequest('Key credential start and end dates must lie within the certificate\'s validity period.');
const invalid = (): GraphError => badRequest('Invalid value specified for property \'keyCredentials\' of resource \'Application\'.');

function derOf(base64: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(base64.replace(/\s+/g, '')), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

async function parseOne(base64: string): Promise<ParsedCertificate | null> {
  const der = derOf(base64);
  const validity = der === null ? null : certificateValidity(der);
  if (der === null || validity === null) return null;
  const pem = `-----BEGIN CERTIFICATE-----\n${btoa(String.fromCharCode(...der)).replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----`;
  try {
    const jwk = await exportJWK(await importX509(pem, 'RS256', { extractable: true }));
    if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return null;
    const sha1 = new Uint8Array(await crypto.subtle.digest('SHA-1', der));
    const sha256 = new Uint8Array(await crypto.subtle.digest('SHA-256', der));
    return {
      jwk: { kty: 'RSA', n: jwk.n, e: jwk.e }, x5t: b64urlEncode(sha1), x5tS256: b64urlEncode(sha256),
      thumbprint: [...sha1].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase(), ...validity,
    };
  } catch {
    return null;
  }
}

/**
 * Public JWK, thumbprints and validity of each certificate in the body: `keyCredentials` (PATCH,
 * entries without `key` get null) or addKey's single `keyCredential`.
 */
export async function parseCertificates(body: unknown): Promise<Result<Array<ParsedCertificate | null> | undefined, GraphError>> {
  if (!isPlainObject(body)) return ok(undefined);
  const single = Object.hasOwn(body, 'keyCredential');
  if (!single && !Object.hasOwn(body, 'keyCredentials')) return ok(undefined);
  const parsed = keyCredentialsSchema.safeParse(single ? [body['keyCredential']] : body['keyCredentials']);
  if (!parsed.success) return err(invalid());
  const out: Array<ParsedCertificate | null> = [];
  for (const k of parsed.data) {
    if (k.key == null) {
      out.push(null);
      continue;
    }
    const cert = await parseOne(k.key);
    if (cert === null) return err(invalid());
    out.push(cert);
  }
  return ok(out);
}

/**
 * The application's new `keyCredentials` (Graph metadata, `key` always null) and the credential
 * record's keys. An entry without `key` keeps the existing credential with that `keyId`.
 */
export function planKeyCredentials(
  raw: unknown, certs: ReadonlyArray<ParsedCertificate | null> | undefined, existing: readonly JsonObject[], storedKeys: readonly Json[], newId: () => string,
): Result<{ meta: JsonObject[]; keys: Json[] }, GraphError> {
  const parsed = keyCredentialsSchema.safeParse(raw);
  if (!parsed.success || certs === undefined || certs.length !== parsed.data.length) return err(invalid());
  const meta: JsonObject[] = [];
  const keys: Json[] = [];
  for (const [i, k] of parsed.data.entries()) {
    const cert = certs[i] ?? null;
    if (cert === null) {
      const keep = existing.find((e) => typeof e['keyId'] === 'string' && e['keyId'].toLowerCase() === (k.keyId ?? '').toLowerCase());
      const stored = storedKeys.find((s) => isPlainObject(s) && String(s['kid']).toLowerCase() === (k.keyId ?? '').toLowerCase());
      if (keep === undefined || stored === undefined) return err(badRequest('A new keyCredential needs its certificate in \'key\'.'));
      meta.push(keep);
      keys.push(stored);
      continue;
    }
    const keyId = (k.keyId ?? newId()).toLowerCase();
    // As Graph: the dates default to the certificate's own, and may only narrow them.
    const start = k.startDateTime != null ? Date.parse(k.startDateTime) : cert.notBefore;
    const end = k.endDateTime != null ? Date.parse(k.endDateTime) : cert.notAfter;
    if (start < cert.notBefore || end > cert.notAfter || end <= start) return err(outsideValidity());
    meta.push({
      customKeyIdentifier: cert.thumbprint, displayName: k.displayName ?? null, endDateTime: new Date(end).toISOString(),
      key: null, keyId, startDateTime: new Date(start).toISOString(), type: 'AsymmetricX509Cert', usage: 'Verify',
    });
    keys.push({ kid: keyId, x5t: cert.x5t, 'x5t#S256': cert.x5tS256, jwk: cert.jwk, startAt: start, expiresAt: end });
  }
  return ok({ meta, keys });
}
