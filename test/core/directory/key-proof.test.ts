import { describe, expect, it } from 'vitest';
import { exportJWK, importPKCS8, importX509, SignJWT } from 'jose';
import { certificateValidity } from '../../../core/directory/certificate-validity.js';
import { parseProof, PROOF_AUDIENCE, rsaSha256Verify, verifyProof } from '../../../core/directory/key-proof.js';
import { b64urlDecode } from '../../../core/token/encoding.js';
import { TEST_CERT2_BASE64, TEST_CERT_BASE64, TEST_CERT_PEM, TEST_KEY2_PEM, TEST_KEY_PEM } from '../../integration/cert-fixture.js';

const APP = '0a0b0c0d-0000-4000-8000-000000000001';
const der = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const NOW = Date.UTC(2027, 0, 1);

async function storedKey(kid: string, x5t: string, extra: Record<string, number | null> = {}, pem = TEST_CERT_PEM) {
  const jwk = await exportJWK(await importX509(pem, 'RS256', { extractable: true }));
  return { kid, x5t, jwk: { kty: 'RSA', n: jwk.n ?? '', e: jwk.e ?? '' }, startAt: null, expiresAt: null, ...extra };
}

async function proof(opts: { keyPem?: string; claims?: Record<string, unknown>; header?: Record<string, unknown>; nbf?: number; exp?: number } = {}) {
  const key = await importPKCS8(opts.keyPem ?? TEST_KEY_PEM, 'RS256');
  const nbf = opts.nbf ?? Math.floor(NOW / 1000);
  return new SignJWT({ aud: PROOF_AUDIENCE, iss: APP, ...opts.claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...opts.header })
    .setNotBefore(nbf)
    .setExpirationTime(opts.exp ?? nbf + 600)
    .sign(key);
}

async function check(jwt: string, keys: unknown[], now = NOW) {
  const parsed = await parseProof({ proof: jwt });
  if (!parsed.ok) return parsed;
  return verifyProof(parsed.value, APP, keys as never, now);
}

describe('certificateValidity (RFC 5280 §4.1.2.5)', () => {
  it('reads notBefore and notAfter from the DER (UTCTime)', () => {
    // openssl x509 -dates: Jan 1 00:00:00 2020 GMT / Dec 31 00:00:00 2045 GMT
    expect(certificateValidity(der(TEST_CERT_BASE64))).toEqual({ notBefore: Date.UTC(2020, 0, 1), notAfter: Date.UTC(2045, 11, 31) });
  });

  it('answers null for bytes that are not a certificate, or a truncated one', () => {
    expect(certificateValidity(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]))).toBeNull();
    expect(certificateValidity(der(TEST_CERT_BASE64).subarray(0, 100))).toBeNull();
    expect(certificateValidity(new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]))).toBeNull();
  });
});

describe('rsaSha256Verify (RFC 8017 §8.2.2)', () => {
  it('accepts a jose RS256 signature and refuses it for another digest or key', async () => {
    const jwt = await proof();
    const [h, p, s] = jwt.split('.');
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${h}.${p}`)));
    const sig = b64urlDecode(s ?? '') ?? new Uint8Array();
    const k1 = (await storedKey('a', 'x')).jwk;
    expect(rsaSha256Verify(k1, digest, sig)).toBe(true);
    const other = digest.slice();
    other[0] = (other[0] ?? 0) ^ 1;
    expect(rsaSha256Verify(k1, other, sig)).toBe(false);
    const k2 = await exportJWK(await importX509(`-----BEGIN CERTIFICATE-----\n${TEST_CERT2_BASE64}\n-----END CERTIFICATE-----`, 'RS256', { extractable: true }));
    expect(rsaSha256Verify({ n: k2.n ?? '', e: k2.e ?? '' }, digest, sig)).toBe(false);
  });
});

describe('verifyProof (Graph application: addKey)', () => {
  it('accepts a proof signed by a current key, naming it by x5t or not at all', async () => {
    const key = await storedKey('k1', 'thumb');
    expect(await check(await proof(), [key])).toEqual({ ok: true, value: 'k1' });
    expect(await check(await proof({ header: { x5t: 'thumb' } }), [key])).toEqual({ ok: true, value: 'k1' });
    // .NET's X509SigningCredentials: kid = the hex SHA-1 thumbprint, the same key as x5t.
    const hex = '2F5BA627861767FA55E56222923A603B671CE6AE';
    const x5t = Buffer.from(hex, 'hex').toString('base64url');
    expect(await check(await proof({ header: { kid: hex } }), [await storedKey('k1', x5t)])).toEqual({ ok: true, value: 'k1' });
    expect((await check(await proof({ header: { kid: hex } }), [key])).ok).toBe(false);
    // Any other kid names nothing: every current key is tried.
    const cert2 = `-----BEGIN CERTIFICATE-----\n${TEST_CERT2_BASE64}\n-----END CERTIFICATE-----`;
    expect(await check(await proof({ header: { kid: 'my-key' } }), [await storedKey('k0', 'other-thumb', {}, cert2), key])).toEqual({ ok: true, value: 'k1' });
  });

  it('refuses a proof signed by another key, for another app or audience, or naming a key the app lacks', async () => {
    const key = await storedKey('k1', 'thumb');
    for (const jwt of [
      await proof({ keyPem: TEST_KEY2_PEM }),
      await proof({ claims: { iss: '0a0b0c0d-0000-4000-8000-000000000002' } }),
      await proof({ claims: { aud: '00000003-0000-0000-c000-000000000000' } }),
      await proof({ header: { x5t: 'other' } }),
    ]) {
      const r = await check(jwt, [key]);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ kind: 'unauthorized', code: 'Authentication_MissingOrMalformed' });
    }
  });

  it('refuses a lifetime over 10 minutes, an expired proof, and a key outside its validity', async () => {
    const key = await storedKey('k1', 'thumb');
    const t = Math.floor(NOW / 1000);
    expect((await check(await proof({ exp: t + 601 }), [key])).ok).toBe(false);
    expect((await check(await proof({ nbf: t - 3600, exp: t - 3000 }), [key])).ok).toBe(false);
    expect((await check(await proof(), [await storedKey('k1', 'thumb', { expiresAt: NOW })])).ok).toBe(false);
    expect((await check(await proof(), [await storedKey('k1', 'thumb', { startAt: NOW + 1 })])).ok).toBe(false);
    expect((await check(await proof(), [])).ok).toBe(false);
  });

  it('refuses alg none, HS256 and garbage at the edge or in the check', async () => {
    const key = await storedKey('k1', 'thumb');
    const none = `${btoa(JSON.stringify({ alg: 'none' })).replace(/=+$/, '')}.${btoa(JSON.stringify({ aud: PROOF_AUDIENCE, iss: APP, nbf: 1, exp: 2 })).replace(/=+$/, '')}.`;
    expect((await check(none, [key])).ok).toBe(false);
    const hs = await new SignJWT({ aud: PROOF_AUDIENCE, iss: APP }).setProtectedHeader({ alg: 'HS256' }).setNotBefore(NOW / 1000).setExpirationTime(NOW / 1000 + 60).sign(new Uint8Array(32));
    expect((await check(hs, [key])).ok).toBe(false);
    for (const bad of ['x', 'a.b.c', 42]) expect((await parseProof({ proof: bad })).ok).toBe(false);
    expect(verifyProof(undefined, APP, [key as never], NOW).ok).toBe(false);
  });
});
